/*
 * mark_metadata.c --- marks every metadata block of an ext2/3/4 filesystem.
 *
 * The choice of blocks follows e2image 1.47 (see e2meta.h).  What differs is
 * how: block maps are walked by walk_trees.c (ranges, no loops), and every
 * block number is checked against the filesystem before it is marked, so a
 * damaged filesystem is reported through the problem callback instead of
 * making libext2fs warn on stderr, loop, or read past the end.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "e2q_err.h"
#include "e2meta/e2meta_int.h"
#include "e2meta/group_desc.h"

#define SCAN_BUFFER_BYTES	(256U << 10)

void e2q_meta_report(struct walk *w, errcode_t code)
{
	if (code == w->last_code && w->ino == w->last_ino &&
	    w->group == w->last_group)
		return;		/* once per problem, not once per block */
	w->last_code = code;
	w->last_ino = w->ino;
	w->last_group = w->group;
	w->stats->problems++;
	if (w->opts->problem)
		w->opts->problem(w->opts->priv, code, w->ino, w->group);
}

static int inside_filesystem(ext2_filsys fs, blk64_t blk, blk64_t count)
{
	blk64_t first = fs->super->s_first_data_block;
	blk64_t end = ext2fs_blocks_count(fs->super);

	return blk >= first && blk < end && count <= end - blk;
}

/* Marks [blk, blk + count) after checking it lies inside the filesystem. */
int e2q_meta_mark_range(struct walk *w, blk64_t blk, blk64_t count)
{
	if (count == 0)
		return 0;
	if (!inside_filesystem(w->fs, blk, count)) {
		e2q_meta_report(w, EXT2_ET_BAD_BLOCK_NUM);
		return -1;
	}
	while (count) {		/* the bitmap takes an unsigned int count */
		unsigned int n = count > (1U << 30) ? 1U << 30 : (unsigned int) count;

		ext2fs_mark_block_bitmap_range2(w->map, blk, n);
		blk += n;
		count -= n;
	}
	return 0;
}

/* Marks data blocks of the current inode when they are metadata. */
void e2q_meta_mark_data(struct walk *w, blk64_t blk, blk64_t count)
{
	if (!w->all_blocks || e2q_meta_mark_range(w, blk, count))
		return;
	if (w->role == E2Q_META_DIR)
		e2q_meta_note_dir_blocks(w, blk, count);
	if (w->opts->role)
		w->opts->role(w->opts->role_priv, blk, count,
			      w->role ? w->role : E2Q_META_FILE_DATA, w->ino);
}

/*
 * Marked blocks come in runs (inode tables, directories, trees): an rbtree
 * bitmap holds each run in one node, where a bit array would cost a bit per
 * block of the filesystem (3.2 GiB for 100 TiB of 4 KiB blocks).
 */
static errcode_t allocate_rbtree(ext2_filsys fs, int per_block,
				 const char *descr, ext2fs_block_bitmap *ret)
{
	int saved = fs->default_bitmap_type;
	errcode_t err;

	fs->default_bitmap_type = EXT2FS_BMAP64_RBTREE;
	if (per_block)
		err = ext2fs_allocate_subcluster_bitmap(fs, descr, ret);
	else
		err = ext2fs_allocate_block_bitmap(fs, descr, ret);
	fs->default_bitmap_type = saved;
	return err;
}

/*
 * Tree blocks are few and clustered: an rbtree bitmap holds them in a few
 * KiB where a bit array would cost a bit per block of the filesystem.
 */
static errcode_t allocate_sparse_bitmap(ext2_filsys fs,
					ext2fs_block_bitmap *ret)
{
	return allocate_rbtree(fs, 1, "walked tree blocks", ret);
}

/* Frees the maps of walked tree blocks: the next walk starts afresh. */
void e2q_meta_forget_tree_blocks(struct walk *w)
{
	unsigned int i;

	for (i = 0; i < E2Q_META_TREE_LEVELS; i++) {
		if (w->mapping_seen[i])
			ext2fs_free_block_bitmap(w->mapping_seen[i]);
		w->mapping_seen[i] = NULL;
	}
}

/*
 * Marks a block of an extent or indirect tree met at `level`; returns 0 when
 * it may be read and walked, -1 when it lies outside or was walked at that
 * level already (a loop).
 */
int e2q_meta_claim_mapping_block(struct walk *w, blk64_t blk,
				 unsigned int level)
{
	ext2fs_block_bitmap *seen;

	if (e2q_meta_mark_range(w, blk, 1))
		return -1;
	if (level >= E2Q_META_TREE_LEVELS)
		return -1;
	seen = &w->mapping_seen[level];
	if (!*seen && allocate_sparse_bitmap(w->fs, seen)) {
		e2q_meta_report(w, EXT2_ET_NO_MEMORY);
		return -1;
	}
	if (ext2fs_fast_test_block_bitmap2(*seen, blk)) {
		e2q_meta_report(w, E2Q_ET_META_TREE_LOOP);
		return -1;
	}
	ext2fs_fast_mark_block_bitmap2(*seen, blk);
	if (w->opts->role)
		w->opts->role(w->opts->role_priv, blk, 1, E2Q_META_TREE,
			      w->ino);
	return 0;
}

/*
 * A group whose descriptor checksum is wrong: libext2fs (and so e2fsck)
 * does not trust its BLOCK_UNINIT and INODE_UNINIT flags and reads its
 * bitmaps anyway; its itable_unused is not trusted either.
 */
static int group_flags_untrusted(struct walk *w, dgrp_t g)
{
	return w->whole_tables ||
	       (ext2fs_has_group_desc_csum(w->fs) &&
		!ext2fs_group_desc_csum_verify(w->fs, g));
}

static void mark_group_tables(struct walk *w, dgrp_t g,
			      const struct e2q_group_info *gi)
{
	ext2_filsys fs = w->fs;
	int csum = ext2fs_has_group_desc_csum(fs);
	int untrusted = group_flags_untrusted(w, g);

	w->group = g;
	if ((untrusted || !(gi->flags & EXT2_BG_BLOCK_UNINIT)) &&
	    gi->block_bitmap)
		e2q_meta_mark_range(w, gi->block_bitmap, 1);
	if ((untrusted || !(gi->flags & EXT2_BG_INODE_UNINIT)) &&
	    gi->inode_bitmap)
		e2q_meta_mark_range(w, gi->inode_bitmap, 1);
	if ((untrusted || !(gi->flags & EXT2_BG_INODE_UNINIT)) &&
	    gi->inode_table) {
		blk64_t n = fs->inode_blocks_per_group;
		blk64_t unused = 0;

		if (!untrusted && csum)
			unused = gi->itable_unused /
				 EXT2_INODES_PER_BLOCK(fs->super);
		e2q_meta_mark_range(w, gi->inode_table,
				    unused < n ? n - unused : 0);
	}
}

errcode_t e2q_meta_mark_group_tables(struct walk *w)
{
	struct e2q_group_reader gr;
	struct e2q_group_info gi;
	errcode_t err;
	dgrp_t g;

	err = e2q_group_reader_open(w->fs, &gr);
	for (g = 0; !err && g < w->fs->group_desc_count; g++) {
		err = e2q_group_reader_get(&gr, g, &gi);
		if (!err)
			mark_group_tables(w, g, &gi);
	}
	e2q_group_reader_close(&gr);
	return err;
}

/* A superblock and the group descriptors that follow it. */
void e2q_meta_mark_superblock(struct walk *w, blk64_t super)
{
	unsigned long j;

	e2q_meta_mark_range(w, super, 1);
	for (j = 0; j < w->fs->desc_blocks; j++)
		e2q_meta_mark_range(w, ext2fs_descriptor_block_loc2(w->fs, super,
								     j), 1);
}

static errcode_t mark_fixed_metadata(struct walk *w)
{
	ext2_filsys fs = w->fs;

	e2q_meta_mark_superblock(w, fs->super->s_first_data_block);
	if (w->opts->superblock)
		e2q_meta_mark_superblock(w, w->opts->superblock);
	if (ext2fs_has_feature_mmp(fs->super) && fs->super->s_mmp_block)
		e2q_meta_mark_range(w, fs->super->s_mmp_block, 1);
	return e2q_meta_mark_group_tables(w);
}

/*
 * Inodes whose every block is metadata, as e2image counts them, and the
 * values of extended attributes stored in inodes (ea_inode), whose hash
 * e2fsck checks.
 */
static int all_blocks_are_metadata(ext2_filsys fs, ext2_ino_t ino,
				   const struct ext2_inode *inode)
{
	struct ext2_super_block *sb = fs->super;

	return LINUX_S_ISDIR(inode->i_mode) || LINUX_S_ISLNK(inode->i_mode) ||
	       ((inode->i_flags & EXT4_EA_INODE_FL) &&
		ext2fs_has_feature_ea_inode(sb)) ||
	       ino == sb->s_journal_inum || ino == EXT4_USR_QUOTA_INO ||
	       ino == EXT4_GRP_QUOTA_INO || ino == sb->s_usr_quota_inum ||
	       ino == sb->s_grp_quota_inum || ino == sb->s_prj_quota_inum ||
	       ino == sb->s_orphan_file_inum;
}

static enum e2q_meta_role data_role(ext2_filsys fs, ext2_ino_t ino,
				    const struct ext2_inode *inode)
{
	if (LINUX_S_ISDIR(inode->i_mode))
		return E2Q_META_DIR;
	if (LINUX_S_ISLNK(inode->i_mode))
		return E2Q_META_SYMLINK;
	if (ino == fs->super->s_journal_inum)
		return E2Q_META_JOURNAL;
	if ((inode->i_flags & EXT4_EA_INODE_FL) &&
	    ext2fs_has_feature_ea_inode(fs->super))
		return E2Q_META_EA_VALUE;
	return 0;
}

static int has_mapping_blocks(const struct ext2_inode *inode)
{
	return (inode->i_flags & EXT4_EXTENTS_FL) ||
	       inode->i_block[EXT2_IND_BLOCK] || inode->i_block[EXT2_DIND_BLOCK] ||
	       inode->i_block[EXT2_TIND_BLOCK];
}

static void walk_inode_blocks(struct walk *w, char *tree_bufs)
{
	struct ext2_inode *inode = (struct ext2_inode *) &w->inode;

	w->all_blocks = w->opts->all_data ||
			all_blocks_are_metadata(w->fs, w->ino, inode);
	w->role = data_role(w->fs, w->ino, inode);
	if (!w->all_blocks && !has_mapping_blocks(inode))
		return;
	if (inode->i_flags & EXT4_EXTENTS_FL)
		e2q_meta_walk_extent_tree(w, tree_bufs);
	else
		e2q_meta_walk_indirect_tree(w, tree_bufs);
}

/* The block of logical block 0 of w->inode, as libext2fs maps it; 0: none. */
static blk64_t first_block_of(struct walk *w)
{
	blk64_t blk = 0;

	if (ext2fs_bmap2(w->fs, w->ino, (struct ext2_inode *) &w->inode, NULL,
			 0, 0, NULL, &blk))
		return 0;
	return blk;
}

/*
 * e2fsck's handle_htree(): an inode that is not a directory but has the
 * htree flag set has its logical block 0 read as an htree root.
 */
static void mark_false_htree_root(struct walk *w)
{
	struct ext2_inode *inode = (struct ext2_inode *) &w->inode;
	blk64_t blk;

	if (!(inode->i_flags & EXT2_INDEX_FL) || LINUX_S_ISDIR(inode->i_mode))
		return;
	blk = first_block_of(w);
	if (blk && e2q_meta_mark_range(w, blk, 1) == 0 && w->opts->role)
		w->opts->role(w->opts->role_priv, blk, 1, E2Q_META_DIR, w->ino);
}

/*
 * e2fsck's check_is_really_dir(): a device, FIFO or socket whose i_block[0]
 * is set has its first block read, to see whether it looks like a
 * directory, unless its block numbers rule that out (one outside the
 * filesystem) or it is a plausible device (one link, nothing past
 * i_block[3]).  Extent-mapped, the block of logical block 0 is read.
 */
static void mark_special_first_block(struct walk *w, char *tree_bufs)
{
	struct ext2_inode *inode = (struct ext2_inode *) &w->inode;
	ext2_filsys fs = w->fs;
	__u16 mode = inode->i_mode;
	blk64_t blk = 0;
	int i, not_device = 0;

	if (LINUX_S_ISDIR(mode) || LINUX_S_ISREG(mode) || LINUX_S_ISLNK(mode) ||
	    !inode->i_block[0])
		return;
	if (ext2fs_has_feature_inline_data(fs->super) &&
	    (inode->i_flags & EXT4_INLINE_DATA_FL))
		return;
	if (ext2fs_has_feature_extents(fs->super) &&
	    (inode->i_flags & EXT4_EXTENTS_FL)) {
		w->all_blocks = 0;
		e2q_meta_walk_extent_tree(w, tree_bufs);	/* bmap reads it */
		blk = first_block_of(w);
		if (!blk)
			return;
	} else {
		for (i = 0; i < EXT2_N_BLOCKS; i++) {
			blk64_t b = inode->i_block[i];

			if (!b)
				continue;
			if (i >= 4)
				not_device++;
			if (b < fs->super->s_first_data_block ||
			    b >= ext2fs_blocks_count(fs->super))
				return;
		}
		if ((LINUX_S_ISCHR(mode) || LINUX_S_ISBLK(mode)) &&
		    inode->i_links_count == 1 && !not_device)
			return;
		blk = inode->i_block[0];
	}
	if (e2q_meta_mark_range(w, blk, 1) == 0 && w->opts->role)
		w->opts->role(w->opts->role_priv, blk, 1, E2Q_META_DIR, w->ino);
}

/*
 * Walks w->inode, inode number ino.  The bad-blocks inode has no links and
 * no mode: only its indirect blocks are walked, which e2fsck reads (the
 * blocks they list are bad, not metadata).
 */
void e2q_meta_walk_inode(struct walk *w, ext2_ino_t ino, char *tree_bufs)
{
	struct ext2_inode *inode = (struct ext2_inode *) &w->inode;
	blk64_t acl = ext2fs_file_acl_block(w->fs, inode);

	w->ino = ino;
	if (ino == EXT2_BAD_INO) {
		w->all_blocks = 0;
		w->role = 0;
		e2q_meta_walk_indirect_tree(w, tree_bufs);
		w->ino = 0;
		return;
	}
	w->stats->inodes_in_use++;
	if (acl && e2q_meta_mark_range(w, acl, 1) == 0 && w->opts->role)
		w->opts->role(w->opts->role_priv, acl, 1, E2Q_META_XATTR,
			      ino);
	if (ext2fs_inode_has_valid_blocks2(w->fs, inode))
		walk_inode_blocks(w, tree_bufs);
	else if (ino == EXT2_ROOT_INO || ino >= EXT2_FIRST_INODE(w->fs->super))
		mark_special_first_block(w, tree_bufs);
	mark_false_htree_root(w);
	w->ino = 0;
}

/*
 * The end of a group stops the scan (get_next_inode returns the code, with
 * at_group_end set), so that e2q_meta_walk_inodes() picks the next group itself.
 */
static errcode_t stop_at_group_end(ext2_filsys fs EXT2FS_ATTR((unused)),
				   ext2_inode_scan scan EXT2FS_ATTR((unused)),
				   dgrp_t group EXT2FS_ATTR((unused)),
				   void *priv)
{
	((struct walk *) priv)->at_group_end = 1;
	return E2Q_ET_RANGE;
}

/*
 * An inode in a block that the bad-blocks inode lists: the scan does not
 * read it, nor does e2fsck's pass 1, but e2fsck reads it (and a
 * directory's blocks) to name paths.
 */
static void walk_inode_in_bad_block(struct walk *w, ext2_ino_t ino,
				    char *tree_bufs)
{
	struct ext2_inode *inode = (struct ext2_inode *) &w->inode;

	if (ext2fs_read_inode_full(w->fs, ino, inode, sizeof(w->inode)) == 0 &&
	    inode->i_links_count)
		e2q_meta_walk_inode(w, ino, tree_bufs);
}

/*
 * The inodes of group g; a problem in the group is reported and ends it.
 * Returns ENOMEM, or EXT2_ET_BAD_BLOCK_IN_INODE_TABLE to end the walk.
 */
static errcode_t walk_group_inodes(struct walk *w, ext2_inode_scan scan,
				   dgrp_t g, char *tree_bufs)
{
	struct ext2_inode *inode = (struct ext2_inode *) &w->inode;
	ext2_ino_t ino;
	errcode_t err;

	w->at_group_end = 0;
	err = ext2fs_inode_scan_goto_blockgroup(scan, (int) g);
	while (!err) {
		err = ext2fs_get_next_inode_full(scan, &ino, inode,
						 sizeof(w->inode));
		if (err == EXT2_ET_BAD_BLOCK_IN_INODE_TABLE) {
			walk_inode_in_bad_block(w, ino, tree_bufs);
			err = 0;
			continue;
		}
		if (!err && ino == 0)
			return 0;
		if (!err && (inode->i_links_count || ino == EXT2_BAD_INO))
			e2q_meta_walk_inode(w, ino, tree_bufs);
	}
	if (w->at_group_end || err == EXT2_ET_BAD_BLOCK_IN_INODE_TABLE ||
	    err == ENOMEM)
		return w->at_group_end ? 0 : err;
	w->group = g;
	e2q_meta_report(w, err);
	return 0;
}

/*
 * Group by group, skipping those whose inode table is not initialised, as
 * the scan's EXT2_SF_DO_LAZY does: the scan tests that flag for every
 * inode, which costs a read of the descriptor block each time when the
 * descriptors stay on the disk (group_desc.h); here it is read once a
 * group, from the group reader.  Inodes in blocks of the bad-blocks list,
 * which the scan leaves out, are read one by one; the bad-blocks inode has
 * no links, but e2fsck reads its indirect blocks: it is walked too.
 */
errcode_t e2q_meta_walk_inodes(struct walk *w, char *tree_bufs)
{
	ext2_filsys fs = w->fs;
	int buffer_blocks = (int) (SCAN_BUFFER_BYTES / fs->blocksize);
	int lazy = ext2fs_has_group_desc_csum(fs);
	struct e2q_group_reader gr;
	struct e2q_group_info gi;
	ext2_inode_scan scan;
	errcode_t err;
	dgrp_t g;

	err = ext2fs_open_inode_scan(fs, buffer_blocks, &scan);
	if (err)
		return err;
	ext2fs_inode_scan_flags(scan, 0, EXT2_SF_DO_LAZY);
	ext2fs_set_inode_callback(scan, stop_at_group_end, w);
	err = e2q_group_reader_open(fs, &gr);
	for (g = 0; !err && g < fs->group_desc_count; g++) {
		err = e2q_group_reader_get(&gr, g, &gi);
		if (err)
			break;		/* the descriptors were read at open */
		if (lazy && (gi.flags & EXT2_BG_INODE_UNINIT))
			continue;
		err = walk_group_inodes(w, scan, g, tree_bufs);
		if (err == EXT2_ET_BAD_BLOCK_IN_INODE_TABLE)
			err = 0, g = fs->group_desc_count;	/* as before */
	}
	e2q_group_reader_close(&gr);
	ext2fs_close_inode_scan(scan);
	return err;
}

static errcode_t count_run(blk64_t first EXT2FS_ATTR((unused)), blk64_t count,
			   void *priv)
{
	*(blk64_t *) priv += count;
	return 0;
}

static int block_is_readable(ext2_filsys fs, blk64_t blk, char *buf)
{
	return io_channel_read_blk64(fs->io, blk, 1, buf) == 0;
}

/*
 * A device shorter than its filesystem (a truncated image): finds the first
 * block that cannot be read, by bisection, and unmarks everything from it on.
 */
static void trim_to_device(struct walk *w, char *buf)
{
	ext2_filsys fs = w->fs;
	blk64_t end = ext2fs_blocks_count(fs->super);
	blk64_t good = fs->super->s_first_data_block, bad = end - 1;

	if (block_is_readable(fs, bad, buf))
		return;
	if (!block_is_readable(fs, good, buf))
		bad = good;
	while (bad - good > 1) {
		blk64_t mid = good + (bad - good) / 2;

		*(block_is_readable(fs, mid, buf) ? &good : &bad) = mid;
	}
	w->group = ext2fs_group_of_blk2(fs, bad);
	w->stats->device_blocks = bad;
	e2q_meta_report(w, E2Q_ET_DEVICE_TOO_SMALL);
	while (bad < end) {
		blk64_t n = end - bad > (1U << 30) ? 1U << 30 : end - bad;

		ext2fs_unmark_block_bitmap_range2(w->map, bad, (unsigned int) n);
		bad += n;
	}
}

/*
 * An external journal device (journal_dev, opened with
 * EXT2_FLAG_JOURNAL_DEV_OK): no groups, no inodes; its superblock, the
 * journal superblock and the log are all there is, every block of it.
 */
static void mark_journal_device(struct walk *w)
{
	e2q_meta_mark_range(w, w->fs->super->s_first_data_block,
			    ext2fs_blocks_count(w->fs->super) -
			    w->fs->super->s_first_data_block);
}

/*
 * libext2fs allocates no bitmap for a journal device (it has no groups):
 * for the allocation only, it is shown as one of groups of the largest
 * legal size, without the journal_dev feature.
 */
static errcode_t allocate_journal_device_map(ext2_filsys fs,
					     const char *descr,
					     ext2fs_block_bitmap *map)
{
	struct ext2_super_block *sb = fs->super;
	struct ext2_super_block saved = *sb;
	dgrp_t saved_groups = fs->group_desc_count;
	blk64_t span = ext2fs_blocks_count(sb) - sb->s_first_data_block;
	blk64_t per_group = (blk64_t) fs->blocksize * 8;
	errcode_t err;

	if (ext2fs_blocks_count(sb) <= sb->s_first_data_block ||
	    fs->cluster_ratio_bits)
		return EXT2_ET_EXTERNAL_JOURNAL_NOSUPP;
	sb->s_blocks_per_group = sb->s_clusters_per_group =
		(__u32) per_group;
	fs->group_desc_count = (dgrp_t) ((span + per_group - 1) / per_group);
	ext2fs_clear_feature_journal_dev(sb);
	err = allocate_rbtree(fs, 0, descr, map);
	*sb = saved;
	fs->group_desc_count = saved_groups;
	return err;
}

errcode_t e2q_meta_new_map(ext2_filsys fs, ext2fs_block_bitmap *map)
{
	if (ext2fs_has_feature_journal_dev(fs->super))
		return allocate_journal_device_map(fs, "metadata blocks", map);
	return allocate_rbtree(fs, 0, "metadata blocks", map);
}

errcode_t e2q_meta_mark(ext2_filsys fs, const struct e2q_meta_options *opts,
			ext2fs_block_bitmap map, struct e2q_meta_stats *stats)
{
	struct walk w;
	char *bufs = NULL;
	errcode_t err;

	memset(&w, 0, sizeof(w));
	memset(stats, 0, sizeof(*stats));
	w.fs = fs;
	w.opts = opts;
	w.map = map;
	w.stats = stats;
	if (ext2fs_has_feature_journal_dev(fs->super)) {
		mark_journal_device(&w);
		return e2q_meta_for_each_run(fs, map, ~(blk64_t) 0, count_run,
					     &stats->marked_blocks);
	}
	err = ext2fs_get_array(E2Q_META_TREE_BUFFERS, fs->blocksize, &bufs);
	if (!err) {
		w.whole_tables = opts->whole_inode_tables;
		if (!w.whole_tables && e2q_meta_has_unused_itable(fs))
			err = allocate_sparse_bitmap(fs, &w.dir_blocks);
	}
	if (!err)
		err = mark_fixed_metadata(&w);
	if (!err) {
		err = e2q_meta_walk_inodes(&w, bufs);
		if (!err)
			e2q_meta_mark_dir_targets(&w);
		if (!err)
			err = e2q_meta_mark_fallbacks(&w, bufs);
		if (!err)
			trim_to_device(&w, bufs);
	}
	ext2fs_free_mem(&bufs);
	if (w.dir_blocks)
		ext2fs_free_block_bitmap(w.dir_blocks);
	e2q_meta_forget_tree_blocks(&w);
	if (!err)
		err = e2q_meta_for_each_run(fs, map, ~(blk64_t) 0, count_run,
					    &stats->marked_blocks);
	return err;
}
