/*
 * output_file.c --- opening, committing and abandoning an output image.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
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
	com_err(e2q_program_name, 0, _("output %s is the source itself; "
				       "refusing to overwrite it"), path);
	return E2Q_EXIT_REFUSED;
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
	if (out->fd < 0) {
		com_err(e2q_program_name, errno, _("while opening %s"), path);
		return E2Q_EXIT_OUTPUT;
	}
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
	if (!out->tmp_path) {
		com_err(e2q_program_name, ENOMEM, _("while opening %s"), path);
		return E2Q_EXIT_INTERNAL;
	}
	snprintf(out->tmp_path, len, "%s.e2qcow-XXXXXX", path);
	out->fd = mkstemp(out->tmp_path);
	if (out->fd < 0) {
		com_err(e2q_program_name, errno, _("while creating %s"), path);
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

/* Moves the finished temporary file over IMAGE; an errno. */
static int move_into_place(struct e2q_output *out)
{
	if (out->committer.pid)
		return (int) e2q_committer_finish(&out->committer, 1);
	return rename(out->tmp_path, out->path) < 0 ? errno : 0;
}

static void remove_temporary(struct e2q_output *out)
{
	if (out->committer.pid)
		(void) e2q_committer_finish(&out->committer, 0);
	else
		unlink(out->tmp_path);
}

int e2q_output_commit(struct e2q_output *out)
{
	int err = 0;

	if (out->fd == STDOUT_FILENO)
		return E2Q_EXIT_OK;
	if (out->in_place && fsync(out->fd) < 0 && errno != EINVAL &&
	    errno != EROFS)
		err = errno;
	if (close(out->fd) < 0 && !err)
		err = errno;
	out->fd = -1;
	if (!err && out->tmp_path)
		err = move_into_place(out);
	if (err) {
		com_err(e2q_program_name, err, _("while writing %s"), out->path);
		e2q_output_abort(out);
		return E2Q_EXIT_OUTPUT;
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
