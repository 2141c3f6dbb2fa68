/*
 * mode_info.c --- --info IMAGE: what a qcow2 or qcow image says about
 * itself.  A backing file is shown, never opened.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nls-enable.h"
#include "e2q_err.h"
#include "qcow/qcow_check.h"
#include "qcow/qcow_format.h"
#include "qcow/qcow_reader.h"
#include "misc/e2qcow.h"

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
	       in->compression_type == E2Q_QCOW2_COMPRESSION_ZSTD ? "zstd"
								  : "zlib");
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

int e2q_mode_info(const struct e2q_options *o)
{
	struct e2q_qcow_open_params params;
	struct e2q_qcow_problem problem = { NULL, 0 };
	struct e2q_qcow_info info;
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
	params.snapshot = o->snapshot;
	err = e2q_qcow_open(fd, &params, &img, &problem);
	if (!err)
		err = e2q_qcow_get_info(img, &info, &problem);
	if (err)
		e2q_report_image_problem(o->source, err, &problem,
					 _("while reading %s"));
	else
		print_info(img, o->source, &info);
	e2q_qcow_close(img);
	close(fd);
	if (err == ENOMEM)
		return E2Q_EXIT_INTERNAL;
	return err ? E2Q_EXIT_SOURCE : E2Q_EXIT_OK;
}
