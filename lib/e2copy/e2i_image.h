/*
 * e2i_image.h --- e2image's own "Ext2 Image 1.0" format (.e2i): writing one
 * from an open filesystem, and installing one back onto a device.
 *
 * Layout, as e2image 1.47 writes it and libext2fs (EXT2_FLAG_IMAGE_FILE:
 * dumpe2fs -i, debugfs -i) reads it, every offset a multiple of the block
 * size B and every field little-endian:
 *   0          header (struct ext2_image_hdr, 332 bytes), zero-padded to B
 *   B          the superblock (1024 bytes), zero-padded to B
 *   2B         the group descriptor blocks (fs->desc_blocks of them)
 *   inode      every group's whole inode table, group after group
 *   blockmap   the block (cluster) bitmap of all groups, padded to B
 *   inodemap   the inode bitmap of all groups, padded to B
 * The header's offsets are 32-bit: a filesystem whose inode tables do not
 * fit below 4 GiB cannot be stored (E2Q_ET_E2I_TOO_LARGE), where e2image
 * silently writes a broken image.
 *
 * e2q_e2i_write() reads the inode tables in large batches (groups whose
 * tables are adjacent on disk, as with flex_bg, in one read) and writes
 * through a raw output, so all-zero blocks become holes on a seekable output
 * and a stream gets the zeros.  The caller owns the descriptor and the
 * filesystem.  The identity fields (host, device numbers, time) come from
 * the caller, so it decides what a reproducible image holds.
 *
 * e2q_e2i_install() writes an image's superblock (with its backups), group
 * descriptors, bitmaps and inode tables onto a device, as e2image -I does.
 *
 * Nothing is printed.  Errors: errno values, libext2fs codes, E2Q_ET_*.
 */
#ifndef E2Q_E2I_IMAGE_H
#define E2Q_E2I_IMAGE_H

#include <stdint.h>
#include <ext2fs/ext2fs.h>

#define E2Q_E2I_HEADER_SIZE	332
#define E2Q_E2I_DESCRIPTOR	"Ext2 Image 1.0"

/* Header fields that describe where and when the image was taken. */
struct e2q_e2i_identity {
	char hostname[64];		/* NUL-padded; may be empty */
	char device_name[64];		/* as the user named the source */
	uint32_t fs_device;		/* st_rdev of the source, or 0 */
	uint32_t image_device;		/* st_dev of the image file, or 0 */
	uint32_t image_inode;		/* st_ino of the image file, or 0 */
	uint32_t image_time;		/* seconds since the epoch */
};

/* Byte offsets of the parts of an image, and its total size. */
struct e2q_e2i_layout {
	uint64_t super, inode, blockmap, inodemap, size;
	uint64_t blockmap_bytes, inodemap_bytes;	/* before padding */
};

errcode_t e2q_e2i_plan(ext2_filsys fs, struct e2q_e2i_layout *layout);

/* Size of the batches the image code reads and writes. */
#define E2Q_E2I_BATCH_BYTES	(4U << 20)

/*
 * Calls fn for the inode tables of all groups in group order, as runs of at
 * most max_blocks blocks that are contiguous on disk; image_offset is where
 * the run lies in an image whose tables start at `offset`.
 */
typedef errcode_t (*e2q_e2i_run_fn)(blk64_t disk, blk64_t count,
				    uint64_t image_offset, void *priv);
errcode_t e2q_e2i_for_each_itable_run(ext2_filsys fs, uint64_t offset,
				      blk64_t max_blocks, e2q_e2i_run_fn fn,
				      void *priv);

/* is_stream: fd cannot seek (a pipe, standard output). */
errcode_t e2q_e2i_write(ext2_filsys fs, int fd, int is_stream,
			const struct e2q_e2i_identity *id,
			uint64_t *bytes_written);

/* What installing an image writes (or, with dry_run, would write). */
struct e2q_e2i_install_stats {
	blk64_t blocks_count;		/* filesystem size in blocks */
	unsigned int block_size;
	dgrp_t groups;
	blk64_t desc_blocks;		/* primary group descriptor blocks */
	blk64_t inode_table_blocks;	/* over all groups */
	unsigned char uuid[16];
};

#define E2Q_E2I_INSTALL_DRY_RUN	0x1	/* check everything, write nothing */
#define E2Q_E2I_INSTALL_FORCE	0x2	/* device need not hold the same fs */

/*
 * Opens image_path as an .e2i image and fills *st, then checks the device
 * before anything is written: it must be at least as large as the
 * filesystem (E2Q_ET_DEVICE_TOO_SMALL) and, unless E2Q_E2I_INSTALL_FORCE,
 * its primary superblock must name the same filesystem: same UUID, block
 * size and block count (E2Q_ET_E2I_OTHER_FS).  Then, unless
 * E2Q_E2I_INSTALL_DRY_RUN, writes the image onto it.
 */
errcode_t e2q_e2i_install(const char *image_path, const char *device_path,
			  int flags, struct e2q_e2i_install_stats *st);

#endif /* E2Q_E2I_IMAGE_H */
