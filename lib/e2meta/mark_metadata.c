/*
 * mark_metadata.c --- marks every metadata block of an ext2/3/4 filesystem.
 *
 * The choice of blocks follows e2image 1.47 (see e2meta.h).  Two things
 * differ in how, not what: extent trees of depth 0 are read straight from the
 * inode and marked as ranges (no per-block callback, the bulk of the walk on
 * a large filesystem), and every block number is checked against the
 * filesystem before it is marked, so a damaged filesystem is reported
 * through the problem callback instead of making libext2fs warn on stderr.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "e2q_err.h"
#include "e2meta/e2meta.h"

#define SCAN_BUFFER_BYTES	(1U << 20)

struct walk {
	ext2_filsys fs;
	const struct e2q_meta_options *opts;
	ext2fs_block_bitmap map;
	struct e2q_meta_stats *stats;
	ext2_ino_t ino;			/* inode being walked, or 0 */
	dgrp_t group;			/* group being marked */
	int all_blocks;			/* mark data blocks of this inode */
	struct ext2_inode_large inode;	/* its copy, for the shortcuts */
};

static void report(struct walk *w, errcode_t code, ext2_ino_t ino, dgrp_t group)
{
	w->stats->problems++;
	if (w->opts->problem)
		w->opts->problem(w->opts->priv, code, ino, group);
}

/* Marks [blk, blk + count) after checking it lies inside the filesystem. */
static int mark_range(struct walk *w, blk64_t blk, blk64_t count)
{
	blk64_t first = w->fs->super->s_first_data_block;
	blk64_t end = ext2fs_blocks_count(w->fs->super);

	if (count == 0)
		return 0;
	if (blk < first || blk >= end || count > end - blk) {
		report(w, EXT2_ET_BAD_BLOCK_NUM, w->ino, w->group);
		return -1;
	}
	ext2fs_mark_block_bitmap_range2(w->map, blk, (unsigned int) count);
	return 0;
}

static void mark_group_tables(struct walk *w, dgrp_t g)
{
	ext2_filsys fs = w->fs;
	int csum = ext2fs_has_group_desc_csum(fs);
	blk64_t itable = ext2fs_inode_table_loc(fs, g);

	w->group = g;
	if (!ext2fs_bg_flags_test(fs, g, EXT2_BG_BLOCK_UNINIT) &&
	    ext2fs_block_bitmap_loc(fs, g))
		mark_range(w, ext2fs_block_bitmap_loc(fs, g), 1);
	if (!ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT) &&
	    ext2fs_inode_bitmap_loc(fs, g))
		mark_range(w, ext2fs_inode_bitmap_loc(fs, g), 1);
	if ((w->opts->whole_inode_tables ||
	     !ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT)) && itable) {
		blk64_t n = fs->inode_blocks_per_group;
		blk64_t unused = 0;

		if (!w->opts->whole_inode_tables && csum)
			unused = ext2fs_bg_itable_unused(fs, g) /
				 EXT2_INODES_PER_BLOCK(fs->super);
		mark_range(w, itable, unused < n ? n - unused : 0);
	}
}

static void mark_fixed_metadata(struct walk *w)
{
	ext2_filsys fs = w->fs;
	blk64_t first = fs->super->s_first_data_block;
	dgrp_t g;
	unsigned long j;

	mark_range(w, first, 1);
	for (j = 0; j < fs->desc_blocks; j++)
		mark_range(w, ext2fs_descriptor_block_loc2(fs, first, j), 1);
	if (ext2fs_has_feature_mmp(fs->super) && fs->super->s_mmp_block)
		mark_range(w, fs->super->s_mmp_block, 1);
	for (g = 0; g < fs->group_desc_count; g++)
		mark_group_tables(w, g);
}

/* Inodes whose every block is metadata, as e2image counts them. */
static int all_blocks_are_metadata(ext2_filsys fs, ext2_ino_t ino,
				   const struct ext2_inode *inode)
{
	struct ext2_super_block *sb = fs->super;

	return LINUX_S_ISDIR(inode->i_mode) || LINUX_S_ISLNK(inode->i_mode) ||
	       ino == sb->s_journal_inum || ino == EXT4_USR_QUOTA_INO ||
	       ino == EXT4_GRP_QUOTA_INO || ino == sb->s_usr_quota_inum ||
	       ino == sb->s_grp_quota_inum || ino == sb->s_prj_quota_inum ||
	       ino == sb->s_orphan_file_inum;
}

static int mark_iterated_block(ext2_filsys fs EXT2FS_ATTR((unused)),
			       blk64_t *block_nr, e2_blkcnt_t blockcnt,
			       blk64_t ref_block EXT2FS_ATTR((unused)),
			       int ref_offset EXT2FS_ATTR((unused)),
			       void *priv)
{
	struct walk *w = priv;

	if (blockcnt < 0 || w->all_blocks)
		mark_range(w, *block_nr, 1);
	return 0;
}

/*
 * A depth-0 extent tree lives in i_block: its leaves are marked as ranges.
 * Returns 1 when handled, 0 when the general iterator must do it.
 */
static int mark_inline_extents(struct walk *w, const struct ext2_inode *inode)
{
	const struct ext3_extent_header *eh = (const void *) inode->i_block;
	const struct ext3_extent *ex = (const void *) (eh + 1);
	unsigned int i, entries = ext2fs_le16_to_cpu(eh->eh_entries);

	if (ext2fs_le16_to_cpu(eh->eh_magic) != EXT3_EXT_MAGIC ||
	    ext2fs_le16_to_cpu(eh->eh_depth) != 0 || entries > 4 ||
	    ext2fs_le16_to_cpu(eh->eh_max) > 4)
		return 0;
	if (!w->all_blocks)
		return 1;
	for (i = 0; i < entries; i++) {
		blk64_t start = ext2fs_le32_to_cpu(ex[i].ee_start) |
			((blk64_t) ext2fs_le16_to_cpu(ex[i].ee_start_hi) << 32);
		unsigned int len = ext2fs_le16_to_cpu(ex[i].ee_len);

		if (len > EXT_INIT_MAX_LEN)
			len -= EXT_INIT_MAX_LEN;
		mark_range(w, start, len);
	}
	return 1;
}

static int has_mapping_blocks(const struct ext2_inode *inode)
{
	return (inode->i_flags & EXT4_EXTENTS_FL) ||
	       inode->i_block[EXT2_IND_BLOCK] || inode->i_block[EXT2_DIND_BLOCK] ||
	       inode->i_block[EXT2_TIND_BLOCK];
}

static void walk_inode_blocks(struct walk *w, char *block_buf)
{
	struct ext2_inode *inode = (struct ext2_inode *) &w->inode;
	errcode_t err;

	w->all_blocks = w->opts->all_data ||
			all_blocks_are_metadata(w->fs, w->ino, inode);
	if (!w->all_blocks && !has_mapping_blocks(inode))
		return;
	if ((inode->i_flags & EXT4_EXTENTS_FL) && mark_inline_extents(w, inode))
		return;
	err = ext2fs_block_iterate3(w->fs, w->ino, BLOCK_FLAG_READ_ONLY,
				    block_buf, mark_iterated_block, w);
	if (err)
		report(w, err, w->ino, 0);
}

/*
 * Shortcuts so that libext2fs takes the inode we already hold instead of
 * reading it again (as e2image does).
 */
static struct walk *current_walk;

static errcode_t held_read_inode(ext2_filsys fs EXT2FS_ATTR((unused)),
				 ext2_ino_t ino, struct ext2_inode *inode)
{
	if (!current_walk || ino != current_walk->ino)
		return EXT2_ET_CALLBACK_NOTHANDLED;
	*inode = *(struct ext2_inode *) &current_walk->inode;
	return 0;
}

static errcode_t held_get_blocks(ext2_filsys fs EXT2FS_ATTR((unused)),
				 ext2_ino_t ino, blk_t *blocks)
{
	if (!current_walk || ino != current_walk->ino)
		return EXT2_ET_CALLBACK_NOTHANDLED;
	memcpy(blocks, current_walk->inode.i_block, sizeof(blk_t) * EXT2_N_BLOCKS);
	return 0;
}

static void use_held_inode(struct walk *w, int on)
{
	current_walk = on ? w : NULL;
	w->fs->read_inode = on ? held_read_inode : NULL;
	w->fs->get_blocks = on ? held_get_blocks : NULL;
}

static errcode_t walk_inodes(struct walk *w, char *block_buf)
{
	ext2_inode_scan scan;
	struct ext2_inode *inode = (struct ext2_inode *) &w->inode;
	int buffer_blocks = (int) (SCAN_BUFFER_BYTES / w->fs->blocksize);
	errcode_t err;
	ext2_ino_t ino;

	err = ext2fs_open_inode_scan(w->fs, buffer_blocks, &scan);
	if (err)
		return err;
	use_held_inode(w, 1);
	for (;;) {
		err = ext2fs_get_next_inode_full(scan, &ino, inode,
						 sizeof(w->inode));
		if (err == EXT2_ET_BAD_BLOCK_IN_INODE_TABLE)
			continue;
		if (err || ino == 0)
			break;
		if (!inode->i_links_count)
			continue;
		w->ino = ino;
		w->stats->inodes_in_use++;
		if (ext2fs_file_acl_block(w->fs, inode))
			mark_range(w, ext2fs_file_acl_block(w->fs, inode), 1);
		if (ext2fs_inode_has_valid_blocks2(w->fs, inode))
			walk_inode_blocks(w, block_buf);
	}
	use_held_inode(w, 0);
	ext2fs_close_inode_scan(scan);
	return err;
}

static errcode_t count_run(blk64_t first EXT2FS_ATTR((unused)), blk64_t count,
			   void *priv)
{
	*(blk64_t *) priv += count;
	return 0;
}

errcode_t e2q_meta_mark(ext2_filsys fs, const struct e2q_meta_options *opts,
			ext2fs_block_bitmap map, struct e2q_meta_stats *stats)
{
	struct walk w;
	char *block_buf;
	errcode_t err;

	memset(&w, 0, sizeof(w));
	memset(stats, 0, sizeof(*stats));
	w.fs = fs;
	w.opts = opts;
	w.map = map;
	w.stats = stats;
	mark_fixed_metadata(&w);
	err = ext2fs_get_array(3, fs->blocksize, &block_buf);
	if (err)
		return err;
	err = walk_inodes(&w, block_buf);
	ext2fs_free_mem(&block_buf);
	if (!err)
		err = e2q_meta_for_each_run(fs, map, ~(blk64_t) 0, count_run,
					    &stats->marked_blocks);
	return err;
}
