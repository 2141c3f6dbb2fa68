/*
 * output_file.c --- opening, committing and abandoning an output image.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nls-enable.h"
#include "misc/e2qcow.h"
#include "misc/output_file.h"

static int same_file(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode))
		return a->st_rdev == b->st_rdev;
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Refuses an output that is the source; 0 when they differ. */
static int refuse_source_as_output(const char *path, const char *source)
{
	struct stat src, dst;

	if (stat(path, &dst) < 0 || stat(source, &src) < 0)
		return 0;
	if (!same_file(&src, &dst))
		return 0;
	return e2q_fail(E2Q_EXIT_REFUSED, 0, _("output %s is the source "
			"itself; refusing to overwrite it"), path);
}

static int open_stdout(struct e2q_output *out)
{
	out->fd = STDOUT_FILENO;
	out->is_stream = 1;
	return E2Q_EXIT_OK;
}

static int open_in_place(const char *path, struct e2q_output *out)
{
	struct stat st;

	out->fd = open(path, O_WRONLY | O_CREAT, 0600);
	if (out->fd < 0)
		return e2q_fail(E2Q_EXIT_OUTPUT, errno, _("while opening %s"),
				path);
	out->in_place = 1;
	if (fstat(out->fd, &st) == 0 &&
	    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		out->is_stream = 1;
	return E2Q_EXIT_OK;
}

static int open_temporary(const char *path, struct e2q_output *out)
{
	size_t len = strlen(path) + sizeof(".e2qcow-XXXXXX");

	out->tmp_path = malloc(len);
	if (!out->tmp_path)
		return e2q_fail(E2Q_EXIT_INTERNAL, ENOMEM, _("while opening %s"),
				path);
	snprintf(out->tmp_path, len, "%s.e2qcow-XXXXXX", path);
	out->fd = mkstemp(out->tmp_path);
	if (out->fd < 0) {
		(void) e2q_fail(E2Q_EXIT_OUTPUT, errno, _("while creating %s"),
				path);
		free(out->tmp_path);
		out->tmp_path = NULL;
		return E2Q_EXIT_OUTPUT;
	}
	return E2Q_EXIT_OK;
}

int e2q_output_open(const char *path, const char *source, int want_offset,
		    struct e2q_output *out)
{
	struct stat st;
	int rc;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	out->path = path;
	/* a file size limit (ulimit -f) is an error to report (EFBIG), not
	 * a signal that kills us with the temporary file left behind */
	signal(SIGXFSZ, SIG_IGN);
	if (strcmp(path, "-") == 0)
		return open_stdout(out);
	rc = refuse_source_as_output(path, source);
	if (rc)
		return rc;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return open_in_place(path, out);
	if (want_offset)
		return open_in_place(path, out);
	return open_temporary(path, out);
}

static int can_hold(int fd, uint64_t size)
{
	return size <= (uint64_t) INT64_MAX && ftruncate(fd, (off_t) size) == 0;
}

uint64_t e2q_output_size_limit(const struct e2q_output *out, uint64_t size)
{
	uint64_t good = 0, bad = size;

	if (!out->tmp_path || can_hold(out->fd, size))
		bad = 0;	/* nothing to find: it can */
	else if (errno != EFBIG && errno != EINVAL)
		bad = 0;	/* not a limit: the writes will say what is */
	while (bad - good > 1) {	/* the largest size it takes */
		uint64_t mid = good + (bad - good) / 2;

		*(can_hold(out->fd, mid) ? &good : &bad) = mid;
	}
	if (out->tmp_path && ftruncate(out->fd, 0) < 0)
		return 0;
	return bad ? good + !good : 0;
}

/*
 * Waits until the data of `fd` is on the device: an I/O error met while
 * the kernel wrote it back is reported here, or never.  A pipe, socket or
 * character device cannot be flushed (EINVAL): nothing to wait for.
 */
static int flush_data(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return errno;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return 0;
	if (fdatasync(fd) < 0 && errno != EINVAL)
		return errno;
	return 0;
}

/* Makes the rename of the temporary file durable: flushes its folder. */
static int flush_folder(const char *path)
{
	char *copy = strdup(path);
	int fd, err = 0;

	if (!copy)
		return ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
	free(copy);
	if (fd < 0)	/* a folder we may write but not read: as good as we can */
		return errno == EACCES ? 0 : errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		err = errno;
	close(fd);
	return err;
}

int e2q_rename_durably(const char *tmp_path, const char *path)
{
	int err;

	if (rename(tmp_path, path) < 0) {
		err = errno;
		unlink(tmp_path);
		return err;
	}
	err = flush_folder(path);
	if (err)
		unlink(path);
	return err;
}

/* Moves the finished temporary file over IMAGE, durably; an errno.  Once
 * sandboxed, the committer does it (it may open the folder). */
static int move_into_place(struct e2q_output *out)
{
	if (out->committer.pid)
		return (int) e2q_committer_finish(&out->committer, 1);
	return e2q_rename_durably(out->tmp_path, out->path);
}

static void remove_temporary(struct e2q_output *out)
{
	if (out->committer.pid)
		(void) e2q_committer_finish(&out->committer, 0);
	else
		unlink(out->tmp_path);
}

/* Flushes standard output when it is a file or a device. */
static int commit_stdout(struct e2q_output *out)
{
	int err = flush_data(out->fd);

	if (!err)
		return E2Q_EXIT_OK;
	return e2q_fail(E2Q_EXIT_OUTPUT, err, _("while writing %s"), out->path);
}

/*
 * Exit 0 promises an image on the disk: the data is flushed before the
 * rename (so the final name never names a file whose data is not yet
 * written) and the folder after it.  A failure removes the image.
 */
int e2q_output_commit(struct e2q_output *out)
{
	int err;

	if (out->fd == STDOUT_FILENO)
		return commit_stdout(out);
	err = flush_data(out->fd);
	if (close(out->fd) < 0 && !err)
		err = errno;
	out->fd = -1;
	if (!err && out->tmp_path) {
		err = move_into_place(out);
		if (err) {	/* the temporary file is gone */
			free(out->tmp_path);
			out->tmp_path = NULL;
		}
	}
	if (err) {
		e2q_output_abort(out);
		return e2q_fail(E2Q_EXIT_OUTPUT, err, _("while writing %s"),
				out->path);
	}
	free(out->tmp_path);
	out->tmp_path = NULL;
	return E2Q_EXIT_OK;
}

void e2q_output_abort(struct e2q_output *out)
{
	if (out->fd >= 0 && out->fd != STDOUT_FILENO)
		close(out->fd);
	out->fd = -1;
	if (out->tmp_path) {
		remove_temporary(out);
		free(out->tmp_path);
		out->tmp_path = NULL;
	}
}
