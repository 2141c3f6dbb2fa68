/*
 * e2meta.h --- marks the metadata blocks of an open ext2/3/4 filesystem and
 * visits them in ascending order.
 *
 * Knows nothing of qcow or of output formats.  The caller opens the
 * filesystem (ext2fs_open2) and allocates the map with e2q_meta_new_map():
 * a bitmap of clusters, so on bigalloc filesystems whole clusters are
 * marked, as e2image does, held as runs (an rbtree), so that its memory
 * follows the metadata, not the size of the filesystem.
 *
 * Marked, as e2image 1.47 marks them: the primary superblock and group
 * descriptors, the reserved GDT blocks, the MMP block, per group the block
 * and inode bitmaps unless uninitialised and the used part of the inode
 * table; for every inode in use its xattr block, every block of directories,
 * slow symlinks, the journal, quota inodes and the orphan file, and the
 * mapping blocks (extent tree, indirect) of all other inodes; with all_data
 * every block of every inode.  Opened from a backup superblock (-b), that
 * backup and its group descriptors too, as e2image does, so that the image
 * opens with the same -b.  Block 0 of a 1 KiB-block filesystem (the boot
 * block, before s_first_data_block) is marked too, unlike e2image.
 *
 * An external journal device (journal_dev, opened with
 * EXT2_FLAG_JOURNAL_DEV_OK): every block from s_first_data_block on (its
 * superblock, the journal superblock, the log), without roles.
 *
 * Also marked, beyond e2image, the blocks that e2fsck -fn reads and a walk
 * of what is in use leaves out, so that e2fsck on the image says what it
 * says on the filesystem (the list is in README.md): EA-inode values, the
 * blocks that damaged structures lead e2fsck to (mark_metadata.c,
 * walk_trees.c), inode table blocks that directory entries name in
 * unused tails (mark_dir_targets.c), and what e2fsck falls back to: the
 * journal's s_jnl_blocks, the backup superblock and descriptors of group
 * 1 (mark_fallbacks.c).
 *
 * Damaged filesystems: every block number is checked against the
 * filesystem before it is marked or read; a tree block met twice (a loop)
 * is walked once; a group whose inode table cannot be read is skipped; blocks
 * past the end of a truncated device are left unmarked (stats->device_blocks
 * says where the device ends).  Each problem is
 * reported once through options->problem, and the walk goes on.
 *
 * Errors are errcode_t from libext2fs or e2q_err.h; nothing is printed.
 */
#ifndef E2Q_E2META_H
#define E2Q_E2META_H

#include <ext2fs/ext2fs.h>

/* What the data blocks handed to options->role hold. */
enum e2q_meta_role {
	E2Q_META_DIR = 1,	/* directory blocks (leaf or htree index) */
	E2Q_META_SYMLINK,	/* the target of a slow symlink */
	E2Q_META_XATTR,		/* an extended attribute block */
	E2Q_META_JOURNAL,	/* a block of the internal journal */
	E2Q_META_TREE,		/* an extent tree or indirect block */
	E2Q_META_FILE_DATA,	/* other data: quota, orphan file, -a */
	E2Q_META_EA_VALUE,	/* the value an EA inode (ea_inode) holds */
};

struct e2q_meta_options {
	int all_data;			/* mark file data too (-a) */
	int whole_inode_tables;		/* ignore itable_unused / INODE_UNINIT */
	blk64_t superblock;		/* backup it was opened from (-b, or the
					 * one e2fsck falls back to), or 0 */
	/* called once per problem found on a damaged filesystem; may be NULL */
	void (*problem)(void *priv, errcode_t code, ext2_ino_t ino,
			dgrp_t group);
	/*
	 * called for each marked run of blocks that belong to an inode, with
	 * the inode and the role of the blocks; may be NULL.  A block may be
	 * reported more than once on a damaged filesystem.
	 */
	void (*role)(void *role_priv, blk64_t first, blk64_t count,
		     enum e2q_meta_role role, ext2_ino_t ino);
	void *priv;			/* for problem */
	void *role_priv;		/* for role */
};

struct e2q_meta_stats {
	blk64_t marked_blocks;		/* blocks set in the map */
	ext2_ino_t inodes_in_use;	/* inodes with links that were walked */
	unsigned int problems;		/* calls made to options->problem */
	/*
	 * a device shorter than its filesystem: the blocks it holds (the
	 * image is made that long, so that e2fsck sees the same device
	 * size); 0 when the whole filesystem is there
	 */
	blk64_t device_blocks;
};

errcode_t e2q_meta_mark(ext2_filsys fs, const struct e2q_meta_options *opts,
			ext2fs_block_bitmap map, struct e2q_meta_stats *stats);
/*
 * The map e2q_meta_mark() fills; free it with ext2fs_free_block_bitmap().
 * For a journal device, where ext2fs_allocate_block_bitmap() refuses, a map
 * of its blocks.
 */
errcode_t e2q_meta_new_map(ext2_filsys fs, ext2fs_block_bitmap *map);

/* Called for each maximal run of marked blocks, at most max_run long. */
typedef errcode_t (*e2q_meta_run_fn)(blk64_t first, blk64_t count, void *priv);
errcode_t e2q_meta_for_each_run(ext2_filsys fs, ext2fs_block_bitmap map,
				blk64_t max_run, e2q_meta_run_fn fn,
				void *priv);

/*
 * Reads the marked blocks in runs of up to buf_blocks blocks, one read per
 * run, and hands each run's bytes to fn.
 */
typedef errcode_t (*e2q_meta_data_fn)(blk64_t first, blk64_t count,
				      const void *data, void *priv);
errcode_t e2q_meta_read_runs(ext2_filsys fs, ext2fs_block_bitmap map,
			     blk64_t buf_blocks, e2q_meta_data_fn fn,
			     void *priv);

#endif /* E2Q_E2META_H */
