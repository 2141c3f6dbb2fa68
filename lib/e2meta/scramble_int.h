/*
 * scramble_int.h --- what the scramble_*.c files share, and nobody else.
 */
#ifndef E2Q_SCRAMBLE_INT_H
#define E2Q_SCRAMBLE_INT_H

#include "e2meta/scramble.h"

struct role_run {
	blk64_t first, count;
	ext2_ino_t ino;
	enum e2q_meta_role role;
};

struct itable_run {
	blk64_t first;
	dgrp_t group;
};

struct name_counter {
	uint64_t key;		/* directory inode << 8 | name length; 0: free */
	uint32_t next;		/* names of that length made so far */
};

struct e2q_scrambler {
	ext2_filsys fs;
	struct e2q_scramble_options opts;
	struct role_run *runs;
	size_t nruns, runs_cap;
	struct itable_run *itables;
	size_t nitables;
	struct name_counter *counters;
	size_t ncounters, counters_cap;	/* cap is a power of two */
	errcode_t err;			/* first failure inside a callback */
	blk64_t last_first;		/* first block of the previous run + 1 */
	unsigned int pass;		/* runs came back to the start this often */
	struct e2q_scramble_stats stats;
};

/* scramble_dirs.c */
void e2q_scramble_dirents(e2q_scrambler *s, ext2_ino_t dir, char *buf,
			  unsigned int len, int block_rec_len);
void e2q_scramble_dir_block(e2q_scrambler *s, ext2_ino_t dir, char *buf);
void e2q_scramble_name_counters_free(e2q_scrambler *s);

/* scramble_attrs.c */
void e2q_scramble_xattr_block(e2q_scrambler *s, ext2_ino_t ino, blk64_t blk,
			      char *buf);
/* What an inode's system.data (the rest of its inline data) holds. */
enum e2q_inline_kind {
	E2Q_INLINE_NONE = 0,	/* file data, or no inline data: kept */
	E2Q_INLINE_DIR,		/* directory entries: renamed */
	E2Q_INLINE_SYMLINK,	/* the rest of a symlink target: replaced */
};
int e2q_scramble_inode_xattrs(e2q_scrambler *s, ext2_ino_t ino, char *inode,
			      enum e2q_inline_kind kind);
/* Replaces every byte but '/' and NUL of a symlink target. */
void e2q_scramble_target(char *target, unsigned int len);

#endif /* E2Q_SCRAMBLE_INT_H */
