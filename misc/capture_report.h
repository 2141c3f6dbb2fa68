/*
 * capture_report.h --- the capture report of a -Q export: which e2qcow,
 * when (SOURCE_DATE_EPOCH when set), from what filesystem (size, block
 * size, UUID, features; its label and the source's name only without -s),
 * with which options, what -s did, how many blocks and inodes were marked,
 * and every problem the walk met (code, inode or group, what was
 * skipped).  Serialized as one JSON object, stored in the image by the
 * qcow2 writer (a header extension: see e2q_qcow_writer_set_report()).
 *
 * Re-export: when SOURCE is itself an image with a report, that report is
 * kept inside the new one as "origin" (without the label and names of
 * files when -s is given).
 *
 * Use: new() before the walk; add_problem() from the walk's problem
 * callback; set_stats() after it; attach() before the writer starts: it
 * serializes and hands the text to the writer, leaving problems out (and
 * counting them) until it fits in the image's first cluster.  Memory: 16
 * bytes per problem, at most E2Q_REPORT_MAX_KEPT of them.  Nothing here
 * prints.
 */
#ifndef E2Q_CAPTURE_REPORT_H
#define E2Q_CAPTURE_REPORT_H

#include <ext2fs/ext2fs.h>

#include "e2meta/e2meta.h"
#include "qcow/qcow_writer.h"
#include "misc/e2qcow.h"

#define E2Q_REPORT_MAX_KEPT	4096	/* problems kept; more are counted */

struct e2q_capture_report;

/* ENOMEM, or 0 with *ret set; opts and fs must outlive the report.
 * source_fd: the qcow SOURCE, open (its report is kept as the origin), or
 * -1 for any other SOURCE. */
errcode_t e2q_capture_report_new(const struct e2q_options *opts,
				 ext2_filsys fs, int source_fd,
				 struct e2q_capture_report **ret);
void e2q_capture_report_add_problem(struct e2q_capture_report *r,
				    errcode_t code, ext2_ino_t ino,
				    dgrp_t group);
void e2q_capture_report_set_stats(struct e2q_capture_report *r,
				  const struct e2q_meta_stats *stats);
/* The JSON text with at most max_problems problems (malloc()ed). */
errcode_t e2q_capture_report_serialize(struct e2q_capture_report *r,
				       size_t max_problems, int with_origin,
				       char **text, size_t *len);
/* Serializes and stores the report in w (before e2q_qcow_writer_start). */
errcode_t e2q_capture_report_attach(struct e2q_capture_report *r,
				    e2q_qcow_writer *w);
void e2q_capture_report_free(struct e2q_capture_report *r);

/* A few values of a report read back from an image (for --verify). */
struct e2q_report_summary {
	char tool[64];		/* "e2qcow 0.1.0" */
	char captured[32];	/* "2026-12-02T06:40:00Z" */
	char uuid[40];		/* the source's, or "" */
};

/* 0 with *s filled (absent values ""), or -1 when text is not JSON. */
int e2q_report_summarize(const char *text, size_t len,
			 struct e2q_report_summary *s);

#endif /* E2Q_CAPTURE_REPORT_H */
