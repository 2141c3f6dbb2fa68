/*
 * freeze.h --- --freeze: the mounted filesystem of SOURCE is frozen
 * (FIFREEZE on its mount point) for the capture, so that a filesystem in
 * use gives a consistent image, and thawed (FITHAW) on every way out: the
 * capture's end, exit() (atexit), and the signals that end the process
 * (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, and the crashes SIGSEGV,
 * SIGBUS, SIGFPE, SIGILL, SIGABRT), whose handlers thaw, then hand the
 * signal on to the handler they replaced (or to its default action).
 * Only SIGKILL leaves it frozen (fsfreeze -u MOUNTPOINT thaws it).
 *
 * A filesystem frozen already (by fsfreeze, say) is captured as it is and
 * left frozen.  Outputs on the filesystem to freeze are refused before it
 * is frozen: writing them would wait forever.
 *
 * Functions returning enum e2q_exit have printed their message.
 */
#ifndef E2Q_FREEZE_H
#define E2Q_FREEZE_H

#include "misc/e2qcow.h"

/*
 * With --freeze: finds where SOURCE is mounted, refuses (exit 4) when an
 * output path (outputs: NULL-terminated, "-" for standard output) lies on
 * that filesystem, freezes it.  Without --freeze: does nothing.
 */
enum e2q_exit e2q_freeze_source(const struct e2q_options *opts,
				const char *const *outputs);
/* Thaws what e2q_freeze_source() froze; safe to call more than once. */
void e2q_thaw_source(void);

#endif /* E2Q_FREEZE_H */
