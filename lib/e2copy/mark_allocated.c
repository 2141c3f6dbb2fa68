/*
 * mark_allocated.c --- what a whole-filesystem copy carries besides the
 * blocks a metadata walk finds: every allocated block, and the backup
 * superblocks and group descriptors (block_copy.h).
 */
#include "config.h"

#include <errno.h>

#include <ext2fs/ext2fs.h>

#include "e2copy/block_copy.h"

/* ORs the allocation bitmap into map, one run at a time. */
static errcode_t mark_allocated_runs(ext2_filsys fs, ext2fs_block_bitmap map)
{
	blk64_t first = fs->super->s_first_data_block;
	blk64_t end = ext2fs_blocks_count(fs->super) - 1, b, z;

	while (first <= end &&
	       !ext2fs_find_first_set_block_bitmap2(fs->block_map, first, end,
						    &b)) {
		if (ext2fs_find_first_zero_block_bitmap2(fs->block_map, b, end,
							 &z))
			z = end + 1;
		first = z;
		while (b < z) {
			blk64_t n = z - b < (1U << 30) ? z - b : (1U << 30);

			ext2fs_mark_block_bitmap_range2(map, b, (unsigned int) n);
			b += n;
		}
	}
	return 0;
}

errcode_t e2q_copy_mark_allocated(ext2_filsys fs, ext2fs_block_bitmap map)
{
	errcode_t err = 0;
	dgrp_t g;

	if (!fs->block_map)
		err = ext2fs_read_block_bitmap(fs);
	if (err)
		return err;
	for (g = 0; g < fs->group_desc_count; g++)
		ext2fs_reserve_super_and_bgd(fs, g, map);
	return mark_allocated_runs(fs, map);
}
