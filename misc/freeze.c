/*
 * freeze.c --- --freeze: FIFREEZE on SOURCE's mount point for the capture,
 * FITHAW on every way out (see freeze.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/fs.h>
#endif

#include <ext2fs/ext2fs.h>

#include "nls-enable.h"
#include "misc/e2qcow.h"
#include "misc/freeze.h"

/* The mount point while frozen, -1 otherwise: read by signal handlers. */
static volatile sig_atomic_t frozen_fd = -1;

static const int thaw_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE,
	SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT
};
#define NSIGNALS (sizeof(thaw_signals) / sizeof(thaw_signals[0]))
static struct sigaction replaced[NSIGNALS];

/* Async-signal-safe: one ioctl and one close. */
static void thaw_now(void)
{
	int fd = frozen_fd;

	frozen_fd = -1;
	if (fd < 0)
		return;
#ifdef FITHAW
	(void) ioctl(fd, FITHAW, 0);
#endif
	close(fd);
}

void e2q_thaw_source(void)
{
	thaw_now();
}

/* Thaws, then hands the signal to what was there before. */
static void on_signal(int sig)
{
	unsigned int i;

	thaw_now();
	for (i = 0; i < NSIGNALS && thaw_signals[i] != sig; i++)
		;
	if (i < NSIGNALS && replaced[i].sa_handler != SIG_DFL &&
	    replaced[i].sa_handler != SIG_IGN &&
	    !(replaced[i].sa_flags & SA_SIGINFO)) {
		replaced[i].sa_handler(sig);
		return;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_thaw_handlers(void)
{
	static int installed;
	struct sigaction sa;
	unsigned int i;

	if (installed++)
		return;
	atexit(thaw_now);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NSIGNALS; i++) {
		/* a signal ignored (nohup, a background job's SIGINT) stays
		 * ignored: it must not thaw in the middle of the capture */
		if (sigaction(thaw_signals[i], NULL, &replaced[i]) == 0 &&
		    replaced[i].sa_handler != SIG_IGN)
			sigaction(thaw_signals[i], &sa, NULL);
	}
}

/* The folder an output is created in, or the output when it exists. */
static int stat_output(const char *path, struct stat *st)
{
	char dir[PATH_MAX];
	const char *slash;

	if (strcmp(path, "-") == 0)
		return fstat(STDOUT_FILENO, st);
	if (stat(path, st) == 0)
		return 0;
	slash = strrchr(path, '/');
	if (!slash)
		return stat(".", st);
	if ((size_t) (slash - path) >= sizeof(dir))
		return -1;
	memcpy(dir, path, (size_t) (slash - path));
	dir[slash - path] = 0;
	return stat(slash == path ? "/" : dir, st);
}

static enum e2q_exit refuse_outputs_on(const struct e2q_options *o,
				       const char *mtpt, dev_t dev,
				       const char *const *outputs)
{
	struct stat st;

	for (; *outputs; outputs++) {
		if (stat_output(*outputs, &st) == 0 && st.st_dev == dev)
			return e2q_fail(E2Q_EXIT_REFUSED, 0, _("%s lies on the "
					"filesystem of %s (mounted on %s), "
					"which --freeze would freeze"),
					*outputs, o->source, mtpt);
	}
	return E2Q_EXIT_OK;
}

static enum e2q_exit freeze_at(const struct e2q_options *o, const char *mtpt,
			       const char *const *outputs)
{
	struct stat st;
	enum e2q_exit rc;
	int fd;

	fd = open(mtpt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = e2q_fail(E2Q_EXIT_SOURCE, errno, _("while opening %s, "
				"where %s is mounted, to freeze it"), mtpt,
				o->source);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	rc = refuse_outputs_on(o, mtpt, st.st_dev, outputs);
	if (rc) {
		close(fd);
		return rc;
	}
	install_thaw_handlers();
#ifdef FIFREEZE
	if (ioctl(fd, FIFREEZE, 0) == 0) {
		frozen_fd = fd;
		return E2Q_EXIT_OK;
	}
	if (errno == EBUSY) {	/* frozen already: not ours to thaw */
		close(fd);
		return E2Q_EXIT_OK;
	}
#else
	errno = EOPNOTSUPP;
#endif
	rc = e2q_fail(E2Q_EXIT_SOURCE, errno, _("while freezing %s (mounted "
			"on %s)"), o->source, mtpt);
	close(fd);
	return rc;
}

enum e2q_exit e2q_freeze_source(const struct e2q_options *o,
				const char *const *outputs)
{
	char mtpt[PATH_MAX];
	int flags = 0;
	errcode_t err;

	if (!o->freeze)
		return E2Q_EXIT_OK;
	if (o->source_is_qcow)
		return e2q_fail(E2Q_EXIT_USAGE, 0, _("--freeze: %s is an image, "
				"not a mounted filesystem"), o->source);
	mtpt[0] = 0;
	err = ext2fs_check_mount_point(o->source, &flags, mtpt, sizeof(mtpt));
	if (err)
		return e2q_fail(E2Q_EXIT_SOURCE, err, _("while finding where "
				"%s is mounted"), o->source);
	if (!(flags & EXT2_MF_MOUNTED) || !mtpt[0])
		return e2q_fail(E2Q_EXIT_USAGE, 0, _("--freeze: %s is not "
				"mounted: there is nothing to freeze"),
				o->source);
	return freeze_at(o, mtpt, outputs);
}
