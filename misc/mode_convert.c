/*
 * mode_convert.c --- -r from a qcow2 or qcow image: the whole virtual disk
 * as a raw sparse image.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
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

static void report_image_problem(const char *path, errcode_t err,
				 const struct e2q_qcow_problem *problem)
{
	if (problem->structure)
		com_err(e2q_program_name, err, _("in %s at offset %llu of %s"),
			problem->structure,
			(unsigned long long) problem->offset, path);
	else
		com_err(e2q_program_name, err, _("while reading %s"), path);
}

static int open_image(const struct e2q_options *o, int *fd,
		      e2q_qcow_image **img)
{
	struct e2q_qcow_open_params params;
	struct e2q_qcow_problem problem = { NULL, 0 };
	errcode_t err;

	*fd = open(o->source, O_RDONLY);
	if (*fd < 0) {
		com_err(e2q_program_name, errno, _("while opening %s"),
			o->source);
		return E2Q_EXIT_SOURCE;
	}
	memset(&params, 0, sizeof(params));
	params.snapshot = o->snapshot;
	err = e2q_qcow_open(*fd, &params, img, &problem);
	if (err) {
		report_image_problem(o->source, err, &problem);
		return err == ENOMEM ? E2Q_EXIT_INTERNAL : E2Q_EXIT_SOURCE;
	}
	return E2Q_EXIT_OK;
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
	if (!err)
		err = e2q_qcow_convert_to_raw(img, raw, &problem);
	if (!err)
		err = e2q_raw_output_finish(raw);
	if (err && problem.structure) {
		report_image_problem(o->source, err, &problem);
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
	e2q_qcow_image *img = NULL;
	int fd = -1, rc;

	rc = open_image(o, &fd, &img);
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
	if (img)
		e2q_qcow_close(img);
	if (fd >= 0)
		close(fd);
	return rc;
}
