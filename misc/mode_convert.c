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

int e2q_source_is_qcow(const char *path)
{
	int fd = open(path, O_RDONLY);
	int is_qcow;

	if (fd < 0)
		return 0;
	is_qcow = e2q_qcow_probe(fd);
	close(fd);
	return is_qcow;
}

void e2q_report_image_problem(const char *path, errcode_t err,
			      const struct e2q_qcow_problem *problem,
			      const char *otherwise)
{
	if (problem->structure)
		com_err(e2q_program_name, err, _("in %s at offset %llu of %s"),
			problem->structure,
			(unsigned long long) problem->offset, path);
	else
		com_err(e2q_program_name, err, otherwise, path);
}

/* IMAGE and the backing files named with --backing, parent after child. */
struct chain {
	const char *path[E2Q_MAX_BACKING + 1];
	int fd[E2Q_MAX_BACKING + 1];
	e2q_qcow_image *img[E2Q_MAX_BACKING + 1];	/* NULL: raw file */
	unsigned int count;
};

static int open_level(struct chain *c, unsigned int i, const char *snapshot)
{
	struct e2q_qcow_open_params params;
	struct e2q_qcow_problem problem = { NULL, 0 };
	errcode_t err;

	c->fd[i] = open(c->path[i], O_RDONLY);
	if (c->fd[i] < 0) {
		com_err(e2q_program_name, errno, _("while opening %s"),
			c->path[i]);
		return E2Q_EXIT_SOURCE;
	}
	if (i > 0 && !e2q_qcow_probe(c->fd[i]))
		return E2Q_EXIT_OK;		/* a raw parent */
	memset(&params, 0, sizeof(params));
	params.snapshot = i == 0 ? snapshot : NULL;
	if (i + 1 < c->count)
		params.flags = E2Q_QCOW_OPEN_IGNORE_BACKING;
	err = e2q_qcow_open(c->fd[i], &params, &c->img[i], &problem);
	if (err) {
		e2q_report_image_problem(c->path[i], err, &problem,
					 _("while reading %s"));
		return err == ENOMEM ? E2Q_EXIT_INTERNAL : E2Q_EXIT_SOURCE;
	}
	return E2Q_EXIT_OK;
}

/* Gives level i its parent, level i + 1. */
static int attach_parent(struct chain *c, unsigned int i)
{
	struct e2q_qcow_parent parent = { c->img[i + 1], c->fd[i + 1], 0 };
	struct stat st;
	errcode_t err;

	if (!c->img[i]) {
		com_err(e2q_program_name, 0, _("%s is a raw file: it has no "
					       "backing file to name"), c->path[i]);
		return E2Q_EXIT_USAGE;
	}
	if (!parent.image) {
		if (fstat(parent.raw_fd, &st) < 0) {
			com_err(e2q_program_name, errno, _("while opening %s"),
				c->path[i + 1]);
			return E2Q_EXIT_SOURCE;
		}
		parent.raw_size = (uint64_t) st.st_size;
	}
	err = e2q_qcow_set_parent(c->img[i], &parent);
	if (err) {
		com_err(e2q_program_name, err, _("while reading %s"),
			c->path[i]);
		return E2Q_EXIT_USAGE;
	}
	return E2Q_EXIT_OK;
}

static int open_chain(const struct e2q_options *o, struct chain *c)
{
	unsigned int i;
	int rc = E2Q_EXIT_OK;

	memset(c, 0, sizeof(*c));
	c->path[0] = o->source;
	for (i = 0; i < o->nbacking; i++)
		c->path[i + 1] = o->backing[i];
	c->count = o->nbacking + 1;
	for (i = 0; i < c->count; i++)
		c->fd[i] = -1;
	for (i = 0; i < c->count && !rc; i++) {
		rc = open_level(c, i, o->snapshot);
		/* qemu's locks: not an image that a running VM writes to */
		if (!rc)
			rc = e2q_refuse_if_image_in_use(o, c->path[i],
							c->fd[i]);
	}
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

static int convert(const struct e2q_options *o, e2q_qcow_image *img,
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
	err = e2q_raw_output_new(out->fd, o->dst_offset, size,
				 e2q_qcow_cluster_size(img), flags, &raw);
	if (!err) {
		e2q_raw_output_on_progress(raw, show_progress, &progress);
		err = e2q_qcow_convert_to_raw(img, raw, &problem);
	}
	if (!err)
		err = e2q_raw_output_finish(raw);
	if (err && problem.structure) {
		e2q_report_image_problem(o->source, err, &problem,
					 _("while reading %s"));
		e2q_raw_output_free(raw);
		return E2Q_EXIT_SOURCE;
	}
	if (err) {
		com_err(e2q_program_name, err, _("while writing %s"), out->path);
		e2q_raw_output_free(raw);
		return E2Q_EXIT_OUTPUT;
	}
	e2q_progress_end(&progress, size / e2q_qcow_cluster_size(img), size,
			 e2q_raw_output_bytes_written(raw));
	e2q_raw_output_free(raw);
	return E2Q_EXIT_OK;
}

int e2q_mode_convert(const struct e2q_options *o)
{
	struct e2q_output out;
	struct chain chain;
	e2q_qcow_image *img;
	int rc;

	rc = open_chain(o, &chain);
	img = chain.img[0];
	if (!rc && o->dry_run)
		printf(_("%s: qcow version %u, %llu bytes, would be converted\n"),
		       o->source, e2q_qcow_version(img),
		       (unsigned long long) e2q_qcow_virtual_size(img));
	else if (!rc) {
		rc = e2q_output_open(o->dest, o->source, o->dst_offset_set, &out);
		if (!rc) {
			rc = convert(o, img, &out);
			if (rc)
				e2q_output_abort(&out);
			else
				rc = e2q_output_commit(&out);
		}
	}
	close_chain(&chain);
	return rc;
}
