/*
 * mode_info.c --- --info IMAGE: what a qcow2 or qcow image says about
 * itself, and the capture report e2qcow -Q stored in it.  A backing file is
 * shown, never opened.  With --output=json, one JSON object on stdout with
 * qemu-img info's key names where the concept is the same, our own values
 * under "e2qcow"; an image refused is an object with "error" (and the
 * usual line on stderr, and exit code).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nls-enable.h"
#include "e2q_err.h"
#include "qcow/qcow_check.h"
#include "qcow/qcow_format.h"
#include "qcow/qcow_reader.h"
#include "misc/e2qcow.h"
#include "misc/json_out.h"
#include "misc/sandbox.h"

static void print_features(e2q_qcow_image *img, const struct e2q_qcow_info *in,
			   enum e2q_qcow_feature_kind kind, const char *title)
{
	uint64_t bits = in->features[kind];
	unsigned int bit;
	const char *sep = "";

	printf("%-18s", title);
	if (!bits)
		fputs(_("none"), stdout);
	for (bit = 0; bit < 64; bit++) {
		const char *name;

		if (!(bits & (1ULL << bit)))
			continue;
		name = e2q_qcow_feature_name(img, kind, bit);
		if (name)
			printf("%s%s", sep, name);
		else
			printf(_("%sunknown bit %u"), sep, bit);
		sep = ", ";
	}
	putchar('\n');
}

static void print_snapshots(const e2q_qcow_image *img, unsigned int count)
{
	struct e2q_qcow_snapshot_info sn;
	unsigned int i;

	if (!count)
		return;
	printf(_("snapshots:\n"));
	printf("  %-8s %-20s %-20s %s\n", _("ID"), _("NAME"), _("DATE"),
	       _("VM STATE"));
	for (i = 0; i < count; i++) {
		char date[32] = "";
		time_t t;

		if (e2q_qcow_get_snapshot(img, i, &sn))
			break;
		t = (time_t) sn.date_sec;
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", gmtime(&t));
		printf("  %-8s %-20s %-20s %" PRIu64 "\n", sn.id, sn.name, date,
		       sn.vm_state_size);
	}
}

static void print_info(e2q_qcow_image *img, const char *path,
		       const struct e2q_qcow_info *in)
{
	printf("%-18s%s\n", _("image:"), path);
	printf("%-18s%s (%s %u)\n", _("format:"),
	       in->version == 1 ? "qcow" : "qcow2", _("version"), in->version);
	printf("%-18s%" PRIu64 "\n", _("virtual size:"), in->virtual_size);
	printf("%-18s%" PRIu64 "\n", _("file size:"), in->file_size);
	printf("%-18s%u\n", _("cluster size:"), in->cluster_size);
	printf("%-18s%s\n", _("compression:"),
	       e2q_qcow_codec_name(in->compression_type));
	if (in->version >= 2) {
		printf("%-18s%u\n", _("refcount bits:"), in->refcount_bits);
		printf("%-18s%s\n", _("extended L2:"),
		       in->extended_l2 ? _("yes") : _("no"));
		print_features(img, in, E2Q_QCOW_FEATURE_INCOMPAT,
			       _("incompatible:"));
		print_features(img, in, E2Q_QCOW_FEATURE_COMPAT,
			       _("compatible:"));
		print_features(img, in, E2Q_QCOW_FEATURE_AUTOCLEAR,
			       _("autoclear:"));
	}
	if (in->backing_file)
		printf("%-18s%s (%s: %s; %s)\n", _("backing file:"),
		       in->backing_file, _("format"),
		       in->backing_format ? in->backing_format : _("not given"),
		       _("not opened"));
	printf("%-18s%" PRIu64 " (%s %" PRIu64 ", %s %" PRIu64 ")\n",
	       _("allocated bytes:"), in->allocated_bytes,
	       _("compressed clusters"), in->compressed_clusters,
	       _("zero clusters"), in->zero_clusters);
	print_snapshots(img, in->nb_snapshots);
}

/* ---- what qemu refuses ------------------------------------------------- */

void e2q_print_qemu_warnings(const char *path, const e2q_qcow_image *img)
{
	struct e2q_qcow_qemu_limits lim;

	e2q_qcow_get_qemu_limits(img, &lim);
	if (lim.l1_too_large)
		printf(_("%s: warning: the L1 table takes %llu bytes, more than "
			 "qemu's limit of %llu: qemu refuses to open this image "
			 "(\"Active L1 table too large\"); e2qcow -r and e2image "
			 "-r read it\n"), path,
		       (unsigned long long) lim.l1_bytes,
		       (unsigned long long) lim.l1_limit);
	if (lim.reftable_too_large)
		printf(_("%s: warning: the refcount table takes %llu bytes, "
			 "more than qemu's limit of %llu: qemu refuses to open "
			 "this image; e2qcow -r reads it\n"), path,
		       (unsigned long long) lim.reftable_bytes,
		       (unsigned long long) lim.reftable_limit);
}

/* "warnings": what qemu refuses, in English (names stay stable). */
void e2q_json_qemu_warnings(struct e2q_json *j, const e2q_qcow_image *img)
{
	struct e2q_qcow_qemu_limits lim;

	e2q_qcow_get_qemu_limits(img, &lim);
	e2q_json_begin_array(j, "warnings");
	if (lim.l1_too_large) {
		e2q_json_begin_object(j, NULL);
		e2q_json_string(j, "name", "l1-table-too-large-for-qemu");
		e2q_json_uint(j, "bytes", lim.l1_bytes);
		e2q_json_uint(j, "limit", lim.l1_limit);
		e2q_json_string(j, "message", "qemu refuses to open this image: "
				"its L1 table is larger than qemu's limit");
		e2q_json_end_object(j);
	}
	if (lim.reftable_too_large) {
		e2q_json_begin_object(j, NULL);
		e2q_json_string(j, "name", "refcount-table-too-large-for-qemu");
		e2q_json_uint(j, "bytes", lim.reftable_bytes);
		e2q_json_uint(j, "limit", lim.reftable_limit);
		e2q_json_string(j, "message", "qemu refuses to open this image: "
				"its refcount table is larger than qemu's limit");
		e2q_json_end_object(j);
	}
	e2q_json_end_array(j);
}

/* ---- the capture report, for people ----------------------------------- */

/* Text from the image: control characters are shown as '?'. */
static void put_safe(const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char) text[i];

		putchar(c < 0x20 || c == 0x7f ? '?' : c);
	}
}

struct render {
	int line_open;		/* an array's values are being listed */
	int first;		/* no value on the open line yet */
};

static void indent(int depth)
{
	printf("%*s", 2 * depth, "");
}

static void close_line(struct render *r)
{
	if (r->line_open)
		putchar('\n');
	r->line_open = 0;
}

static void render_event(void *priv, enum e2q_json_kind kind, const char *key,
			 const char *text, size_t len, int depth)
{
	struct render *r = priv;

	if (depth == 0)
		return;		/* the report object itself */
	if (kind == E2Q_JSON_END) {
		if (r->line_open && r->first)
			fputs(_(" (none)"), stdout);
		close_line(r);
		return;
	}
	if (!key && r->line_open && kind != E2Q_JSON_OBJECT &&
	    kind != E2Q_JSON_ARRAY) {
		fputs(r->first ? " " : ", ", stdout);
		put_safe(text, len);
		r->first = 0;
		return;
	}
	close_line(r);
	indent(depth);
	if (key) {
		put_safe(key, strlen(key));
		putchar(':');
	} else {
		putchar('-');
	}
	if (kind == E2Q_JSON_ARRAY) {
		r->line_open = 1;
		r->first = 1;
		return;
	}
	if (kind != E2Q_JSON_OBJECT) {
		putchar(' ');
		put_safe(text, len);
	}
	putchar('\n');
}

static void print_report(const e2q_qcow_image *img)
{
	struct render r = { 0, 0 };
	char *text = NULL;
	size_t len = 0;
	errcode_t err = e2q_qcow_get_report(img, &text, &len);

	if (!err && text && !e2q_json_parse(text, len, NULL, NULL)) {
		printf("%s\n", _("capture report:"));
		e2q_json_parse(text, len, render_event, &r);
		free(text);
		return;
	}
	printf("%-18s", _("capture report:"));
	if (err)
		printf(_("unreadable: %s\n"), error_message(err));
	else if (!text)
		printf("%s\n", _("none (not an image of e2qcow -Q)"));
	else
		printf("%s\n", _("unreadable: not JSON"));
	free(text);
}

/* ---- JSON --------------------------------------------------------------- */

static uint64_t actual_size(int fd)
{
	struct stat st;

	/* as qemu-img: the bytes the file takes on disk */
	return fstat(fd, &st) ? 0 : (uint64_t) st.st_blocks * 512;
}

static void json_format_specific(struct e2q_json *j,
				 const struct e2q_qcow_info *in)
{
	int v3 = in->version >= 3;

	if (in->version < 2)
		return;
	e2q_json_begin_object(j, "format-specific");
	e2q_json_string(j, "type", "qcow2");
	e2q_json_begin_object(j, "data");
	e2q_json_string(j, "compat", v3 ? "1.1" : "0.10");
	e2q_json_string(j, "compression-type",
			e2q_qcow_codec_name(in->compression_type));
	if (v3)
		e2q_json_bool(j, "lazy-refcounts",
			      !!(in->features[E2Q_QCOW_FEATURE_COMPAT] &
				 E2Q_QCOW2_COMPAT_LAZY_REFCOUNTS));
	e2q_json_uint(j, "refcount-bits", in->refcount_bits);
	if (v3) {
		e2q_json_bool(j, "corrupt",
			      !!(in->features[E2Q_QCOW_FEATURE_INCOMPAT] &
				 E2Q_QCOW2_INCOMPAT_CORRUPT));
		e2q_json_bool(j, "extended-l2", in->extended_l2);
	}
	e2q_json_end_object(j);
	e2q_json_end_object(j);
}

static void json_snapshots(struct e2q_json *j, const e2q_qcow_image *img,
			   unsigned int count)
{
	struct e2q_qcow_snapshot_info sn;
	unsigned int i;

	if (!count)
		return;
	e2q_json_begin_array(j, "snapshots");
	for (i = 0; i < count && !e2q_qcow_get_snapshot(img, i, &sn); i++) {
		e2q_json_begin_object(j, NULL);
		e2q_json_string(j, "id", sn.id);
		e2q_json_string(j, "name", sn.name);
		e2q_json_uint(j, "date-sec", sn.date_sec);
		e2q_json_uint(j, "vm-state-size", sn.vm_state_size);
		e2q_json_end_object(j);
	}
	e2q_json_end_array(j);
}

static void json_features(struct e2q_json *j, e2q_qcow_image *img,
			  const struct e2q_qcow_info *in)
{
	static const char *const keys[3] = { "incompatible-features",
		"compatible-features", "autoclear-features" };
	enum e2q_qcow_feature_kind kind;
	unsigned int bit;

	for (kind = E2Q_QCOW_FEATURE_INCOMPAT;
	     kind <= E2Q_QCOW_FEATURE_AUTOCLEAR; kind++) {
		e2q_json_begin_array(j, keys[kind]);
		for (bit = 0; bit < 64; bit++) {
			const char *name;

			if (!(in->features[kind] & (1ULL << bit)))
				continue;
			name = e2q_qcow_feature_name(img, kind, bit);
			e2q_json_begin_object(j, NULL);
			e2q_json_uint(j, "bit", bit);
			e2q_json_string(j, "name", name);
			e2q_json_end_object(j);
		}
		e2q_json_end_array(j);
	}
}

/* The capture report as it is, or null; why not, under report-error. */
static void json_report(struct e2q_json *j, const e2q_qcow_image *img)
{
	char *text = NULL;
	size_t len = 0;
	errcode_t err = e2q_qcow_get_report(img, &text, &len);

	if (err) {
		e2q_json_null(j, "capture-report");
		e2q_json_string(j, "capture-report-error", error_message(err));
	} else if (!text) {
		e2q_json_null(j, "capture-report");
	} else if (e2q_json_copy(j, "capture-report", text, len, NULL)) {
		e2q_json_null(j, "capture-report");
		e2q_json_string(j, "capture-report-error", "not JSON");
	}
	free(text);
}

static void json_ours(struct e2q_json *j, e2q_qcow_image *img,
		      const struct e2q_qcow_info *in)
{
	e2q_json_begin_object(j, "e2qcow");
	e2q_json_uint(j, "version", in->version);
	e2q_json_uint(j, "file-size", in->file_size);
	e2q_json_uint(j, "allocated-bytes", in->allocated_bytes);
	e2q_json_uint(j, "allocated-clusters", in->allocated_clusters);
	e2q_json_uint(j, "compressed-clusters", in->compressed_clusters);
	e2q_json_uint(j, "zero-clusters", in->zero_clusters);
	if (in->version >= 2)
		json_features(j, img, in);
	e2q_json_qemu_warnings(j, img);
	json_report(j, img);
	e2q_json_end_object(j);
}

static void json_info(e2q_qcow_image *img, const char *path, int fd,
		      const struct e2q_qcow_info *in)
{
	struct e2q_json j;

	e2q_json_init(&j, stdout, 1);
	e2q_json_begin_object(&j, NULL);
	json_snapshots(&j, img, in->nb_snapshots);
	e2q_json_uint(&j, "virtual-size", in->virtual_size);
	e2q_json_string(&j, "filename", path);
	e2q_json_uint(&j, "cluster-size", in->cluster_size);
	e2q_json_string(&j, "format", in->version == 1 ? "qcow" : "qcow2");
	e2q_json_uint(&j, "actual-size", actual_size(fd));
	json_format_specific(&j, in);
	if (in->backing_file) {
		e2q_json_string(&j, "backing-filename", in->backing_file);
		if (in->backing_format)
			e2q_json_string(&j, "backing-filename-format",
					in->backing_format);
	}
	e2q_json_bool(&j, "dirty-flag", in->version >= 3 &&
		      (in->features[E2Q_QCOW_FEATURE_INCOMPAT] &
		       E2Q_QCOW2_INCOMPAT_DIRTY));
	json_ours(&j, img, in);
	e2q_json_end_object(&j);
	e2q_json_finish(&j);
}

void e2q_json_image_error(const char *path, errcode_t err,
			  const struct e2q_qcow_problem *problem)
{
	struct e2q_json j;

	e2q_json_init(&j, stdout, 1);
	e2q_json_begin_object(&j, NULL);
	e2q_json_string(&j, "filename", path);
	e2q_json_begin_object(&j, "error");
	e2q_json_uint(&j, "code", (uint64_t) err);
	e2q_json_string(&j, "message", error_message(err));
	if (problem && problem->structure) {
		e2q_json_string(&j, "structure", problem->structure);
		e2q_json_uint(&j, "offset", problem->offset);
	}
	e2q_json_end_object(&j);
	e2q_json_end_object(&j);
	e2q_json_finish(&j);
}

enum e2q_exit e2q_run_info(const struct e2q_options *o)
{
	struct e2q_qcow_open_params params;
	struct e2q_qcow_problem problem = { NULL, 0 };
	struct e2q_qcow_info info;
	e2q_qcow_image *img = NULL;
	enum e2q_exit rc = E2Q_EXIT_OK;
	errcode_t err;
	int fd;

	rc = e2q_open_image_confined(o, &fd);
	if (rc)
		return rc;
	memset(&params, 0, sizeof(params));
	params.flags = E2Q_QCOW_OPEN_IGNORE_BACKING;
	params.snapshot = o->snapshot;
	err = e2q_qcow_open(fd, &params, &img, &problem);
	if (!err)
		err = e2q_qcow_get_info(img, &info, &problem);
	if (err) {
		rc = e2q_fail_image(E2Q_EXIT_SOURCE, o->source, err, &problem,
				    _("while reading %s"));
		if (o->output_json)
			e2q_json_image_error(o->source, err, &problem);
	} else if (o->output_json) {
		json_info(img, o->source, fd, &info);
	} else {
		print_info(img, o->source, &info);
		e2q_print_qemu_warnings(o->source, img);
		print_report(img);
	}
	e2q_qcow_close(img);
	close(fd);
	return rc;
}
