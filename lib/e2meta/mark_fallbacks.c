/*
 * mark_fallbacks.c --- blocks e2fsck reads when a structure it needs
 * cannot be trusted, so that e2fsck on the image takes the path it takes
 * on the filesystem.  On a sound filesystem none of them adds a block.
 *
 *  - the journal inode differs from the superblock's copy of its block map
 *    (s_jnl_blocks): e2fsck falls back to that copy (e2fsck/journal.c);
 *  - the root or lost+found is a directory without links: e2fsck still
 *    reads its blocks, to name paths and to find lost+found;
 *  - the group descriptors fail ext2fs_check_desc(): e2fsck retries with
 *    the backup superblock of group 1 and its descriptors, which libext2fs
 *    opens with every UNINIT flag and itable_unused cleared.  That backup
 *    and everything it leads to (every bitmap and whole inode table, the
 *    inodes found there) are marked too.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "e2meta/e2meta_int.h"

/* ---- the journal through s_jnl_blocks ---- */

static int journal_inode_differs(ext2_filsys fs,
				 const struct ext2_inode *inode)
{
	struct ext2_super_block *sb = fs->super;

	return memcmp(inode->i_block, sb->s_jnl_blocks,
		      sizeof(inode->i_block)) != 0 ||
	       inode->i_size != sb->s_jnl_blocks[16] ||
	       inode->i_size_high != sb->s_jnl_blocks[15] ||
	       !LINUX_S_ISREG(inode->i_mode);
}

static void mark_backup_journal(struct walk *w, char *bufs)
{
	ext2_filsys fs = w->fs;
	struct ext2_super_block *sb = fs->super;
	struct ext2_inode *inode = (struct ext2_inode *) &w->inode;

	if (!ext2fs_has_feature_journal(sb) || !sb->s_journal_inum ||
	    sb->s_jnl_backup_type != EXT3_JNL_BACKUP_BLOCKS)
		return;
	if (ext2fs_read_inode(fs, sb->s_journal_inum, inode) == 0 &&
	    !journal_inode_differs(fs, inode))
		return;		/* walked already, as the journal inode */
	/*
	 * e2fsck 1.47 builds an inode of flags 0 around the copy, so an
	 * extent root there is read as block numbers (outside the
	 * filesystem: nothing is read); so is it here.
	 */
	memset(&w->inode, 0, sizeof(w->inode));
	memcpy(inode->i_block, sb->s_jnl_blocks, sizeof(inode->i_block));
	e2q_meta_forget_tree_blocks(w);
	w->ino = sb->s_journal_inum;
	w->all_blocks = 1;
	w->role = E2Q_META_JOURNAL;
	e2q_meta_walk_indirect_tree(w, bufs);
	w->ino = 0;
}

/* ---- root and lost+found without links ---- */

static void mark_unlinked_directory(struct walk *w, ext2_ino_t ino,
				    char *bufs)
{
	struct ext2_inode *inode = (struct ext2_inode *) &w->inode;

	if (!ino || ino > w->fs->super->s_inodes_count ||
	    ext2fs_read_inode_full(w->fs, ino, inode, sizeof(w->inode)) ||
	    inode->i_links_count || !LINUX_S_ISDIR(inode->i_mode))
		return;
	e2q_meta_forget_tree_blocks(w);
	e2q_meta_walk_inode(w, ino, bufs);
	w->stats->inodes_in_use--;	/* not in use */
}

static void mark_unlinked_root_and_lost_found(struct walk *w, char *bufs)
{
	ext2_ino_t lf = 0;

	mark_unlinked_directory(w, EXT2_ROOT_INO, bufs);
	if (ext2fs_lookup(w->fs, EXT2_ROOT_INO, "lost+found", 10, NULL,
			  &lf) == 0)
		mark_unlinked_directory(w, lf, bufs);
}

/* ---- the backup superblock and descriptors ---- */

/* Same geometry: the backup can be walked with the primary's handle. */
static int same_geometry(const struct ext2_super_block *a,
			 const struct ext2_super_block *b)
{
	return a->s_magic == b->s_magic &&
	       a->s_blocks_count == b->s_blocks_count &&
	       a->s_blocks_count_hi == b->s_blocks_count_hi &&
	       a->s_first_data_block == b->s_first_data_block &&
	       a->s_log_block_size == b->s_log_block_size &&
	       a->s_log_cluster_size == b->s_log_cluster_size &&
	       a->s_blocks_per_group == b->s_blocks_per_group &&
	       a->s_clusters_per_group == b->s_clusters_per_group &&
	       a->s_inodes_per_group == b->s_inodes_per_group &&
	       a->s_inodes_count == b->s_inodes_count &&
	       a->s_inode_size == b->s_inode_size &&
	       a->s_desc_size == b->s_desc_size &&
	       a->s_rev_level == b->s_rev_level &&
	       a->s_feature_incompat == b->s_feature_incompat &&
	       a->s_feature_ro_compat == b->s_feature_ro_compat &&
	       a->s_first_meta_bg == b->s_first_meta_bg &&
	       a->s_first_ino == b->s_first_ino;
}

/*
 * Reads the backup superblock at block `sb_blk` and its descriptors into
 * the duplicate handle `dup`; 0 when they could be read and match the
 * primary's geometry.
 */
static int load_backup(ext2_filsys fs, ext2_filsys dup, blk64_t sb_blk)
{
	struct ext2_super_block backup;
	unsigned long j;
	dgrp_t g;

	if (io_channel_read_blk64(fs->io, sb_blk, -SUPERBLOCK_SIZE, &backup))
		return -1;
#ifdef WORDS_BIGENDIAN
	return -1;	/* the descriptors would need swapping: not done */
#endif
	if (!same_geometry(fs->super, &backup))
		return -1;
	for (j = 0; j < fs->desc_blocks; j++) {
		blk64_t blk = ext2fs_descriptor_block_loc2(fs, sb_blk, j);

		if (blk >= ext2fs_blocks_count(fs->super) ||
		    io_channel_read_blk64(fs->io, blk, 1,
					  (char *) dup->group_desc +
					  j * fs->blocksize))
			return -1;
	}
	memcpy(dup->super, &backup, SUPERBLOCK_SIZE);
	/* what ext2fs_open2() does when opening from a backup */
	for (g = 0; g < dup->group_desc_count; g++) {
		ext2fs_bg_flags_clear(dup, g, EXT2_BG_BLOCK_UNINIT);
		ext2fs_bg_flags_clear(dup, g, EXT2_BG_INODE_UNINIT);
		ext2fs_bg_itable_unused_set(dup, g, 0);
		ext2fs_group_desc_csum_set(dup, g);
	}
	return 0;
}

/*
 * ext2fs_check_desc(), as e2fsck calls it, with its map of the metadata
 * blocks in an rbtree: a bit array would cost a bit per block of the
 * filesystem (300 MB on a 9 TiB one) on every export.
 */
static int descriptors_pass_check(ext2_filsys fs)
{
	int saved = fs->default_bitmap_type;
	errcode_t err;

	fs->default_bitmap_type = EXT2FS_BMAP64_RBTREE;
	err = ext2fs_check_desc(fs);
	fs->default_bitmap_type = saved;
	return err == 0 || err == EXT2_ET_NO_MEMORY || err == ENOMEM;
}

static void mark_backup_descriptors(struct walk *w, char *bufs)
{
	ext2_filsys fs = w->fs, dup;
	struct ext2_super_block *sb = fs->super;
	blk64_t sb_blk = (blk64_t) sb->s_first_data_block +
			 sb->s_blocks_per_group;
	struct e2q_meta_stats stats;
	struct e2q_meta_stats *saved_stats = w->stats;

	if (fs->group_desc_count < 2 || w->opts->superblock ||
	    !fs->group_desc || sb_blk >= ext2fs_blocks_count(sb) ||
	    descriptors_pass_check(fs))
		return;
	/* what e2fsck's get_backup_sb() picks when the superblock is sound */
	e2q_meta_mark_superblock(w, sb_blk);
	if (ext2fs_dup_handle(fs, &dup))
		return;
	if (load_backup(fs, dup, sb_blk) == 0) {
		memset(&stats, 0, sizeof(stats));
		w->stats = &stats;
		w->fs = dup;
		w->whole_tables = 1;
		e2q_meta_forget_tree_blocks(w);
		(void) e2q_meta_mark_group_tables(w);
		(void) e2q_meta_walk_inodes(w, bufs);
		w->fs = fs;
		w->stats = saved_stats;
		w->whole_tables = w->opts->whole_inode_tables;
	}
	ext2fs_free(dup);
}

errcode_t e2q_meta_mark_fallbacks(struct walk *w, char *tree_bufs)
{
	struct e2q_meta_options quiet = *w->opts;
	const struct e2q_meta_options *saved = w->opts;
	unsigned int problems = w->stats->problems;

	/* what these walks meet again was reported once already */
	quiet.problem = NULL;
	w->opts = &quiet;
	mark_backup_journal(w, tree_bufs);
	mark_unlinked_root_and_lost_found(w, tree_bufs);
	mark_backup_descriptors(w, tree_bufs);
	w->opts = saved;
	w->stats->problems = problems;
	return 0;
}
