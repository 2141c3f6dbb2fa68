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
#include "e2meta/group_desc.h"
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

/* "offset=N" or "snapshot=NAME" for the io_manager, or "" */
static void io_options_of(const struct e2q_options *o, int is_qcow,
			  char *io_opts, size_t size)
{
	io_opts[0] = 0;
	if (is_qcow && o->snapshot)
		snprintf(io_opts, size, "snapshot=%s", o->snapshot);
	else if (o->src_offset_set)
		snprintf(io_opts, size, "offset=%llu",
			 (unsigned long long) o->src_offset);
}

static io_manager io_manager_of(int is_qcow)
{
	return is_qcow ? e2q_qcow_io_manager : unix_io_manager;
}

/*
 * EXT2_FLAG_THREADS: the channel may be read from several threads at once
 * (-s scrambles and names beside the pass); unix_io then locks its cache.
 */
static errcode_t open_at(const struct e2q_options *o, int is_qcow, int flags,
			 blk64_t superblock, unsigned int bs, ext2_filsys *fs)
{
	char io_opts[256];

	io_options_of(o, is_qcow, io_opts, sizeof(io_opts));
	*fs = NULL;
	return ext2fs_open2(o->source, io_opts, flags | EXT2_FLAG_THREADS,
			    (int) superblock, bs, io_manager_of(is_qcow), fs);
}

/* The modes that walk with e2q_meta_mark() read an external journal too */
static int journal_device_ok(const struct e2q_options *o)
{
	return o->action == E2Q_DO_EXPORT_QCOW2 ||
	       o->action == E2Q_DO_EXPORT_RAW || o->action == E2Q_DO_VERIFY;
}

static errcode_t open_with_blocksize(const struct e2q_options *o,
				     int is_qcow, blk64_t superblock,
				     unsigned int bs, ext2_filsys *fs)
{
	int flags = EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS;
	errcode_t err;

	if (journal_device_ok(o))
		flags |= EXT2_FLAG_JOURNAL_DEV_OK;
	if (descriptors_on_demand(o) && !superblock)
		flags |= EXT2_FLAG_SUPER_ONLY;
	err = open_at(o, is_qcow, flags, superblock, bs, fs);
	if (!err)
		err = check_descriptors_readable(*fs);
	if (err && *fs)
		ext2fs_close_free(fs);
	return err;
}

/* ---- the superblock e2fsck would use (e2fsck/unix.c, util.c, 1.47) ---- */

/* The superblock and block size a filesystem is opened from. */
struct choice {
	blk64_t superblock;	/* 0: the primary */
	unsigned int blocksize;	/* 0 with the primary */
	errcode_t why;		/* what is wrong with the primary */
	int descriptors;	/* its group descriptors, not the superblock */
};

/* The flags of e2fsck -n's first open: checksums are verified. */
#define E2FSCK_OPEN_FLAGS	(EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP)

/* Reads SUPERBLOCK_SIZE bytes at block blk of bs bytes; 0 when read. */
static int read_superblock_at(io_channel io, unsigned int bs, blk64_t blk,
			      unsigned char *sb)
{
	return io_channel_set_blksize(io, (int) bs) ||
	       io_channel_read_blk64(io, blk, -SUPERBLOCK_SIZE, sb) ? -1 : 0;
}

static unsigned int le32_at(const unsigned char *p)
{
	return p[0] | p[1] << 8 | (unsigned int) p[2] << 16 |
	       (unsigned int) p[3] << 24;
}

/* The block size a superblock's s_log_block_size gives, 0 if illegal. */
static unsigned int block_size_of(const unsigned char *sb)
{
	unsigned int log = le32_at(sb + 24);

	if ((sb[56] | sb[57] << 8) != EXT2_SUPER_MAGIC ||
	    log > EXT2_MAX_BLOCK_LOG_SIZE - EXT2_MIN_BLOCK_LOG_SIZE)
		return 0;
	return (unsigned int) EXT2_MIN_BLOCK_SIZE << log;
}

static errcode_t open_source_io(const struct e2q_options *o, int is_qcow,
				io_channel *io)
{
	char io_opts[256];
	errcode_t err;

	io_options_of(o, is_qcow, io_opts, sizeof(io_opts));
	*io = NULL;
	err = io_manager_of(is_qcow)->open(o->source, 0, io);
	if (!err && io_opts[0])
		err = io_channel_set_options(*io, io_opts);
	if (err && *io) {
		io_channel_close(*io);
		*io = NULL;
	}
	return err;
}

/*
 * get_backup_sb() when the primary does not open: the first block size
 * whose backup of group 1 (block bs * 8, 8193 for 1 KiB) holds a
 * superblock of that block size; 8193 with 1 KiB blocks when none does.
 */
static void probe_backup(const struct e2q_options *o, int is_qcow,
			 struct choice *c)
{
	unsigned char sb[SUPERBLOCK_SIZE];
	io_channel io;
	unsigned int bs;

	c->superblock = 8193;
	c->blocksize = EXT2_MIN_BLOCK_SIZE;
	if (open_source_io(o, is_qcow, &io))
		return;
	for (bs = EXT2_MIN_BLOCK_SIZE; bs <= EXT2_MAX_BLOCK_SIZE; bs *= 2) {
		blk64_t blk = bs * 8 + (bs == EXT2_MIN_BLOCK_SIZE);

		if (!read_superblock_at(io, bs, blk, sb) &&
		    block_size_of(sb) == bs) {
			c->superblock = blk;
			c->blocksize = bs;
			break;
		}
	}
	io_channel_close(io);
}

/*
 * e2fsck's second try ("Trying to load superblock despite errors") opens
 * the primary ignoring its errors, finds its group descriptors bad and
 * takes the backup of group 1 in the primary's geometry.  libext2fs may
 * divide by zero on such a superblock (s_desc_size 0), so the geometry is
 * read here instead: the backup at s_blocks_per_group +
 * s_first_data_block, in s_log_block_size's blocks.
 */
static void backup_in_primary_geometry(const struct e2q_options *o,
				       int is_qcow, struct choice *c)
{
	unsigned char sb[SUPERBLOCK_SIZE];
	io_channel io;
	unsigned int bs;

	if (open_source_io(o, is_qcow, &io))
		return;
	if (!read_superblock_at(io, SUPERBLOCK_OFFSET, 1, sb)) {
		bs = block_size_of(sb);
		if (bs && le32_at(sb + 32)) {
			c->superblock = (blk64_t) le32_at(sb + 32) +
					le32_at(sb + 20);
			c->blocksize = bs;
		}
	}
	io_channel_close(io);
}

static int primary_is_unusable(errcode_t err)
{
	return err == EXT2_ET_BAD_MAGIC || err == EXT2_ET_SB_CSUM_INVALID ||
	       err == EXT2_ET_CORRUPT_SUPERBLOCK;
}

/*
 * ext2fs_check_desc() marks every group's superblock and descriptors in a
 * bitmap of the whole filesystem: an rbtree (as e2fsck's default) costs a
 * few extents where a bit array costs a bit per block.
 */
static errcode_t check_desc_sparsely(ext2_filsys fs)
{
	unsigned short saved = fs->default_bitmap_type;
	errcode_t err;

	if (!fs->group_desc)	/* EXT2_FLAG_SUPER_ONLY */
		return e2q_group_check_desc(fs);
	fs->default_bitmap_type = EXT2FS_BMAP64_RBTREE;
	err = ext2fs_check_desc(fs);
	fs->default_bitmap_type = saved;
	return err;
}

/*
 * One open as e2fsck's: the primary; when it is unusable or its group
 * descriptors look bad (and there is more than one group), the backup
 * e2fsck looks for.  1 when that backup opens (c filled), else 0 with
 * *err the primary's error.  A primary without fault is kept open in
 * *healthy (may be NULL), so that it is not opened twice.
 */
static int e2fsck_would_use_backup(const struct e2q_options *o, int is_qcow,
				   int flags, struct choice *c,
				   errcode_t *err, ext2_filsys *healthy)
{
	errcode_t desc_err = 0;
	ext2_filsys fs;
	int multi;

	if (descriptors_on_demand(o))
		flags |= EXT2_FLAG_SUPER_ONLY;
	*err = open_at(o, is_qcow, flags, 0, 0, &fs);
	if (!*err)
		desc_err = check_desc_sparsely(fs);
	multi = fs && fs->group_desc_count > 1;
	if (!*err && desc_err && desc_err != ENOMEM &&
	    desc_err != EXT2_ET_NO_MEMORY && multi) {
		c->superblock = fs->super->s_blocks_per_group +
				fs->super->s_first_data_block;
		c->blocksize = fs->blocksize;
		c->why = desc_err;
		c->descriptors = 1;
	} else if (primary_is_unusable(*err)) {
		probe_backup(o, is_qcow, c);
		c->why = *err;
	} else if (!*err && !desc_err && healthy) {
		*healthy = fs;
		return 0;
	}
	if (fs)
		ext2fs_close_free(&fs);
	if (!c->superblock)
		return 0;
	if (open_at(o, is_qcow, flags, c->superblock, c->blocksize, &fs) == 0) {
		ext2fs_close_free(&fs);
		return 1;
	}
	if (fs)
		ext2fs_close_free(&fs);
	c->superblock = 0;
	c->blocksize = 0;
	return 0;
}

/*
 * The superblock e2fsck -n opens SOURCE from: the primary, or the backup
 * it falls back to, at its first try or at its second
 * (backup_in_primary_geometry()).
 */
static void choose_as_e2fsck(const struct e2q_options *o, int is_qcow,
			     struct choice *c, ext2_filsys *healthy)
{
	ext2_filsys fs;
	errcode_t err;

	memset(c, 0, sizeof(*c));
	if (e2fsck_would_use_backup(o, is_qcow, E2FSCK_OPEN_FLAGS, c, &err,
				    healthy) || *healthy)
		return;
	if (err != EXT2_ET_CORRUPT_SUPERBLOCK && err != EXT2_ET_BAD_DESC_SIZE)
		return;
	backup_in_primary_geometry(o, is_qcow, c);
	if (!c->superblock)
		return;
	c->why = err;
	if (open_at(o, is_qcow, E2FSCK_OPEN_FLAGS, c->superblock, c->blocksize,
		    &fs) == 0) {
		ext2fs_close_free(&fs);
		return;
	}
	if (fs)
		ext2fs_close_free(&fs);
	memset(c, 0, sizeof(*c));
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

/* -b SUPERBLOCK: with -B, or each block size in turn, as e2fsck does. */
static errcode_t open_given_backup(const struct e2q_options *o, int is_qcow,
				   ext2_filsys *fs)
{
	unsigned int bs = o->blocksize;
	errcode_t err;

	err = open_with_blocksize(o, is_qcow, o->superblock, bs, fs);
	for (bs = EXT2_MIN_BLOCK_SIZE; err && !o->blocksize &&
	     bs <= EXT2_MAX_BLOCK_SIZE; bs *= 2)
		err = open_with_blocksize(o, is_qcow, o->superblock, bs, fs);
	return err;
}

/* Without -b: the primary, or the backup e2fsck would fall back to. */
static errcode_t open_as_e2fsck(const struct e2q_options *o, int is_qcow,
				ext2_filsys *fs, blk64_t *superblock)
{
	ext2_filsys healthy = NULL;
	struct choice c;
	errcode_t err;

	choose_as_e2fsck(o, is_qcow, &c, &healthy);
	if (healthy) {		/* as open_with_blocksize() would open it */
		healthy->flags |= EXT2_FLAG_IGNORE_CSUM_ERRORS;
		err = check_descriptors_readable(healthy);
		if (err)
			ext2fs_close_free(&healthy);
		*fs = healthy;
		return err;
	}
	if (c.superblock &&
	    !open_with_blocksize(o, is_qcow, c.superblock, c.blocksize, fs)) {
		*superblock = c.superblock;
		(void) e2q_fail(E2Q_EXIT_DAMAGED, c.why, c.descriptors ?
				_("in the primary group descriptors of %s: "
				  "using the backup superblock %llu "
				  "(%u-byte blocks), as e2fsck does") :
				_("in the primary superblock of %s: using the "
				  "backup superblock %llu (%u-byte blocks), as "
				  "e2fsck does"), o->source,
				(unsigned long long) c.superblock, c.blocksize);
		return 0;
	}
	err = open_with_blocksize(o, is_qcow, 0, 0, fs);
	return err;
}

enum e2q_exit e2q_open_source_fs(const struct e2q_options *o, ext2_filsys *fs,
				 blk64_t *superblock)
{
	int is_qcow = o->source_is_qcow;
	blk64_t found = 0;
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
	if (o->superblock) {
		err = open_given_backup(o, is_qcow, fs);
		found = o->superblock;
	} else {
		err = open_as_e2fsck(o, is_qcow, fs, &found);
	}
	if (superblock)
		*superblock = err ? 0 : found;
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

	/* --freeze makes a mounted filesystem hold still */
	if (o->force || o->freeze ||
	    ext2fs_check_if_mounted(o->source, &mount_flags))
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
