/*
 * e2meta_int.h --- what the files of lib/e2meta share, and nobody else.
 *
 * One struct walk lives for one e2q_meta_mark() call.  Every block number
 * read from the filesystem goes through e2q_meta_mark_range() or
 * e2q_meta_claim_mapping_block(), which check it against the filesystem
 * before anything is marked or read.
 */
#ifndef E2Q_E2META_INT_H
#define E2Q_E2META_INT_H

#include <ext2fs/ext2fs.h>

#include "e2meta/e2meta.h"

/*
 * Extent trees are walked as deep as their root says, as libext2fs (and so
 * e2fsck) walks them, but never more than this many levels below the root;
 * roots deeper than the kernel's limit (5) are reported.
 */
#define E2Q_META_MAX_EXTENT_DEPTH	5
#define E2Q_META_WALK_DEPTH		16
/* bufs holds this many blocks */
#define E2Q_META_TREE_BUFFERS		(E2Q_META_WALK_DEPTH + 1)
/* extent levels 0..E2Q_META_WALK_DEPTH; indirect levels 1..3 */
#define E2Q_META_TREE_LEVELS		(E2Q_META_WALK_DEPTH + 1)

struct walk {
	ext2_filsys fs;
	const struct e2q_meta_options *opts;
	ext2fs_block_bitmap map;
	/* tree blocks already walked, one map per level (0: extent leaves) */
	ext2fs_block_bitmap mapping_seen[E2Q_META_TREE_LEVELS];
	/* directory blocks, kept when some inode table has an unused tail */
	ext2fs_block_bitmap dir_blocks;
	struct e2q_meta_stats *stats;
	ext2_ino_t ino;			/* inode being walked, or 0 */
	dgrp_t group;			/* group being marked */
	int all_blocks;			/* mark data blocks of this inode */
	int whole_tables;		/* every group's bitmaps and inode table */
	enum e2q_meta_role role;	/* role of this inode's data blocks */
	struct ext2_inode_large inode;	/* the inode being walked */
	int at_group_end;		/* the scan stopped at the end of a group */
	errcode_t last_code;		/* last problem reported ... */
	ext2_ino_t last_ino;		/* ... for which inode ... */
	dgrp_t last_group;		/* ... and group */
};

void e2q_meta_report(struct walk *w, errcode_t code);
int e2q_meta_mark_range(struct walk *w, blk64_t blk, blk64_t count);
void e2q_meta_mark_data(struct walk *w, blk64_t blk, blk64_t count);
int e2q_meta_claim_mapping_block(struct walk *w, blk64_t blk,
				 unsigned int level);
void e2q_meta_forget_tree_blocks(struct walk *w);
void e2q_meta_walk_inode(struct walk *w, ext2_ino_t ino, char *tree_bufs);
errcode_t e2q_meta_walk_inodes(struct walk *w, char *tree_bufs);
errcode_t e2q_meta_mark_group_tables(struct walk *w);
void e2q_meta_mark_superblock(struct walk *w, blk64_t super);

/* mark_dir_targets.c: inode table blocks that directory entries need */
int e2q_meta_has_unused_itable(ext2_filsys fs);
void e2q_meta_note_dir_blocks(struct walk *w, blk64_t blk, blk64_t count);
void e2q_meta_mark_dir_targets(struct walk *w);

/* mark_fallbacks.c: what e2fsck reads when a structure cannot be trusted */
errcode_t e2q_meta_mark_fallbacks(struct walk *w, char *tree_bufs);

/* walk_trees.c: the block maps of one inode (w->inode), never looping. */
void e2q_meta_walk_extent_tree(struct walk *w, char *bufs);
void e2q_meta_walk_indirect_tree(struct walk *w, char *bufs);

#endif /* E2Q_E2META_INT_H */
