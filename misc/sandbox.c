/*
 * sandbox.c --- seccomp and Landlock confinement of the modes that parse
 * an untrusted image, and the committer that renames their output.  The
 * contract, and why rename is not in the allow-list, are in sandbox.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#ifdef HAVE_SECCOMP
#include <seccomp.h>
#endif
#ifdef HAVE_LINUX_LANDLOCK_H
#include <linux/landlock.h>
#endif
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define E2Q_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/common_interface_defs.h>
#define E2Q_SANITIZED 1
#endif
#endif

#include "nls-enable.h"
#include "misc/e2qcow.h"
#include "misc/output_file.h"
#include "misc/sandbox.h"

/* Both confinements exist only in a build with libseccomp: Landlock alone
 * would still let a compromised reader run programs and make sockets. */
#ifdef HAVE_SECCOMP

/* ---- Landlock ----------------------------------------------------------- */

#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION	(1U << 0)
#endif
/* Filesystem rights by ABI: 1 has bits 0-12, 2 adds REFER, 3 TRUNCATE,
 * 5 IOCTL_DEV; 4 adds TCP bind/connect; 6 the scopes (abstract unix
 * sockets, signals).  The kernel refuses bits of a later ABI than its own. */
#define LL_FS_ABI1		((1ULL << 13) - 1)
#define LL_FS_ABI2		((1ULL << 14) - 1)
#define LL_FS_ABI3		((1ULL << 15) - 1)
#define LL_FS_ABI5		((1ULL << 16) - 1)
#define LL_NET_TCP		((1ULL << 0) | (1ULL << 1))
#define LL_SCOPE_ALL		((1ULL << 0) | (1ULL << 1))
#define LL_READ_FILE		(1ULL << 2)
#define LL_READ_DIR		(1ULL << 3)
#define LL_RULE_PATH_BENEATH	1

/* struct landlock_ruleset_attr as of ABI 6; older kernels take a prefix */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

static uint64_t landlock_fs_rights(long abi)
{
	if (abi >= 5)
		return LL_FS_ABI5;
	if (abi >= 3)
		return LL_FS_ABI3;
	return abi >= 2 ? LL_FS_ABI2 : LL_FS_ABI1;
}

#ifdef E2Q_SANITIZED
/* LeakSanitizer lists /proc/self/task and reads /proc/self/maps at exit. */
static errcode_t landlock_allow_proc(int ruleset)
{
	struct ll_path_beneath_attr rule;
	errcode_t err = 0;

	rule.allowed_access = LL_READ_FILE | LL_READ_DIR;
	rule.parent_fd = open("/proc", O_PATH | O_CLOEXEC);
	if (rule.parent_fd < 0)
		return errno;
	if (syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH,
		    &rule, 0) < 0)
		err = errno;
	close(rule.parent_fd);
	return err;
}
#else
static errcode_t landlock_allow_proc(int ruleset)
{
	(void) ruleset;
	return 0;
}
#endif

/* Denies every filesystem access by path; *abi = 0 if the kernel has none. */
static errcode_t landlock_restrict(int *abi)
{
#ifdef SYS_landlock_create_ruleset
	struct ll_ruleset_attr attr;
	size_t size;
	long version;
	int fd;
	errcode_t err = 0;

	*abi = 0;
	version = syscall(SYS_landlock_create_ruleset, NULL, 0,
			  LANDLOCK_CREATE_RULESET_VERSION);
	if (version <= 0)
		return 0;	/* ENOSYS, EOPNOTSUPP: not built or disabled */
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = landlock_fs_rights(version);
	size = sizeof(attr.handled_access_fs);
	if (version >= 4) {
		attr.handled_access_net = LL_NET_TCP;
		size += sizeof(attr.handled_access_net);
	}
	if (version >= 6) {
		attr.scoped = LL_SCOPE_ALL;
		size += sizeof(attr.scoped);
	}
	fd = (int) syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (fd < 0)
		return errno;
	err = landlock_allow_proc(fd);
	if (!err && syscall(SYS_landlock_restrict_self, fd, 0) < 0)
		err = errno;
	close(fd);
	if (!err)
		*abi = (int) version;
	return err;
#else
	*abi = 0;
	return 0;
#endif
}

/* ---- seccomp ------------------------------------------------------------ */

/* Reading, printing, memory, threads, signals, time, exit. */
static const int allowed_calls[] = {
	SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(pread64), SCMP_SYS(preadv),
	SCMP_SYS(preadv2), SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(lseek),
	SCMP_SYS(_llseek), SCMP_SYS(close), SCMP_SYS(fcntl), SCMP_SYS(fcntl64),
	SCMP_SYS(fstat), SCMP_SYS(fstat64), SCMP_SYS(fadvise64),
	SCMP_SYS(fadvise64_64), SCMP_SYS(arm_fadvise64_64),
	SCMP_SYS(mmap), SCMP_SYS(mmap2), SCMP_SYS(munmap), SCMP_SYS(mprotect),
	SCMP_SYS(madvise), SCMP_SYS(mremap), SCMP_SYS(brk),
	SCMP_SYS(futex), SCMP_SYS(futex_time64), SCMP_SYS(clone),
	SCMP_SYS(clone3), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(set_tid_address), SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall), SCMP_SYS(getpid),
	SCMP_SYS(gettid), SCMP_SYS(tgkill), SCMP_SYS(getrandom),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_gettime64),
	SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(nanosleep),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(clock_nanosleep_time64),
	SCMP_SYS(sysinfo), SCMP_SYS(wait4), SCMP_SYS(exit),
	SCMP_SYS(exit_group),
};

/* Writing the output: raw, qcow2, write-behind, commit. */
static const int output_calls[] = {
	SCMP_SYS(pwrite64), SCMP_SYS(pwritev), SCMP_SYS(pwritev2),
	SCMP_SYS(ftruncate), SCMP_SYS(ftruncate64), SCMP_SYS(fallocate),
	SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(sync_file_range),
	SCMP_SYS(sync_file_range2),
};

/* What only an attack would call: stop with a diagnostic (SIGSYS). */
static const int trapped_calls[] = {
	SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(socket),
	SCMP_SYS(socketpair), SCMP_SYS(connect), SCMP_SYS(bind),
	SCMP_SYS(listen), SCMP_SYS(accept), SCMP_SYS(accept4),
	SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
#ifndef E2Q_SANITIZED
	SCMP_SYS(ptrace),
#endif
};

#ifdef E2Q_SANITIZED
/* LeakSanitizer's exit check stops the threads with ptrace from a task it
 * clones, and lists /proc/self/task: directories only, never a file. */
static const int sanitizer_calls[] = {
	SCMP_SYS(ptrace), SCMP_SYS(prctl), SCMP_SYS(getdents),
	SCMP_SYS(getdents64),
	SCMP_SYS(getppid), SCMP_SYS(readlink), SCMP_SYS(mincore),
};
#endif

/* Adding a rule may fail for a call this architecture lacks: ignored, as
 * a missing allow only makes the filter stricter. */
static void add_rules(scmp_filter_ctx ctx, uint32_t action, const int *calls,
		      size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		(void) seccomp_rule_add(ctx, action, calls[i], 0);
}

static int add_conditional_rules(scmp_filter_ctx ctx)
{
	int rc = 0;

	/* fstat() of a descriptor is fstatat(fd, "", AT_EMPTY_PATH) */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
			       SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH,
				       AT_EMPTY_PATH));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(statx), 1,
			       SCMP_A2(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH,
				       AT_EMPTY_PATH));
	/* isatty() and the width of the progress bar */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
			       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffU, TCGETS));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
			       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffU,
				       TIOCGWINSZ));
	/* reading a limit, never setting one */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
			       SCMP_A2(SCMP_CMP_EQ, 0));
#ifdef E2Q_SANITIZED
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
			       SCMP_A1(SCMP_CMP_MASKED_EQ, O_DIRECTORY,
				       O_DIRECTORY));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
			       SCMP_A2(SCMP_CMP_MASKED_EQ, O_DIRECTORY,
				       O_DIRECTORY));
#endif
	return rc;
}

static errcode_t seccomp_restrict(unsigned int flags)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int rc;

	if (!ctx)
		return ENOMEM;
	add_rules(ctx, SCMP_ACT_ALLOW, allowed_calls,
		  sizeof(allowed_calls) / sizeof(allowed_calls[0]));
	if (flags & E2Q_SANDBOX_WRITES)
		add_rules(ctx, SCMP_ACT_ALLOW, output_calls,
			  sizeof(output_calls) / sizeof(output_calls[0]));
	add_rules(ctx, SCMP_ACT_TRAP, trapped_calls,
		  sizeof(trapped_calls) / sizeof(trapped_calls[0]));
#ifdef E2Q_SANITIZED
	add_rules(ctx, SCMP_ACT_ALLOW, sanitizer_calls,
		  sizeof(sanitizer_calls) / sizeof(sanitizer_calls[0]));
#endif
	rc = add_conditional_rules(ctx);
	if (!rc)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc < 0 ? (errcode_t) -rc : 0;
}

/* The diagnostic of a trapped call, translated before entering. */
static char trap_message[256];
static size_t trap_message_len;

static void append_number(char *buf, size_t *len, size_t size, long n)
{
	char digits[24];
	int i = 0;

	if (n < 0)
		n = 0;
	do
		digits[i++] = (char) ('0' + n % 10);
	while ((n /= 10) && i < (int) sizeof(digits));
	while (i > 0 && *len < size)
		buf[(*len)++] = digits[--i];
}

/* The committer's end of the socket, so that a stopped e2qcow drops its
 * temporary output before it exits; -1 without a committer. */
static int committer_fd = -1;

static void on_trapped_call(int sig, siginfo_t *info, void *context)
{
	char buf[320], drop = 'd';
	size_t len = trap_message_len;
	int err;

	(void) sig;
	(void) context;
	memcpy(buf, trap_message, len);
	append_number(buf, &len, sizeof(buf) - 1, (long) info->si_syscall);
	buf[len++] = '\n';
	(void) !write(STDERR_FILENO, buf, len);
	if (committer_fd >= 0 && write(committer_fd, &drop, 1) == 1)
		(void) !read(committer_fd, &err, sizeof(err));
	_exit(E2Q_EXIT_INTERNAL);
}

static errcode_t catch_trapped_calls(void)
{
	struct sigaction sa;

	snprintf(trap_message, sizeof(trap_message), "%s: %s ",
		 e2q_program_name,
		 _("sandbox: stopped at a forbidden system call, number"));
	trap_message_len = strlen(trap_message);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_trapped_call;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL) < 0 ? errno : 0;
}
#endif /* HAVE_SECCOMP */

errcode_t e2q_sandbox_enter(unsigned int flags, int *landlock_abi)
{
#ifdef HAVE_SECCOMP
	errcode_t err;

	*landlock_abi = 0;
#ifdef E2Q_SANITIZED
	{
		__sanitizer_sandbox_arguments args;

		memset(&args, 0, sizeof(args));
		__sanitizer_sandbox_on_notify(&args);
	}
#endif
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return errno;
	err = catch_trapped_calls();
	if (!err)
		err = landlock_restrict(landlock_abi);
	if (!err)
		err = seccomp_restrict(flags);
	return err;
#else
	(void) flags;
	*landlock_abi = 0;
	return ENOSYS;
#endif
}

/* ---- the committer ------------------------------------------------------ */

#define COMMIT_KEEP	'k'
#define COMMIT_DROP	'd'	/* also written by on_trapped_call() */

static void committer_main(int fd, const char *tmp_path, const char *path)
{
	char order = 0;
	ssize_t n;
	int err = 0;

	/* an interrupted e2qcow dies; its committer then removes the file */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	do
		n = read(fd, &order, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && order == COMMIT_KEEP) {
		err = e2q_rename_durably(tmp_path, path);
	} else if (unlink(tmp_path) < 0) {
		err = errno;
	}
	(void) !write(fd, &err, sizeof(err));
	_exit(0);		/* no atexit handlers: they belong to e2qcow */
}

errcode_t e2q_committer_start(struct e2q_committer *c, const char *tmp_path,
			      const char *path)
{
	int fds[2];

	/* the order one way, the result back: a socket pair is both */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		return errno;
	fflush(NULL);	/* the child must not write e2qcow's buffers again */
	c->pid = fork();
	if (c->pid < 0) {
		c->pid = 0;
		close(fds[0]);
		close(fds[1]);
		return errno;
	}
	if (c->pid == 0) {
		close(fds[0]);
		committer_main(fds[1], tmp_path, path);
	}
	close(fds[1]);
	c->fd = fds[0];
#ifdef HAVE_SECCOMP
	committer_fd = c->fd;
#endif
	return 0;
}

errcode_t e2q_committer_finish(struct e2q_committer *c, int keep)
{
	char order = keep ? COMMIT_KEEP : COMMIT_DROP;
	int err = EPIPE, status;
	ssize_t n;

	if (!c->pid)
		return 0;
	if (write(c->fd, &order, 1) == 1) {
		do
			n = read(c->fd, &err, sizeof(err));
		while (n < 0 && errno == EINTR);
		if (n != sizeof(err))
			err = EPIPE;
	}
#ifdef HAVE_SECCOMP
	committer_fd = -1;
#endif
	close(c->fd);
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	c->pid = 0;
	c->fd = -1;
	return (errcode_t) err;
}

/* ---- program policy ----------------------------------------------------- */

static int sandbox_disabled(const struct e2q_options *o)
{
	const char *env = getenv("E2QCOW_NO_SANDBOX");

	return o->no_sandbox || (env && *env && strcmp(env, "0") != 0);
}

/*
 * gettext opens a catalogue at its first lookup in a domain: look one up
 * now, in ours and in libc's (strerror), so that messages printed once
 * confined are translated too.
 */
#ifdef HAVE_SECCOMP
static void load_translations(void)
{
	(void) _("while reading %s");
	(void) strerror(EIO);
}
#endif

/* -p says what confines the process; not among --output=json's lines,
 * which are progress only */
static void note_state(const struct e2q_options *o, const char *state)
{
	if (o->progress && !o->output_json)
		fprintf(stderr, "%s: %s\n", e2q_program_name, state);
}

static void self_test(void)
{
	const char *what = getenv("E2QCOW_SANDBOX_SELFTEST");
	int fd;

	if (!what)
		return;
	if (!strcmp(what, "open")) {
		fd = open("/etc/passwd", O_RDONLY);
		fprintf(stderr, "%s: sandbox self-test: open /etc/passwd: %s\n",
			e2q_program_name, fd < 0 ? strerror(errno) : "opened");
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(what, "exec")) {
		execl("/bin/sh", "sh", "-c", "echo sandbox self-test: "
		      "/bin/sh ran >&2", (char *) NULL);
		fprintf(stderr, "%s: sandbox self-test: exec /bin/sh: %s\n",
			e2q_program_name, strerror(errno));
	}
}

enum e2q_exit e2q_enter_sandbox(const struct e2q_options *o,
				struct e2q_output *out, unsigned int flags)
{
#ifdef HAVE_SECCOMP
	char state[128];
	errcode_t err;
	int abi;
#endif

	if (sandbox_disabled(o)) {
		note_state(o, _("sandbox: off"));
		self_test();
		return E2Q_EXIT_OK;
	}
#ifndef HAVE_SECCOMP
	note_state(o, _("sandbox: unavailable (built without libseccomp)"));
	self_test();
	(void) out;
	(void) flags;
	return E2Q_EXIT_OK;
#else
	load_translations();
	if (out && out->tmp_path) {
		err = e2q_committer_start(&out->committer, out->tmp_path,
					  out->path);
		if (err)
			return e2q_fail(E2Q_EXIT_INTERNAL, err,
					"%s", _("while starting the sandbox"));
	}
	err = e2q_sandbox_enter(flags, &abi);
	if (err)
		return e2q_fail(E2Q_EXIT_INTERNAL, err, "%s", _("while entering "
				"the sandbox (--no-sandbox runs without)"));
	if (abi)
		snprintf(state, sizeof(state), _("sandbox: seccomp and "
						 "Landlock ABI %d"), abi);
	else
		snprintf(state, sizeof(state), _("sandbox: seccomp (the "
						 "kernel has no Landlock)"));
	note_state(o, state);
	self_test();
	return E2Q_EXIT_OK;
#endif
}
