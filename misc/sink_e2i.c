/*
 * sink_e2i.c --- the .e2i sink (neither -r nor -Q): e2image's own
 * "Ext2 Image 1.0" format, which dumpe2fs -i and debugfs -i read.
 * lib/e2copy/e2i_write.c owns the format and reads the superblock, bitmaps
 * and inode tables itself: this sink needs no walk and no pass; it writes
 * everything in finish().
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
#include "e2copy/e2i_image.h"
#include "misc/export.h"

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

static enum e2q_exit e2i_dry_run(const struct e2q_export_view *x)
{
	struct e2q_e2i_layout l;
	errcode_t err = e2q_e2i_plan(x->fs, &l);

	if (err)
		return e2q_fail(E2Q_EXIT_OUTPUT, err, _("while planning the "
				"image of %s"), x->opts->source);
	printf(_("%s: an image of %llu bytes would be written: superblock, "
		 "%u group descriptor blocks, %u inode tables, block and "
		 "inode bitmaps\n"), x->opts->source,
	       (unsigned long long) l.size, (unsigned int) x->fs->desc_blocks,
	       x->fs->group_desc_count);
	return E2Q_EXIT_OK;
}

static errcode_t e2i_plan(struct e2q_sink *s, struct e2q_pass *first)
{
	(void) s;
	first->name = NULL;	/* no pass: finish() reads what it needs */
	return 0;
}

static errcode_t e2i_finish(struct e2q_sink *s, uint64_t *bytes_out)
{
	const struct e2q_export_view *x = s->x;
	struct e2q_e2i_identity id;

	fill_identity(x->opts, x->out->fd, &id);
	return e2q_e2i_write(x->fs, x->out->fd, x->out->is_stream, &id,
			     bytes_out);
}

const struct e2q_sink_ops e2q_sink_e2i_ops = {
	.needs_walk = 0,
	.dry_run = e2i_dry_run,
	.size = sizeof(struct e2q_sink),
	.plan = e2i_plan,
	.finish = e2i_finish,
};
