/*
 * open_source.c --- the block source of every mode that reads a filesystem
 * (see open_source.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "nls-enable.h"
#include "qcowio/qcow_io.h"
#include "misc/e2qcow.h"
#include "misc/open_source.h"

#define DESC_BATCH_BYTES	(1U << 20)

/*
 * The modes that walk the metadata (-Q, -r, --verify) leave the group
 * descriptors on the disk: libext2fs reads each one when it is asked for
 * (ext2fs_group_desc() with fs->group_desc NULL), so that memory does not
 * grow with the filesystem (52 MB of descriptors at 100 TiB).  The .e2i
 * writer copies them whole and -ra reads the bitmaps: they hold them.  From
 * a backup superblock (-b) libext2fs clears the UNINIT flags only in
 * descriptors it holds.
 */
static int descriptors_on_demand(const struct e2q_options *o)
{
	if (o->superblock)
		return 0;
	return o->action == E2Q_DO_EXPORT_QCOW2 ||
	       o->action == E2Q_DO_EXPORT_RAW || o->action == E2Q_DO_VERIFY;
}

/*
 * ext2fs_group_desc() returns NULL, and its callers crash, when a
 * descriptor block cannot be read: every one is read once here, where a
 * failure is an error of the open, as when they are held.
 */
static errcode_t check_descriptors_readable(ext2_filsys fs)
{
	blk64_t super = fs->super->s_first_data_block;
	unsigned int batch = DESC_BATCH_BYTES / fs->blocksize;
	unsigned long i, n;
	char *buf = NULL;
	errcode_t err;

	if (fs->group_desc)
		return 0;
	err = ext2fs_get_array(batch, fs->blocksize, &buf);
	for (i = 0; !err && i < fs->desc_blocks; i += n) {
		blk64_t first = ext2fs_descriptor_block_loc2(fs, super, i);

		/* contiguous unless meta_bg: read as many as follow */
		for (n = 1; n < batch && i + n < fs->desc_blocks &&
		     ext2fs_descriptor_block_loc2(fs, super, i + n) == first + n;
		     n++)
			;
		err = io_channel_read_blk64(fs->io, first, (int) n, buf);
	}
	if (buf)
		ext2fs_free_mem(&buf);
	return err;
}

static errcode_t open_with_blocksize(const struct e2q_options *o,
				     int is_qcow, unsigned int bs,
				     ext2_filsys *fs)
{
	int flags = EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS;
	errcode_t err;
	char io_opts[256] = "";

	if (is_qcow && o->snapshot)
		snprintf(io_opts, sizeof(io_opts), "snapshot=%s", o->snapshot);
	else if (o->src_offset_set)
		snprintf(io_opts, sizeof(io_opts), "offset=%llu",
			 (unsigned long long) o->src_offset);
	if (descriptors_on_demand(o))
		flags |= EXT2_FLAG_SUPER_ONLY;
	*fs = NULL;
	err = ext2fs_open2(o->source, io_opts, flags, (int) o->superblock, bs,
			   is_qcow ? e2q_qcow_io_manager : unix_io_manager, fs);
	if (!err)
		err = check_descriptors_readable(*fs);
	if (err && *fs)
		ext2fs_close_free(fs);
	return err;
}

static enum e2q_exit report_open_error(const struct e2q_options *o,
				       errcode_t err)
{
	struct e2q_qcow_problem problem = { NULL, 0 };

	if (o->source_is_qcow)
		(void) e2q_qcow_io_last_problem(NULL, &problem);
	return e2q_fail_image(E2Q_EXIT_SOURCE, o->source, err, &problem,
			      _("while opening filesystem %s"));
}

enum e2q_exit e2q_open_source_fs(const struct e2q_options *o, ext2_filsys *fs)
{
	int is_qcow = o->source_is_qcow;
	unsigned int bs = o->blocksize;
	errcode_t err;

	if (is_qcow && o->src_offset_set)
		return e2q_fail(E2Q_EXIT_USAGE, 0, _("-o cannot be used with "
				"the qcow image %s"), o->source);
	/* qemu's locks: not an image that a running VM writes to (a qcow
	 * SOURCE was tested when it was pre-opened) */
	if (!is_qcow) {
		enum e2q_exit rc = e2q_refuse_if_image_in_use(o, o->source, -1);

		if (rc)
			return rc;
	}
	err = open_with_blocksize(o, is_qcow, bs, fs);
	/* -b without -B: try each block size in turn, as e2fsck does */
	for (bs = EXT2_MIN_BLOCK_SIZE; err && o->superblock && !o->blocksize &&
	     bs <= EXT2_MAX_BLOCK_SIZE; bs *= 2)
		err = open_with_blocksize(o, is_qcow, bs, fs);
	return err ? report_open_error(o, err) : E2Q_EXIT_OK;
}

enum e2q_exit e2q_preopen_qcow_source(const struct e2q_options *o, int *fd)
{
	*fd = -1;
	if (!o->source_is_qcow)
		return E2Q_EXIT_OK;
	*fd = open(o->source, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return e2q_fail(E2Q_EXIT_SOURCE, errno, _("while opening %s"),
				o->source);
	e2q_qcow_io_use_fd(o->source, *fd);
	/* qemu's locks: not an image that a running VM writes to */
	return e2q_refuse_if_image_in_use(o, o->source, *fd);
}

void e2q_release_qcow_source(int fd)
{
	if (fd < 0)
		return;
	e2q_qcow_io_use_fd(NULL, -1);
	close(fd);
}

enum e2q_exit e2q_refuse_if_mounted_rw(const struct e2q_options *o)
{
	int mount_flags = 0;

	if (o->force || ext2fs_check_if_mounted(o->source, &mount_flags))
		return E2Q_EXIT_OK;
	if ((mount_flags & EXT2_MF_MOUNTED) && !(mount_flags & EXT2_MF_READONLY))
		return e2q_fail(E2Q_EXIT_REFUSED, 0, _("%s is mounted "
				"read-write: its image would be inconsistent "
				"(use -f to force)"), o->source);
	return E2Q_EXIT_OK;
}

void e2q_report_walk_problem(void *source, errcode_t code, ext2_ino_t ino,
			     dgrp_t group)
{
	if (ino)
		(void) e2q_fail(E2Q_EXIT_DAMAGED, code, _("in inode %u of %s"),
				ino, (const char *) source);
	else
		(void) e2q_fail(E2Q_EXIT_DAMAGED, code, _("in group %u of %s"),
				group, (const char *) source);
}
