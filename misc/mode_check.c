/*
 * mode_check.c --- --check IMAGE: the structure and refcounts of a qcow2
 * or qcow image, with qemu-img check's exit codes: 0 clean, 2 corrupt
 * (structural damage, refcounts lower than use, wrong COPIED flags), 3 leaks
 * only, 63 an image this version cannot check (encrypted, external data,
 * unknown features, bitmaps).  With --output=json, one JSON object on
 * stdout with qemu-img check's keys (filename, format, check-errors,
 * corruptions, leaks, image-end-offset, total-clusters, allocated-clusters,
 * compressed-clusters) and ours under "e2qcow"; the same exit codes.
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
#include "misc/json_out.h"
#include "misc/sandbox.h"

static int is_unsupported(errcode_t err)
{
	return err == E2Q_ET_QCOW_ENCRYPTED ||
	       err == E2Q_ET_QCOW_EXTERNAL_DATA ||
	       err == E2Q_ET_QCOW_UNKNOWN_FEATURE ||
	       err == E2Q_ET_QCOW_UNSUPPORTED ||
	       err == E2Q_ET_QCOW_BAD_VERSION || err == E2Q_ET_NOT_QCOW;
}

static enum e2q_exit report_failure(const char *path, errcode_t err,
				    const struct e2q_qcow_problem *problem)
{
	if (err == E2Q_ET_QCOW_V2_ZERO_FLAG)
		printf(_("%s: corrupt, although qemu-img check passes it: "
			 "qemu refuses to read a cluster whose entry has the "
			 "zero flag in a version 2 image (\"Zero cluster entry "
			 "found in pre-v3 image\"), so the image cannot be "
			 "read whole\n"), path);
	return e2q_fail_image(is_unsupported(err) ? E2Q_EXIT_CHECK_CANNOT :
			      E2Q_EXIT_CHECK_CORRUPT, path, err, problem,
			      _("while checking %s"));
}

static enum e2q_exit print_verdict(const char *path,
			 const struct e2q_qcow_check_report *r)
{
	if (!r->refcounts_checked) {
		printf(_("%s: qcow version 1 has no refcounts; %llu clusters "
			 "in use, tables consistent\n"), path,
		       (unsigned long long) r->referenced_clusters);
		return E2Q_EXIT_CHECK_CLEAN;
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
		return E2Q_EXIT_CHECK_CORRUPT;
	if (r->leaks)
		return E2Q_EXIT_CHECK_LEAKS;
	printf(_("%s: no errors found; %llu clusters in use\n"), path,
	       (unsigned long long) r->referenced_clusters);
	return E2Q_EXIT_CHECK_CLEAN;
}

/* The exit code of a check that ran to the end, as print_verdict's. */
static enum e2q_exit verdict(const struct e2q_qcow_check_report *r)
{
	if (!r->refcounts_checked)
		return E2Q_EXIT_CHECK_CLEAN;
	return r->corruptions ? E2Q_EXIT_CHECK_CORRUPT :
	       r->leaks ? E2Q_EXIT_CHECK_LEAKS : E2Q_EXIT_CHECK_CLEAN;
}

static void json_ours(struct e2q_json *j, const struct e2q_qcow_check_report *r,
		      const struct e2q_qcow_info *in, const e2q_qcow_image *img)
{
	e2q_json_begin_object(j, "e2qcow");
	e2q_json_uint(j, "version", in->version);
	e2q_json_bool(j, "refcounts-checked", r->refcounts_checked);
	e2q_json_uint(j, "referenced-clusters", r->referenced_clusters);
	if (r->corruptions)
		e2q_json_uint(j, "first-corruption-offset", r->first_corruption);
	if (r->leaks)
		e2q_json_uint(j, "first-leak-offset", r->first_leak);
	e2q_json_uint(j, "zero-clusters", in->zero_clusters);
	e2q_json_qemu_warnings(j, img);
	e2q_json_end_object(j);
}

static void json_verdict(const char *path,
			 const struct e2q_qcow_check_report *r,
			 const struct e2q_qcow_info *in, const e2q_qcow_image *img)
{
	uint64_t cs = in->cluster_size;
	struct e2q_json j;

	e2q_json_init(&j, stdout, 1);
	e2q_json_begin_object(&j, NULL);
	e2q_json_string(&j, "filename", path);
	e2q_json_string(&j, "format", in->version == 1 ? "qcow" : "qcow2");
	e2q_json_uint(&j, "check-errors", 0);
	e2q_json_uint(&j, "corruptions", r->corruptions);
	e2q_json_uint(&j, "leaks", r->leaks);
	if (r->refcounts_checked)
		e2q_json_uint(&j, "image-end-offset", r->image_end_offset);
	e2q_json_uint(&j, "total-clusters", (in->virtual_size + cs - 1) / cs);
	e2q_json_uint(&j, "allocated-clusters", in->allocated_clusters);
	e2q_json_uint(&j, "compressed-clusters", in->compressed_clusters);
	json_ours(&j, r, in, img);
	e2q_json_end_object(&j);
	e2q_json_finish(&j);
}

static enum e2q_exit check_image(const struct e2q_options *o, e2q_qcow_image *img)
{
	struct e2q_qcow_problem problem = { NULL, 0 };
	struct e2q_qcow_check_report report;
	struct e2q_qcow_info info;
	errcode_t err;

	err = e2q_qcow_check(img, &report, &problem);
	if (!err && o->output_json)
		err = e2q_qcow_get_info(img, &info, &problem);
	if (err) {
		if (o->output_json)
			e2q_json_image_error(o->source, err, &problem);
		return report_failure(o->source, err, &problem);
	}
	if (!o->output_json) {
		e2q_print_qemu_warnings(o->source, img);
		return print_verdict(o->source, &report);
	}
	json_verdict(o->source, &report, &info, img);
	return verdict(&report);
}

enum e2q_exit e2q_run_check(const struct e2q_options *o)
{
	struct e2q_qcow_open_params params;
	struct e2q_qcow_problem problem = { NULL, 0 };
	e2q_qcow_image *img = NULL;
	enum e2q_exit rc;
	errcode_t err;
	int fd;

	rc = e2q_open_image_confined(o, &fd);
	if (rc)
		return rc;
	memset(&params, 0, sizeof(params));
	params.flags = E2Q_QCOW_OPEN_IGNORE_BACKING;
	err = e2q_qcow_open(fd, &params, &img, &problem);
	if (err) {
		if (o->output_json)
			e2q_json_image_error(o->source, err, &problem);
		rc = report_failure(o->source, err, &problem);
	} else {
		rc = check_image(o, img);
	}
	e2q_qcow_close(img);
	close(fd);
	return rc;
}
