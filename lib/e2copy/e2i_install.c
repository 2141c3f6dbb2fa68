/*
 * e2i_install.c --- writes an .e2i image's metadata back onto a device, as
 * e2image -I does: the inode tables from the image, then, when the
 * filesystem is closed, the superblock and its backups, the group
 * descriptors and the bitmaps.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "e2q_err.h"
#include "support/full_io.h"
#include "e2copy/e2i_image.h"

#define HDR_OFFSET_INODE	288

/* Fields of an on-disk superblock, for recognising the device's fs. */
#define SB_BLOCKS_LO		4
#define SB_LOG_BLOCK_SIZE	24
#define SB_MAGIC		56
#define SB_INCOMPAT		96
#define SB_UUID			104
#define SB_BLOCKS_HI		0x150

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 |
	       (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static errcode_t read_exact(int fd, void *buf, size_t len, uint64_t offset)
{
	return e2q_pread_full(fd, buf, len, offset, EXT2_ET_SHORT_READ);
}

static void fill_stats(ext2_filsys fs, struct e2q_e2i_install_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->blocks_count = ext2fs_blocks_count(fs->super);
	st->block_size = fs->blocksize;
	st->groups = fs->group_desc_count;
	st->desc_blocks = fs->desc_blocks;
	st->inode_table_blocks = (blk64_t) fs->group_desc_count *
				 fs->inode_blocks_per_group;
	memcpy(st->uuid, fs->super->s_uuid, 16);
}

/* Does the device's primary superblock describe the image's filesystem? */
static errcode_t check_same_fs(int dev_fd, ext2_filsys fs)
{
	unsigned char sb[SUPERBLOCK_SIZE];
	uint64_t blocks;
	errcode_t err;

	err = read_exact(dev_fd, sb, sizeof(sb), SUPERBLOCK_OFFSET);
	if (err == EXT2_ET_SHORT_READ)
		return E2Q_ET_E2I_OTHER_FS;
	if (err)
		return err;
	blocks = get_le32(sb + SB_BLOCKS_LO);
	if (get_le32(sb + SB_INCOMPAT) & EXT4_FEATURE_INCOMPAT_64BIT)
		blocks |= (uint64_t) get_le32(sb + SB_BLOCKS_HI) << 32;
	if (sb[SB_MAGIC] != (EXT2_SUPER_MAGIC & 0xff) ||
	    sb[SB_MAGIC + 1] != (EXT2_SUPER_MAGIC >> 8) ||
	    memcmp(sb + SB_UUID, fs->super->s_uuid, 16) != 0 ||
	    get_le32(sb + SB_LOG_BLOCK_SIZE) != fs->super->s_log_block_size ||
	    blocks != ext2fs_blocks_count(fs->super))
		return E2Q_ET_E2I_OTHER_FS;
	return 0;
}

static errcode_t check_device(const char *device_path, ext2_filsys fs,
			      int flags)
{
	blk64_t dev_blocks = 0;
	errcode_t err;
	int fd;

	err = ext2fs_get_device_size2(device_path, (int) fs->blocksize,
				      &dev_blocks);
	if (err)
		return err;
	if (dev_blocks < ext2fs_blocks_count(fs->super))
		return E2Q_ET_DEVICE_TOO_SMALL;
	if (flags & E2Q_E2I_INSTALL_FORCE)
		return 0;
	fd = open(device_path, O_RDONLY);
	if (fd < 0)
		return errno;
	err = check_same_fs(fd, fs);
	close(fd);
	return err;
}

static errcode_t read_inode_offset(int image_fd, uint64_t *offset)
{
	unsigned char hdr[E2Q_E2I_HEADER_SIZE];
	errcode_t err;

	err = read_exact(image_fd, hdr, sizeof(hdr), 0);
	if (err)
		return err;
	if (get_le32(hdr) != (uint32_t) EXT2_ET_MAGIC_E2IMAGE)
		return EXT2_ET_MAGIC_E2IMAGE;
	*offset = get_le32(hdr + HDR_OFFSET_INODE);
	return 0;
}

struct itable_install {
	ext2_filsys fs;
	int image_fd;
	unsigned char *buf;
};

static errcode_t install_itable_run(blk64_t disk, blk64_t count,
				    uint64_t offset, void *priv)
{
	struct itable_install *c = priv;
	errcode_t err;

	err = read_exact(c->image_fd, c->buf, count * c->fs->blocksize, offset);
	if (!err)
		err = io_channel_write_blk64(c->fs->io, disk, (int) count,
					     c->buf);
	return err;
}

/* Moves fs onto the device, writes the inode tables, then flushes the rest. */
static errcode_t install_onto(ext2_filsys fs, const char *image_path,
			      const char *device_path)
{
	struct itable_install c = { fs, -1, NULL };
	uint64_t itable_offset = 0;
	io_channel io = NULL;
	errcode_t err;

	c.image_fd = open(image_path, O_RDONLY);
	if (c.image_fd < 0)
		return errno;
	err = read_inode_offset(c.image_fd, &itable_offset);
	if (!err)
		err = ext2fs_read_bitmaps(fs);
	if (!err)
		err = ext2fs_get_mem(E2Q_E2I_BATCH_BYTES, &c.buf);
	if (!err)
		err = unix_io_manager->open(device_path, IO_FLAG_RW, &io);
	if (!err)
		err = ext2fs_rewrite_to_io(fs, io);
	if (!err)
		err = e2q_e2i_for_each_itable_run(fs, itable_offset,
						  E2Q_E2I_BATCH_BYTES /
						  fs->blocksize,
						  install_itable_run, &c);
	if (!err)
		err = ext2fs_flush(fs);
	if (io && fs->io != io)
		io_channel_close(io);
	ext2fs_free_mem(&c.buf);
	close(c.image_fd);
	return err;
}

errcode_t e2q_e2i_install(const char *image_path, const char *device_path,
			  int flags, struct e2q_e2i_install_stats *st)
{
	ext2_filsys fs = NULL;
	errcode_t err, close_err;

	err = ext2fs_open2(image_path, NULL,
			   EXT2_FLAG_IMAGE_FILE | EXT2_FLAG_64BITS, 0, 0,
			   unix_io_manager, &fs);
	if (err)
		return err;
	fill_stats(fs, st);
	err = check_device(device_path, fs, flags);
	if (!err && !(flags & E2Q_E2I_INSTALL_DRY_RUN))
		err = install_onto(fs, image_path, device_path);
	if (err) {
		/* nothing more may be written: drop the dirty state */
		fs->flags &= ~EXT2_FLAG_DIRTY;
		ext2fs_free(fs);
		return err;
	}
	close_err = ext2fs_close_free(&fs);
	return close_err;
}
