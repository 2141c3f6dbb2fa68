/*
 * open_source.c --- opens the filesystem a mode reads: a device or image
 * file through unix_io (-o, -b, -B), or a qcow2/qcow image through the qcow
 * io_manager (-l picks a snapshot), so that -Q, -r -s, .e2i and --verify
 * all re-export metadata images as they export devices; and what every mode
 * that reads a filesystem says about it: mounted read-write, damaged.
 */
#include "config.h"

#include <stdio.h>

#include <ext2fs/ext2fs.h>

#include "nls-enable.h"
#include "qcowio/qcow_io.h"
#include "misc/e2qcow.h"

static errcode_t open_with_blocksize(const struct e2q_options *o,
				     int is_qcow, unsigned int bs,
				     ext2_filsys *fs)
{
	int flags = EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS;
	char io_opts[256] = "";

	if (is_qcow && o->snapshot)
		snprintf(io_opts, sizeof(io_opts), "snapshot=%s", o->snapshot);
	else if (o->src_offset_set)
		snprintf(io_opts, sizeof(io_opts), "offset=%llu",
			 (unsigned long long) o->src_offset);
	return ext2fs_open2(o->source, io_opts, flags, (int) o->superblock, bs,
			    is_qcow ? e2q_qcow_io_manager : unix_io_manager, fs);
}

static void report_open_error(const struct e2q_options *o, int is_qcow,
			      errcode_t err)
{
	struct e2q_qcow_problem problem = { NULL, 0 };

	if (is_qcow)
		(void) e2q_qcow_io_last_problem(NULL, &problem);
	e2q_report_image_problem(o->source, err, &problem,
				 _("while opening filesystem %s"));
}

int e2q_open_source_fs(const struct e2q_options *o, ext2_filsys *fs)
{
	int is_qcow = e2q_source_is_qcow(o->source);
	unsigned int bs = o->blocksize;
	errcode_t err;
	int rc;

	/* qemu's locks: not an image that a running VM writes to */
	rc = e2q_refuse_if_image_in_use(o, o->source, -1);
	if (rc)
		return rc;
	if (is_qcow && o->src_offset_set) {
		com_err(e2q_program_name, 0, _("-o cannot be used with the "
					       "qcow image %s"), o->source);
		return E2Q_EXIT_USAGE;
	}
	err = open_with_blocksize(o, is_qcow, bs, fs);
	/* -b without -B: try each block size in turn, as e2fsck does */
	for (bs = EXT2_MIN_BLOCK_SIZE; err && o->superblock && !o->blocksize &&
	     bs <= EXT2_MAX_BLOCK_SIZE; bs *= 2)
		err = open_with_blocksize(o, is_qcow, bs, fs);
	if (err) {
		report_open_error(o, is_qcow, err);
		return E2Q_EXIT_SOURCE;
	}
	return E2Q_EXIT_OK;
}

int e2q_refuse_if_mounted_rw(const struct e2q_options *o)
{
	int mount_flags = 0;

	if (o->force || ext2fs_check_if_mounted(o->source, &mount_flags))
		return E2Q_EXIT_OK;
	if ((mount_flags & EXT2_MF_MOUNTED) && !(mount_flags & EXT2_MF_READONLY)) {
		com_err(e2q_program_name, 0,
			_("%s is mounted read-write: its image would be "
			  "inconsistent (use -f to force)"), o->source);
		return E2Q_EXIT_REFUSED;
	}
	return E2Q_EXIT_OK;
}

void e2q_report_walk_problem(void *source, errcode_t code, ext2_ino_t ino,
			     dgrp_t group)
{
	if (ino)
		com_err(e2q_program_name, code, _("in inode %u of %s"), ino,
			(const char *) source);
	else
		com_err(e2q_program_name, code, _("in group %u of %s"), group,
			(const char *) source);
}
