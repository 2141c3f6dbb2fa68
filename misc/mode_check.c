/*
 * mode_check.c --- --check IMAGE: the structure and refcounts of a qcow2
 * or qcow image, with qemu-img check's exit codes: 0 clean, 2 corrupt
 * (structural damage, refcounts lower than use, wrong COPIED flags), 3 leaks
 * only, 63 an image this version cannot check (encrypted, external data,
 * unknown features, bitmaps).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nls-enable.h"
#include "e2q_err.h"
#include "qcow/qcow_check.h"
#include "qcow/qcow_reader.h"
#include "misc/e2qcow.h"

#define CHECK_EXIT_CLEAN	0
#define CHECK_EXIT_CORRUPT	2
#define CHECK_EXIT_LEAKS	3
#define CHECK_EXIT_UNSUPPORTED	63

static int is_unsupported(errcode_t err)
{
	return err == E2Q_ET_QCOW_ENCRYPTED ||
	       err == E2Q_ET_QCOW_EXTERNAL_DATA ||
	       err == E2Q_ET_QCOW_UNKNOWN_FEATURE ||
	       err == E2Q_ET_QCOW_UNSUPPORTED ||
	       err == E2Q_ET_QCOW_BAD_VERSION || err == E2Q_ET_NOT_QCOW;
}

static int report_failure(const char *path, errcode_t err,
			  const struct e2q_qcow_problem *problem)
{
	e2q_report_image_problem(path, err, problem, _("while checking %s"));
	if (err == E2Q_ET_QCOW_V2_ZERO_FLAG)
		printf(_("%s: corrupt, although qemu-img check passes it: "
			 "qemu refuses to read a cluster whose entry has the "
			 "zero flag in a version 2 image (\"Zero cluster entry "
			 "found in pre-v3 image\"), so the image cannot be "
			 "read whole\n"), path);
	if (err == ENOMEM)
		return E2Q_EXIT_INTERNAL;
	return is_unsupported(err) ? CHECK_EXIT_UNSUPPORTED
				   : CHECK_EXIT_CORRUPT;
}

static int print_verdict(const char *path,
			 const struct e2q_qcow_check_report *r)
{
	if (!r->refcounts_checked) {
		printf(_("%s: qcow version 1 has no refcounts; %llu clusters "
			 "in use, tables consistent\n"), path,
		       (unsigned long long) r->referenced_clusters);
		return CHECK_EXIT_CLEAN;
	}
	if (r->l1_entries_at_zero)
		printf(_("%s: %llu L1 entries name offset 0, the header, as "
			 "their L2 table\n"), path,
		       (unsigned long long) r->l1_entries_at_zero);
	if (r->corruptions)
		printf(_("%s: %llu errors: refcount lower than its use or "
			 "wrong COPIED flag, the first at offset %llu\n"),
		       path, (unsigned long long) r->corruptions,
		       (unsigned long long) r->first_corruption);
	if (r->leaks)
		printf(_("%s: %llu leaked clusters: refcount higher than its "
			 "use, the first at offset %llu\n"),
		       path, (unsigned long long) r->leaks,
		       (unsigned long long) r->first_leak);
	if (r->corruptions)
		return CHECK_EXIT_CORRUPT;
	if (r->leaks)
		return CHECK_EXIT_LEAKS;
	printf(_("%s: no errors found; %llu clusters in use\n"), path,
	       (unsigned long long) r->referenced_clusters);
	return CHECK_EXIT_CLEAN;
}

int e2q_mode_check(const struct e2q_options *o)
{
	struct e2q_qcow_open_params params;
	struct e2q_qcow_problem problem = { NULL, 0 };
	struct e2q_qcow_check_report report;
	e2q_qcow_image *img = NULL;
	errcode_t err;
	int fd, rc;

	fd = open(o->source, O_RDONLY);
	if (fd < 0) {
		com_err(e2q_program_name, errno, _("while opening %s"),
			o->source);
		return E2Q_EXIT_SOURCE;
	}
	/* qemu's locks: not an image that a running VM writes to */
	rc = e2q_refuse_if_image_in_use(o, o->source, fd);
	if (rc) {
		close(fd);
		return rc;
	}
	memset(&params, 0, sizeof(params));
	params.flags = E2Q_QCOW_OPEN_IGNORE_BACKING;
	err = e2q_qcow_open(fd, &params, &img, &problem);
	if (!err)
		err = e2q_qcow_check(img, &report, &problem);
	rc = err ? report_failure(o->source, err, &problem)
		 : print_verdict(o->source, &report);
	e2q_qcow_close(img);
	close(fd);
	return rc;
}
