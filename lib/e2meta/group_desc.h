/*
 * group_desc.h --- the group descriptors of an open filesystem, one group
 * at a time, in the order the caller asks for them (ascending is fastest).
 *
 * When libext2fs holds the descriptors (fs->group_desc), they are read
 * through its accessors, with the changes it made at open time (from a
 * backup superblock, the UNINIT flags cleared).  When the filesystem was
 * opened with EXT2_FLAG_SUPER_ONLY, they stay on the disk: the reader keeps
 * one batch of up to 1 MiB of descriptor blocks and decodes the fields from
 * its bytes, so its memory does not grow with the filesystem, and a group
 * costs no copy of a block as ext2fs_group_desc() makes on each call.
 *
 * Errors: ENOMEM, or the io_channel's error when a descriptor block cannot
 * be read; nothing is printed.
 */
#ifndef E2Q_GROUP_DESC_H
#define E2Q_GROUP_DESC_H

#include <ext2fs/ext2fs.h>

/* What the walk needs of one group's descriptor. */
struct e2q_group_info {
	blk64_t block_bitmap;
	blk64_t inode_bitmap;
	blk64_t inode_table;
	__u32 itable_unused;
	__u16 flags;		/* EXT2_BG_* */
};

struct e2q_group_reader {
	ext2_filsys fs;
	char *buf;			/* a batch of descriptor blocks */
	unsigned long first;		/* index of its first block ... */
	unsigned long count;		/* ... and how many it holds */
	unsigned long capacity;		/* blocks buf can hold */
};

/* Sets up r; nothing is read yet.  e2q_group_reader_close() frees it. */
errcode_t e2q_group_reader_open(ext2_filsys fs, struct e2q_group_reader *r);
errcode_t e2q_group_reader_get(struct e2q_group_reader *r, dgrp_t group,
			       struct e2q_group_info *info);
void e2q_group_reader_close(struct e2q_group_reader *r);

/*
 * ext2fs_check_desc() of libext2fs 1.47, as e2fsck calls it, over the
 * reader: every group's bitmaps and inode table inside the filesystem (the
 * group, without flex_bg) and on no superblock, descriptor or other table;
 * its map of those blocks an rbtree.  For a filesystem opened with
 * EXT2_FLAG_SUPER_ONLY, where ext2fs_check_desc() would copy a descriptor
 * block for every field it reads.  Returns its codes (EXT2_ET_GDESC_BAD_*,
 * EXT2_ET_BAD_DESC_SIZE), ENOMEM, or a read error.
 */
errcode_t e2q_group_check_desc(ext2_filsys fs);

#endif /* E2Q_GROUP_DESC_H */
