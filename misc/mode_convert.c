/*
 * mode_convert.c --- -r from a qcow2 or qcow image: the whole virtual disk
 * as a raw sparse image; with --backing, through the backing chain the user
 * names (qcow2, qcow or raw parents, never the names recorded in images).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nls-enable.h"
#include "e2q_err.h"
#include "qcow/qcow_reader.h"
#include "support/raw_output.h"
#include "misc/e2qcow.h"
#include "misc/output_file.h"
#include "misc/progress.h"
#include "misc/sandbox.h"

/* IMAGE and the backing files named with --backing, parent after child. */
struct chain {
	const char *path[E2Q_MAX_BACKING + 1];
	int fd[E2Q_MAX_BACKING + 1];
	e2q_qcow_image *img[E2Q_MAX_BACKING + 1];	/* NULL: raw file */
	unsigned int count;
};

static enum e2q_exit open_file(struct chain *c, unsigned int i)
{
	c->fd[i] = open(c->path[i], O_RDONLY);
	if (c->fd[i] < 0)
		return e2q_fail(E2Q_EXIT_SOURCE, errno, _("while opening %s"),
				c->path[i]);
	return E2Q_EXIT_OK;
}

static enum e2q_exit parse_level(struct chain *c, unsigned int i, const char *snapshot)
{
	struct e2q_qcow_open_params params;
	struct e2q_qcow_problem problem = { NULL, 0 };
	errcode_t err;

	if (i > 0 && !e2q_qcow_probe(c->fd[i]))
		return E2Q_EXIT_OK;		/* a raw parent */
	memset(&params, 0, sizeof(params));
	params.snapshot = i == 0 ? snapshot : NULL;
	if (i + 1 < c->count)
		params.flags = E2Q_QCOW_OPEN_IGNORE_BACKING;
	err = e2q_qcow_open(c->fd[i], &params, &c->img[i], &problem);
	if (err)
		return e2q_fail_image(E2Q_EXIT_SOURCE, c->path[i], err, &problem,
				      _("while reading %s"));
	return E2Q_EXIT_OK;
}

/* Gives level i its parent, level i + 1. */
static enum e2q_exit attach_parent(struct chain *c, unsigned int i)
{
	struct e2q_qcow_parent parent = { c->img[i + 1], c->fd[i + 1], 0 };
	struct stat st;
	errcode_t err;

	if (!c->img[i])
		return e2q_fail(E2Q_EXIT_USAGE, 0, _("%s is a raw file: it has "
				"no backing file to name"), c->path[i]);
	if (!parent.image) {
		if (fstat(parent.raw_fd, &st) < 0)
			return e2q_fail(E2Q_EXIT_SOURCE, errno, _("while "
					"opening %s"), c->path[i + 1]);
		parent.raw_size = (uint64_t) st.st_size;
	}
	err = e2q_qcow_set_parent(c->img[i], &parent);
	if (err)
		return e2q_fail(E2Q_EXIT_USAGE, err, _("while reading %s"),
				c->path[i]);
	return E2Q_EXIT_OK;
}

/* Opens IMAGE and its backing files; reads nothing. */
static enum e2q_exit open_chain_files(const struct e2q_options *o,
				      struct chain *c)
{
	unsigned int i;
	enum e2q_exit rc = E2Q_EXIT_OK;

	memset(c, 0, sizeof(*c));
	c->path[0] = o->source;
	for (i = 0; i < o->nbacking; i++)
		c->path[i + 1] = o->backing[i];
	c->count = o->nbacking + 1;
	for (i = 0; i < c->count; i++)
		c->fd[i] = -1;
	for (i = 0; i < c->count && !rc; i++) {
		rc = open_file(c, i);
		/* qemu's locks: not an image that a running VM writes to */
		if (!rc)
			rc = e2q_refuse_if_image_in_use(o, c->path[i],
							c->fd[i]);
	}
	return rc;
}

static enum e2q_exit parse_chain(const struct e2q_options *o, struct chain *c)
{
	unsigned int i;
	enum e2q_exit rc = E2Q_EXIT_OK;

	for (i = 0; i < c->count && !rc; i++)
		rc = parse_level(c, i, o->snapshot);
	for (i = c->count - 1; i > 0 && !rc; i--)
		rc = attach_parent(c, i - 1);
	return rc;
}

static void close_chain(struct chain *c)
{
	unsigned int i;

	for (i = 0; i < c->count; i++) {
		if (c->img[i])
			e2q_qcow_close(c->img[i]);
		if (c->fd[i] >= 0)
			close(c->fd[i]);
	}
}

static void show_progress(void *priv, uint64_t offset)
{
	e2q_progress_update(priv, offset);
}

#define HOLE_GRAIN	4096U

static enum e2q_exit convert(const struct e2q_options *o, e2q_qcow_image *img,
			     struct e2q_output *out)
{
	struct e2q_qcow_problem problem = { NULL, 0 };
	struct e2q_progress progress;
	e2q_raw_output *raw = NULL;
	uint64_t size = e2q_qcow_virtual_size(img);
	int flags = 0;
	errcode_t err;

	if (out->is_stream)
		flags |= E2Q_RAW_STREAM;
	if (out->in_place && !out->is_stream)
		flags |= E2Q_RAW_KEEP_ZEROS;
	e2q_progress_start(&progress, o->progress, _("Converting"), size, 1);
	/* zeros become holes a page at a time, also inside large clusters
	 * (an image of a huge filesystem has 2 MiB ones, mostly zeros) */
	err = e2q_raw_output_new(out->fd, o->dst_offset, size,
				 e2q_qcow_cluster_size(img) < HOLE_GRAIN ?
				 e2q_qcow_cluster_size(img) : HOLE_GRAIN,
				 flags, &raw);
	if (!err) {
		e2q_raw_output_on_progress(raw, show_progress, &progress);
		err = e2q_qcow_convert_to_raw(img, raw, &problem);
	}
	if (!err)
		err = e2q_raw_output_finish(raw);
	if (err) {
		e2q_raw_output_free(raw);
		if (problem.structure)
			return e2q_fail_image(E2Q_EXIT_SOURCE, o->source, err,
					      &problem, _("while reading %s"));
		return e2q_fail(E2Q_EXIT_OUTPUT, err, _("while writing %s"),
				out->path);
	}
	e2q_progress_end(&progress, size / e2q_qcow_cluster_size(img), size,
			 e2q_raw_output_bytes_written(raw));
	e2q_raw_output_free(raw);
	return E2Q_EXIT_OK;
}

enum e2q_exit e2q_run_convert(const struct e2q_options *o)
{
	struct e2q_output out;
	struct chain chain;
	enum e2q_exit rc;
	int have_out = 0;

	rc = open_chain_files(o, &chain);
	if (!rc && !o->dry_run) {
		rc = e2q_output_open(o->dest, o->source, o->dst_offset_set, &out);
		have_out = !rc;
	}
	/* sandbox: IMAGE, its backing files and RAW are open, nothing parsed */
	if (!rc)
		rc = e2q_enter_sandbox(o, have_out ? &out : NULL,
				       have_out ? E2Q_SANDBOX_WRITES : 0);
	if (!rc)
		rc = parse_chain(o, &chain);
	if (!rc && o->dry_run)
		printf(_("%s: qcow version %u, %llu bytes, would be converted\n"),
		       o->source, e2q_qcow_version(chain.img[0]),
		       (unsigned long long) e2q_qcow_virtual_size(chain.img[0]));
	else if (!rc)
		rc = convert(o, chain.img[0], &out);
	if (have_out && rc)
		e2q_output_abort(&out);
	else if (have_out)
		rc = e2q_output_commit(&out);
	close_chain(&chain);
	return rc;
}
