/*
 * walk_trees.c --- walks the block map of one inode: its extent tree or its
 * indirect blocks.
 *
 * Our own walkers rather than ext2fs_block_iterate3(), for three reasons a
 * damaged filesystem makes plain: a tree block already walked (a loop, or
 * two parents sharing a child) is reported and not walked again, so the
 * work is bounded by the size of the filesystem; every block number is
 * checked before it is read, so nothing outside the filesystem is read; and
 * leaf extents are marked as ranges, not block by block.  On a sound
 * filesystem they mark exactly what block_iterate3 visits: every tree block
 * and, for inodes whose data is metadata, every block of every extent
 * (initialised or not) or every block the indirect tree maps.
 *
 * On a damaged one they read what libext2fs, and so e2fsck, reads: a node
 * is an index or a leaf by its distance from the root, whatever its own
 * eh_depth says, and a block that is met at two levels (an IND that is also
 * its inode's DIND) is walked at each; only a block met twice at one level
 * is a loop.
 */
#include "config.h"

#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext3_extents.h>
#include <ext2fs/ext2fs.h>

#include "e2q_err.h"
#include "e2meta/e2meta_int.h"

#define EXTENT_ENTRY_BYTES	12
#define EXTENT_MAGIC		0xf30a

/*
 * Checks a node's header as ext2fs_extent_header_verify() does (its depth
 * is not checked: libext2fs goes by the root's): returns its entry count,
 * or -1 when invalid.
 */
static int extent_node_entries(const void *node, unsigned int bytes)
{
	const struct ext3_extent_header *eh = node;
	unsigned int entries = ext2fs_le16_to_cpu(eh->eh_entries);
	unsigned int max = ext2fs_le16_to_cpu(eh->eh_max);

	if (ext2fs_le16_to_cpu(eh->eh_magic) != EXTENT_MAGIC ||
	    entries > max ||
	    max > (bytes - EXTENT_ENTRY_BYTES) / EXTENT_ENTRY_BYTES)
		return -1;
	return (int) entries;
}

static void mark_leaf_extents(struct walk *w, const void *node, int entries)
{
	const struct ext3_extent *ex = (const struct ext3_extent *)
		((const struct ext3_extent_header *) node + 1);
	int i;

	if (!w->all_blocks)
		return;
	for (i = 0; i < entries; i++) {
		blk64_t start = ext2fs_le32_to_cpu(ex[i].ee_start) |
			((blk64_t) ext2fs_le16_to_cpu(ex[i].ee_start_hi) << 32);
		unsigned int len = ext2fs_le16_to_cpu(ex[i].ee_len);

		if (len > EXT_INIT_MAX_LEN)
			len -= EXT_INIT_MAX_LEN;
		e2q_meta_mark_data(w, start, len);
	}
}

/* Reads tree block blk into buf after claiming it; 0 when it may be used. */
static int read_tree_block(struct walk *w, blk64_t blk, unsigned int level,
			   char *buf)
{
	errcode_t err;

	if (e2q_meta_claim_mapping_block(w, blk, level))
		return -1;
	err = io_channel_read_blk64(w->fs->io, blk, 1, buf);
	if (err) {
		e2q_meta_report(w, err);
		return -1;
	}
	return 0;
}

/*
 * node (bytes long) is at `depth`; each child is read into free[0] and its
 * own children go to free[1...], so a tree needs depth blocks of buffer.
 */
static void walk_extent_node(struct walk *w, const char *node,
			     unsigned int bytes, unsigned int depth, char *free)
{
	const struct ext3_extent_idx *ix;
	unsigned int bs = w->fs->blocksize;
	int i, entries = extent_node_entries(node, bytes);

	if (entries < 0) {
		e2q_meta_report(w, EXT2_ET_EXTENT_HEADER_BAD);
		return;
	}
	if (ext2fs_le16_to_cpu(((const struct ext3_extent_header *)
				node)->eh_depth) != depth)
		e2q_meta_report(w, EXT2_ET_EXTENT_HEADER_BAD);
	if (depth == 0) {
		mark_leaf_extents(w, node, entries);
		return;
	}
	ix = (const struct ext3_extent_idx *)
		((const struct ext3_extent_header *) node + 1);
	for (i = 0; i < entries; i++) {
		blk64_t child = ext2fs_le32_to_cpu(ix[i].ei_leaf) |
			((blk64_t) ext2fs_le16_to_cpu(ix[i].ei_leaf_hi) << 32);

		if (read_tree_block(w, child, depth - 1, free) == 0)
			walk_extent_node(w, free, bs, depth - 1, free + bs);
	}
}

void e2q_meta_walk_extent_tree(struct walk *w, char *bufs)
{
	const struct ext3_extent_header *root =
		(const struct ext3_extent_header *) w->inode.i_block;
	unsigned int depth = ext2fs_le16_to_cpu(root->eh_depth);

	if (depth > E2Q_META_MAX_EXTENT_DEPTH)
		e2q_meta_report(w, EXT2_ET_EXTENT_HEADER_BAD);
	if (depth > E2Q_META_WALK_DEPTH)
		return;
	walk_extent_node(w, (const char *) w->inode.i_block,
			 sizeof(w->inode.i_block), depth, bufs);
}

/*
 * Walks an indirect block of `level` (1: its entries are data blocks).
 * Entries are block numbers; zero is a hole.
 */
static void walk_indirect_block(struct walk *w, blk64_t blk,
				unsigned int level, char *free)
{
	unsigned int i, n = w->fs->blocksize / 4;
	const __u32 *entries = (const __u32 *) free;

	if (read_tree_block(w, blk, level, free))
		return;
	for (i = 0; i < n; i++) {
		blk64_t b = ext2fs_le32_to_cpu(entries[i]);

		if (!b)
			continue;
		if (level > 1)
			walk_indirect_block(w, b, level - 1,
					    free + w->fs->blocksize);
		else
			e2q_meta_mark_data(w, b, 1);
	}
}

void e2q_meta_walk_indirect_tree(struct walk *w, char *bufs)
{
	const __u32 *ib = w->inode.i_block;
	unsigned int i;

	for (i = 0; i < EXT2_NDIR_BLOCKS; i++)
		if (ib[i])
			e2q_meta_mark_data(w, ib[i], 1);
	for (i = 0; i < 3; i++)
		if (ib[EXT2_IND_BLOCK + i])
			walk_indirect_block(w, ib[EXT2_IND_BLOCK + i], i + 1,
					    bufs);
}
