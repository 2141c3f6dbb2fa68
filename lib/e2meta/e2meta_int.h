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

struct walk {
	ext2_filsys fs;
	const struct e2q_meta_options *opts;
	ext2fs_block_bitmap map;
	ext2fs_block_bitmap mapping_seen;	/* tree blocks already walked */
	struct e2q_meta_stats *stats;
	ext2_ino_t ino;			/* inode being walked, or 0 */
	dgrp_t group;			/* group being marked */
	int all_blocks;			/* mark data blocks of this inode */
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
int e2q_meta_claim_mapping_block(struct walk *w, blk64_t blk);

/* walk_trees.c: the block maps of one inode (w->inode), never looping. */
void e2q_meta_walk_extent_tree(struct walk *w, char *bufs);
void e2q_meta_walk_indirect_tree(struct walk *w, char *bufs);
/* the kernel's limit on extent tree depth; deeper trees are reported */
#define E2Q_META_MAX_EXTENT_DEPTH	5
/* bufs holds this many blocks */
#define E2Q_META_TREE_BUFFERS		(E2Q_META_MAX_EXTENT_DEPTH + 1)

#endif /* E2Q_E2META_INT_H */
