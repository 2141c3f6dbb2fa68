/*
 * sandbox.h --- confinement of the modes that parse an untrusted image.
 *
 * A maintainer converts, checks and describes images that strangers sent,
 * often as root.  Every mode that parses image bytes (-r IMAGE, --info,
 * --check, --verify against an image, the re-export of a qcow SOURCE) opens
 * all its files first, then calls e2q_enter_sandbox(), then reads the first
 * byte of the image.  From then on:
 *
 *  - seccomp (libseccomp) allows only the system calls that reading,
 *    converting, writing the output, the compression threads, malloc,
 *    com_err/gettext printing and exit need, on the descriptors already
 *    held.  open/openat/creat fail with EPERM, so a code path that tries
 *    one reports an error; exec, socket, connect, ptrace and their kind stop
 *    the process with a one-line diagnostic and exit code 8; any other call
 *    fails with EPERM.  stat of a path is refused (fstat of a descriptor is
 *    not), ioctl is limited to the two a terminal check makes.
 *  - Landlock, where the kernel has it (the ABI is probed), denies every
 *    filesystem access by path, and (ABI 4) TCP, and (ABI 6) signals to
 *    and abstract sockets of processes outside the sandbox.  A kernel
 *    without Landlock is not an error: seccomp alone already refuses open.
 *
 * The one path operation a sandboxed mode still needs, moving the finished
 * temporary output over IMAGE (or removing it after a failure), is done by
 * a committer: a small process forked before the sandbox is entered, so
 * still unconfined, that knows the two names and takes a single byte from
 * e2qcow, "keep" or "drop".  Allowing rename in the filter instead would let
 * a compromised reader rename the file it has just written (image bytes it
 * controls) over any file root may replace; the committer lets it choose
 * only whether its own output is kept.  If e2qcow dies, the committer reads
 * end-of-file and removes the temporary file.
 *
 * --no-sandbox or E2QCOW_NO_SANDBOX=1 turns it off (debugging, strace -f of
 * a run that fails only confined).  A build without libseccomp has no
 * sandbox and says so under -p.  E2QCOW_SANDBOX_SELFTEST=open|exec makes
 * e2qcow try, right after entering, to open /etc/passwd (and report the
 * errno) or to run /bin/sh: the tests' proof that the filter is active.
 *
 * e2q_sandbox_enter() is the mechanism and does not print; the other
 * functions are program policy and print their own one-line errors.
 */
#ifndef E2Q_SANDBOX_H
#define E2Q_SANDBOX_H

#include <sys/types.h>
#include <et/com_err.h>

#include "misc/e2qcow.h"

/* e2q_sandbox_enter flags */
#define E2Q_SANDBOX_WRITES	0x1	/* the mode writes an output file */

/*
 * Confines the calling process (and the threads it starts later) for good.
 * Returns 0, ENOSYS when built without libseccomp, or the errno of the
 * prctl, Landlock or seccomp call that failed.  *landlock_abi is set to the
 * Landlock ABI applied, 0 when the kernel has none.
 */
errcode_t e2q_sandbox_enter(unsigned int flags, int *landlock_abi);

/* The committer of a temporary output file; pid 0: none. */
struct e2q_committer {
	pid_t pid;
	int fd;
};

/* Forks the committer that will rename tmp_path to path or remove it. */
errcode_t e2q_committer_start(struct e2q_committer *c, const char *tmp_path,
			      const char *path);
/*
 * keep: rename the temporary file over the final name, else remove it;
 * waits for the committer.  Returns the errno of the rename or removal.
 */
errcode_t e2q_committer_finish(struct e2q_committer *c, int keep);

struct e2q_options;
struct e2q_output;
/*
 * Program policy: unless --no-sandbox or E2QCOW_NO_SANDBOX=1, loads the
 * translations it will print, hands out's temporary file (out may be NULL)
 * to a committer and enters the sandbox; under -p, one line says what
 * confines the process.  Returns an exit code (E2Q_EXIT_*), having printed
 * why when not 0.
 */
enum e2q_exit e2q_enter_sandbox(const struct e2q_options *o,
				struct e2q_output *out, unsigned int flags);

#endif /* E2Q_SANDBOX_H */
