/*
 * scramble.h --- hides names and contents in the metadata blocks of an
 * ext2/3/4 filesystem (-s), keeping the image a valid filesystem.
 *
 * The scrambler transforms block buffers between the read and the write; it
 * never reads blocks itself except inodes through libext2fs (ext2fs_read_inode
 * on the source filesystem, to learn a directory's flags or a symlink's size).
 * It learns which blocks hold directories, slow symlinks, xattrs and the
 * journal from the walk: pass e2q_scrambler_note_role as the role callback of
 * e2q_meta_mark() with the scrambler as priv, then call e2q_scrambler_prepare()
 * once, then e2q_scramble_blocks() on every run, in ascending order; a run
 * below the previous one starts a new pass, which gives the same bytes as
 * the first (the renamed callback is called in the first pass only).
 *
 * What changes:
 *  - every directory entry name becomes a deterministic name of the same
 *    length drawn from [A-Za-z0-9], unique in its directory ("lost+found" in
 *    the root stays; names of one or two characters stay when a directory
 *    has more of that length than names can be made); the bytes after each
 *    name in its record are zeroed (deleted names live there);
 *  - htree directories become linear: the index flag is cleared in the inode,
 *    the root keeps "." and "..", index blocks become empty leaf blocks;
 *  - fast and slow symlink targets: every byte but '/' is replaced;
 *  - extended attribute values are zeroed (unless keep_xattrs), in xattr
 *    blocks and in inodes, with their hashes recomputed;
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
 * Memory: one record per directory / symlink / xattr / journal run, and a
 * counter per (directory, name length).  Errors: errno values (ENOMEM).
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

errcode_t e2q_scrambler_new(ext2_filsys fs,
			    const struct e2q_scramble_options *opts,
			    e2q_scrambler **ret);
void e2q_scrambler_free(e2q_scrambler *s);

/* The role callback of struct e2q_meta_options; priv is the scrambler. */
void e2q_scrambler_note_role(void *scrambler, blk64_t first, blk64_t count,
			     enum e2q_meta_role role, ext2_ino_t ino);
errcode_t e2q_scrambler_prepare(e2q_scrambler *s);

/* Scrambles blocks [first, first + count) held in data, in place. */
errcode_t e2q_scramble_blocks(e2q_scrambler *s, blk64_t first, blk64_t count,
			      void *data);

void e2q_scrambler_get_stats(const e2q_scrambler *s,
			     struct e2q_scramble_stats *st);

#endif /* E2Q_SCRAMBLE_H */
