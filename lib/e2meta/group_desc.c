/*
 * group_desc.c --- the group descriptors, held by libext2fs or read in
 * batches from the disk (see group_desc.h).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "e2q_err.h"
#include "e2meta/group_desc.h"

#define BATCH_BYTES	(1U << 20)

/* Offsets in struct ext4_group_desc (little-endian on the disk). */
#define GD_BLOCK_BITMAP		0
#define GD_INODE_BITMAP		4
#define GD_INODE_TABLE		8
#define GD_FLAGS		18
#define GD_ITABLE_UNUSED	28
#define GD_BLOCK_BITMAP_HI	32
#define GD_INODE_BITMAP_HI	36
#define GD_INODE_TABLE_HI	40
#define GD_ITABLE_UNUSED_HI	50
#define GD_SIZE_64BIT		64

static __u32 le16_at(const unsigned char *p)
{
	return (__u32) p[0] | (__u32) p[1] << 8;
}

static __u32 le32_at(const unsigned char *p)
{
	return (__u32) p[0] | (__u32) p[1] << 8 | (__u32) p[2] << 16 |
	       (__u32) p[3] << 24;
}

errcode_t e2q_group_reader_open(ext2_filsys fs, struct e2q_group_reader *r)
{
	memset(r, 0, sizeof(*r));
	r->fs = fs;
	if (fs->group_desc)
		return 0;
	r->capacity = BATCH_BYTES / fs->blocksize;
	if (r->capacity > fs->desc_blocks)
		r->capacity = fs->desc_blocks ? fs->desc_blocks : 1;
	return ext2fs_get_array(r->capacity, fs->blocksize, &r->buf);
}

void e2q_group_reader_close(struct e2q_group_reader *r)
{
	if (r->buf)
		ext2fs_free_mem(&r->buf);
}

static void get_held(ext2_filsys fs, dgrp_t g, struct e2q_group_info *info)
{
	info->block_bitmap = ext2fs_block_bitmap_loc(fs, g);
	info->inode_bitmap = ext2fs_inode_bitmap_loc(fs, g);
	info->inode_table = ext2fs_inode_table_loc(fs, g);
	info->itable_unused = ext2fs_bg_itable_unused(fs, g);
	info->flags = ext2fs_bg_flags(fs, g);
}

/* Reads the batch that starts with descriptor block `block`. */
static errcode_t load_batch(struct e2q_group_reader *r, unsigned long block)
{
	ext2_filsys fs = r->fs;
	blk64_t super = fs->super->s_first_data_block;
	blk64_t first = ext2fs_descriptor_block_loc2(fs, super, block);
	unsigned long n;
	errcode_t err;

	/* contiguous unless meta_bg: as many as follow, up to the buffer */
	for (n = 1; n < r->capacity && block + n < fs->desc_blocks &&
	     ext2fs_descriptor_block_loc2(fs, super, block + n) == first + n;
	     n++)
		;
	r->count = 0;
	err = io_channel_read_blk64(fs->io, first, (int) n, r->buf);
	if (err)
		return err;
	r->first = block;
	r->count = n;
	return 0;
}

static void decode(ext2_filsys fs, const unsigned char *d,
		   struct e2q_group_info *info)
{
	int wide = ext2fs_has_feature_64bit(fs->super) &&
		   EXT2_DESC_SIZE(fs->super) >= GD_SIZE_64BIT;

	info->block_bitmap = le32_at(d + GD_BLOCK_BITMAP);
	info->inode_bitmap = le32_at(d + GD_INODE_BITMAP);
	info->inode_table = le32_at(d + GD_INODE_TABLE);
	info->itable_unused = le16_at(d + GD_ITABLE_UNUSED);
	info->flags = (__u16) le16_at(d + GD_FLAGS);
	if (!wide)
		return;
	info->block_bitmap |= (blk64_t) le32_at(d + GD_BLOCK_BITMAP_HI) << 32;
	info->inode_bitmap |= (blk64_t) le32_at(d + GD_INODE_BITMAP_HI) << 32;
	info->inode_table |= (blk64_t) le32_at(d + GD_INODE_TABLE_HI) << 32;
	info->itable_unused |= le16_at(d + GD_ITABLE_UNUSED_HI) << 16;
}

errcode_t e2q_group_reader_get(struct e2q_group_reader *r, dgrp_t g,
			       struct e2q_group_info *info)
{
	ext2_filsys fs = r->fs;
	unsigned long per_block = EXT2_DESC_PER_BLOCK(fs->super);
	unsigned long block = g / per_block;
	errcode_t err;

	if (g >= fs->group_desc_count)
		return E2Q_ET_RANGE;
	if (fs->group_desc) {
		get_held(fs, g, info);
		return 0;
	}
	if (block < r->first || block - r->first >= r->count) {
		err = load_batch(r, block);
		if (err)
			return err;
	}
	decode(fs, (const unsigned char *) r->buf +
		   (block - r->first) * fs->blocksize +
		   (g % per_block) * EXT2_DESC_SIZE(fs->super), info);
	return 0;
}

/* The first and last block a group's tables may lie in. */
static void table_bounds(ext2_filsys fs, dgrp_t g, blk64_t *first,
			 blk64_t *last)
{
	if (ext2fs_has_feature_flex_bg(fs->super)) {
		*first = fs->super->s_first_data_block;
		*last = ext2fs_blocks_count(fs->super) - 1;
	} else {
		*first = ext2fs_group_first_block2(fs, g);
		*last = ext2fs_group_last_block2(fs, g);
	}
}

/* One group's tables: in bounds, and on no block already taken. */
static errcode_t check_group(ext2_filsys fs, dgrp_t g,
			     const struct e2q_group_info *gi,
			     ext2fs_block_bitmap taken)
{
	blk64_t first, last, b;

	table_bounds(fs, g, &first, &last);
	if (gi->block_bitmap < first || gi->block_bitmap > last ||
	    ext2fs_test_block_bitmap2(taken, gi->block_bitmap))
		return EXT2_ET_GDESC_BAD_BLOCK_MAP;
	ext2fs_mark_block_bitmap2(taken, gi->block_bitmap);
	if (gi->inode_bitmap < first || gi->inode_bitmap > last ||
	    ext2fs_test_block_bitmap2(taken, gi->inode_bitmap))
		return EXT2_ET_GDESC_BAD_INODE_MAP;
	ext2fs_mark_block_bitmap2(taken, gi->inode_bitmap);
	if (gi->inode_table < first ||
	    gi->inode_table + fs->inode_blocks_per_group - 1 > last)
		return EXT2_ET_GDESC_BAD_INODE_TABLE;
	for (b = gi->inode_table;
	     b < gi->inode_table + fs->inode_blocks_per_group; b++) {
		if (ext2fs_test_block_bitmap2(taken, b))
			return EXT2_ET_GDESC_BAD_INODE_TABLE;
		ext2fs_mark_block_bitmap2(taken, b);
	}
	return 0;
}

errcode_t e2q_group_check_desc(ext2_filsys fs)
{
	int saved = fs->default_bitmap_type;
	struct e2q_group_reader r;
	struct e2q_group_info gi;
	ext2fs_block_bitmap taken;
	errcode_t err;
	dgrp_t g;

	if (EXT2_DESC_SIZE(fs->super) & (EXT2_DESC_SIZE(fs->super) - 1))
		return EXT2_ET_BAD_DESC_SIZE;
	fs->default_bitmap_type = EXT2FS_BMAP64_RBTREE;
	err = ext2fs_allocate_subcluster_bitmap(fs, "check_desc map", &taken);
	fs->default_bitmap_type = saved;
	if (err)
		return err;
	for (g = 0; g < fs->group_desc_count; g++)
		ext2fs_reserve_super_and_bgd(fs, g, taken);
	err = e2q_group_reader_open(fs, &r);
	for (g = 0; !err && g < fs->group_desc_count; g++) {
		err = e2q_group_reader_get(&r, g, &gi);
		if (!err)
			err = check_group(fs, g, &gi, taken);
	}
	e2q_group_reader_close(&r);
	ext2fs_free_block_bitmap(taken);
	return err;
}
