/*
 * mark_dir_targets.c --- inode table blocks that e2qcow would leave out
 * (a group's unused tail, bg_itable_unused, or a group flagged
 * INODE_UNINIT) but that a directory entry points into: e2fsck's pass 2
 * reads such an inode (check_filetype) after reporting the entry.
 *
 * Only filesystems with group descriptor checksums have such tails; on
 * them the directory blocks the walk marks are noted (in a sparse map),
 * then read once, after the inode scan, and their entries checked.  A
 * filesystem with no unused tail and no INODE_UNINIT group is not read
 * twice.  Inline directories are not looked at.
 */
#include "config.h"

#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "e2meta/e2meta_int.h"
#include "e2meta/group_desc.h"

#define DIR_READ_BLOCKS	64
#define DIRENT_HEADER	8

/* Whether any group has inode table blocks that the walk leaves out. */
int e2q_meta_has_unused_itable(ext2_filsys fs)
{
	struct e2q_group_reader r;
	struct e2q_group_info gi;
	int found = 0;
	dgrp_t g;

	if (!ext2fs_has_group_desc_csum(fs) || e2q_group_reader_open(fs, &r))
		return 0;
	/* through the reader: ext2fs_bg_*() copy a block per call on demand */
	for (g = 0; !found && g < fs->group_desc_count; g++)
		found = e2q_group_reader_get(&r, g, &gi) == 0 &&
			((gi.flags & EXT2_BG_INODE_UNINIT) || gi.itable_unused);
	e2q_group_reader_close(&r);
	return found;
}

/* Called for directory blocks the walk marks. */
void e2q_meta_note_dir_blocks(struct walk *w, blk64_t blk, blk64_t count)
{
	if (!w->dir_blocks)
		return;
	while (count) {
		unsigned int n = count > (1U << 30) ? 1U << 30 :
				 (unsigned int) count;

		ext2fs_mark_block_bitmap_range2(w->dir_blocks, blk, n);
		blk += n;
		count -= n;
	}
}

/*
 * The scan: the walk, and its descriptors through the group reader (with
 * the descriptors on the disk, each ext2fs_bg_*() call would copy a block).
 */
struct dir_scan {
	struct walk *w;
	struct e2q_group_reader groups;
};

/* Marks the inode table block of ino when the walk left it out. */
static void mark_target_inode(struct dir_scan *d, ext2_ino_t ino)
{
	struct walk *w = d->w;
	ext2_filsys fs = w->fs;
	__u32 ipg = fs->super->s_inodes_per_group;
	struct e2q_group_info gi;
	dgrp_t g;
	__u32 index;

	if (!ino || ino > fs->super->s_inodes_count || !ipg)
		return;
	g = (ino - 1) / ipg;
	index = (ino - 1) % ipg;
	if (g >= fs->group_desc_count ||
	    e2q_group_reader_get(&d->groups, g, &gi))
		return;
	if (!(gi.flags & EXT2_BG_INODE_UNINIT) &&
	    index < ipg - gi.itable_unused)
		return;		/* in the used part: marked already */
	if (gi.inode_table)
		e2q_meta_mark_range(w, gi.inode_table + index /
				    EXT2_INODES_PER_BLOCK(fs->super), 1);
}

/* The entries of one directory block, as far as their lengths hold. */
static void check_dir_block(struct dir_scan *d, const unsigned char *b)
{
	unsigned int bs = d->w->fs->blocksize, off = 0;

	while (off + DIRENT_HEADER <= bs) {
		__u32 ino = (__u32) b[off] | (__u32) b[off + 1] << 8 |
			    (__u32) b[off + 2] << 16 | (__u32) b[off + 3] << 24;
		unsigned int len = b[off + 4] | b[off + 5] << 8;

		if (bs >= 65536 && (len == 65535 || len == 0))
			len = bs;
		else if (bs >= 65536)
			len = (len & 65532) | ((len & 3) << 16);
		if (len < DIRENT_HEADER || len % 4 || len > bs - off)
			return;
		mark_target_inode(d, ino);
		off += len;
	}
}

static errcode_t check_dir_run(blk64_t first, blk64_t count,
			       const void *data, void *priv)
{
	struct dir_scan *d = priv;
	const unsigned char *b = data;
	blk64_t i;

	for (i = 0; i < count; i++)
		if (first + i >= d->w->fs->super->s_first_data_block)
			check_dir_block(d, b + i * d->w->fs->blocksize);
	return 0;
}

void e2q_meta_mark_dir_targets(struct walk *w)
{
	struct dir_scan d;

	if (!w->dir_blocks)
		return;
	d.w = w;
	if (e2q_group_reader_open(w->fs, &d.groups))
		return;
	(void) e2q_meta_read_runs(w->fs, w->dir_blocks, DIR_READ_BLOCKS,
				  check_dir_run, &d);
	e2q_group_reader_close(&d.groups);
}
