/*
 * scramble.h --- hides names and contents in the metadata blocks of an
 * ext2/3/4 filesystem (-s), keeping the image a valid filesystem.
 *
 * The scrambler transforms block buffers between the read and the write.
 * It learns which blocks hold directories, slow symlinks, xattrs and the
 * journal from the walk: pass e2q_scrambler_note_role as the role callback
 * of e2q_meta_mark() with the scrambler as priv.  Then, once, before any
 * block is scrambled, e2q_scrambler_prepare() reads the directory blocks
 * set in the map (ascending, in large runs, through fs->io) and fixes every
 * new name: the plan.  From then on e2q_scramble_blocks() is a pure function
 * of a block's bytes and the plan: any pass, over runs in any order, gives
 * the same bytes, and nothing tells it where a pass begins.  Apart from
 * prepare() it reads only inodes through libext2fs (ext2fs_read_inode on the
 * source filesystem, to learn a directory's flags or a symlink's size).
 *
 * What changes:
 *  - every directory entry name becomes a deterministic name of the same
 *    length drawn from [A-Za-z0-9], unique in its directory ("lost+found" in
 *    the root stays; names of one or two characters stay when a directory
 *    has more of that length than names can be made); the bytes after each
 *    name in its record are zeroed (deleted names live there);
 *  - htree directories keep their index (index blocks keep every byte but
 *    unused entry slots, zeroed), and each new name hashes into the range
 *    of its leaf, or outside it on the side the old one was
 *    (scramble_htree.c); one whose root cannot be read is made linear;
 *    in casefolded directories names are [a-z0-9]; encrypted directories,
 *    symlinks and encryption contexts are kept;
 *  - other fast and slow symlink targets: every byte but '/' is replaced;
 *  - extended attribute values are zeroed (unless keep_xattrs), in xattr
 *    blocks, in inodes and in EA inodes, with their hashes recomputed;
 *  - inline-data directories are scrambled like directory blocks;
 *  - journal blocks other than the journal superblock are zeroed (they may
 *    hold copies of directory blocks); the stats count them;
 *  - the superblock's last-mounted path and volume name are replaced, in
 *    the primary superblock and in a backup copied with -b;
 *  - the MMP block's node (host) name and device name are replaced.
 * Checksums (inode, directory block, xattr block, superblock, MMP) are
 * recomputed under metadata_csum, but only where the original checksum was
 * correct, so damage stays visible.
 *
 * Memory: one record per directory / symlink / xattr / journal run; the
 * plan holds 16 bytes per directory block whose names do not all start at
 * 0 (in practice, a directory's blocks after its first), and 8 per name
 * length such a block carries on; for htree directories, 40 bytes per
 * block and 4 per entry.  prepare() also holds, while it runs, a counter
 * per (directory, name length) and a 1 MiB read buffer; until an htree
 * directory is named, 33 bytes per block, and while it is, about 70 per
 * entry (a few directories at a time).
 * Threads: the names of htree directories are chosen by a thread of their
 * own (scramble_naming.c), from prepare() on: it reads their leaves, in
 * the order of their first block, and names them, while prepare() goes on
 * and the passes run; a pass that meets a leaf whose directory is not
 * named yet names it beside the thread.  From the end of prepare() to
 * e2q_scrambler_free(), another thread scrambles blocks of each run beside
 * the caller of e2q_scramble_blocks() (which must not be called from two
 * threads at once).  Both read through fs->io beside the caller: only when
 * the channel allows it (CHANNEL_FLAGS_THREADS; else the leaves are read in
 * prepare() and the caller scrambles alone).  Checksums use the CPU's
 * crc32 instruction when it has one.
 * Errors: errno values (ENOMEM; EINVAL: scrambling before prepare()); a
 * directory block that prepare() cannot read is left out of the plan, and
 * the read that follows, the export's own, reports the failure; an htree
 * leaf that naming could not read, or a directory whose naming failed,
 * fails e2q_scramble_blocks() (its names zeroed in the buffer).
 */
#ifndef E2Q_SCRAMBLE_H
#define E2Q_SCRAMBLE_H

#include <ext2fs/ext2fs.h>

#include "e2meta/e2meta.h"

typedef struct e2q_scrambler e2q_scrambler;

struct e2q_scramble_options {
	int keep_xattrs;		/* leave xattr values as they are */
	/* called for each renamed entry; may be NULL */
	void (*renamed)(void *priv, ext2_ino_t dir, const char *old_name,
			const char *new_name, unsigned int len);
	void *priv;
};

struct e2q_scramble_stats {
	uint64_t names;			/* directory entries renamed */
	uint64_t symlinks;		/* symlink targets replaced */
	uint64_t xattr_values;		/* xattr values zeroed */
	uint64_t htree_dirs;		/* htree directories made linear */
	uint64_t journal_blocks;	/* non-zero journal blocks zeroed */
};

/* What prepare() did for the htree directories it kept with their index. */
struct e2q_htree_stats {
	uint64_t dirs;			/* htree directories kept */
	uint64_t linear_dirs;		/* htree directories made linear */
	uint64_t names;			/* entries given a name in range */
	uint64_t trials;		/* names tried to find them */
	uint64_t kept_short;		/* 1-2 character names left as they are */
	uint64_t off_range;		/* renamed, but no name of the length
					 * fit the leaf's hash range */
};

errcode_t e2q_scrambler_new(ext2_filsys fs,
			    const struct e2q_scramble_options *opts,
			    e2q_scrambler **ret);
void e2q_scrambler_free(e2q_scrambler *s);

/* The role callback of struct e2q_meta_options; priv is the scrambler. */
void e2q_scrambler_note_role(void *scrambler, blk64_t first, blk64_t count,
			     enum e2q_meta_role role, ext2_ino_t ino);

/*
 * Once, after the walk and before any block is scrambled: reads the
 * directory blocks that are set in map and fixes every new name.
 * opts->renamed is called here, once per renamed entry, in ascending block
 * order (with a renamed callback, prepare() reads the inode tables in the
 * map too, for the entries of inline directories).
 */
errcode_t e2q_scrambler_prepare(e2q_scrambler *s, ext2fs_block_bitmap map);

/* After prepare(): what it did for htree directories. */
void e2q_scrambler_htree_stats(const e2q_scrambler *s,
			       struct e2q_htree_stats *st);

/*
 * Scrambles blocks [first, first + count) held in data, in place.  Pure:
 * the same bytes in give the same bytes out, in any pass and any order of
 * runs; never allocates; part of the run may be scrambled on the
 * scrambler's second thread, done when this returns.  When tally is not
 * NULL, adds to it what it changed.
 */
errcode_t e2q_scramble_blocks(const e2q_scrambler *s, blk64_t first,
			      blk64_t count, void *data,
			      struct e2q_scramble_stats *tally);

#endif /* E2Q_SCRAMBLE_H */
