/*
 * mode_e2i.c --- the normal image (neither -r nor -Q): e2image's own
 * "Ext2 Image 1.0" format, which dumpe2fs -i and debugfs -i read.
 *
 * With SOURCE_DATE_EPOCH set the image is byte-reproducible: its time is
 * that value and the host name and device numbers are left zero.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "nls-enable.h"
#include "e2q_err.h"
#include "e2copy/e2i_image.h"
#include "misc/e2qcow.h"
#include "misc/output_file.h"

/* SOURCE_DATE_EPOCH as a time, or -1 when unset or not a number. */
static long long source_date_epoch(void)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long t;

	if (!s || !*s)
		return -1;
	errno = 0;
	t = strtoll(s, &end, 10);
	if (errno || *end || t < 0 || t > UINT32_MAX)
		return -1;
	return t;
}

static void fill_identity(const struct e2q_options *o, int fd,
			  struct e2q_e2i_identity *id)
{
	long long epoch = source_date_epoch();
	struct stat st;

	memset(id, 0, sizeof(*id));
	snprintf(id->device_name, sizeof(id->device_name), "%s", o->source);
	if (epoch >= 0) {
		id->image_time = (uint32_t) epoch;
		return;
	}
	if (gethostname(id->hostname, sizeof(id->hostname) - 1) < 0)
		id->hostname[0] = 0;
	if (stat(o->source, &st) == 0)
		id->fs_device = (uint32_t) st.st_rdev;
	if (fstat(fd, &st) == 0) {
		id->image_device = (uint32_t) st.st_dev;
		id->image_inode = (uint32_t) st.st_ino;
	}
	id->image_time = (uint32_t) time(NULL);
}

static int report_plan(const struct e2q_options *o, ext2_filsys fs)
{
	struct e2q_e2i_layout l;
	errcode_t err = e2q_e2i_plan(fs, &l);

	if (err) {
		com_err(e2q_program_name, err, _("while planning the image of %s"),
			o->source);
		return E2Q_EXIT_OUTPUT;
	}
	printf(_("%s: an image of %llu bytes would be written: superblock, "
		 "%u group descriptor blocks, %u inode tables, block and "
		 "inode bitmaps\n"), o->source, (unsigned long long) l.size,
	       (unsigned int) fs->desc_blocks, fs->group_desc_count);
	return E2Q_EXIT_OK;
}

static int write_e2i(const struct e2q_options *o, ext2_filsys fs)
{
	struct e2q_e2i_identity id;
	struct e2q_output out;
	uint64_t bytes = 0;
	errcode_t err;
	int rc;

	rc = e2q_output_open(o->dest, o->source, 0, &out);
	if (rc)
		return rc;
	fill_identity(o, out.fd, &id);
	err = e2q_e2i_write(fs, out.fd, out.is_stream, &id, &bytes);
	if (err) {
		com_err(e2q_program_name, err, _("while writing %s"), o->dest);
		e2q_output_abort(&out);
		return err == ENOMEM ? E2Q_EXIT_INTERNAL : E2Q_EXIT_OUTPUT;
	}
	rc = e2q_output_commit(&out);
	if (!rc && o->progress)
		fprintf(stderr, _("Wrote %llu bytes of metadata to %s\n"),
			(unsigned long long) bytes, o->dest);
	return rc;
}

int e2q_mode_e2i(const struct e2q_options *o)
{
	ext2_filsys fs = NULL;
	int rc;

	if (o->all_data) {
		com_err(e2q_program_name, 0, "%s",
			_("-a is only allowed with -r or -Q"));
		return E2Q_EXIT_USAGE;
	}
	rc = e2q_refuse_if_mounted_rw(o);
	if (!rc)
		rc = e2q_open_source_fs(o, &fs);
	if (!rc)
		rc = o->dry_run ? report_plan(o, fs) : write_e2i(o, fs);
	if (fs)
		ext2fs_close_free(&fs);
	return rc;
}
