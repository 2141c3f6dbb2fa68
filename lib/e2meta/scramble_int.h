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
	__u32 dir_flags;	/* E2Q_META_DIR: the directory's i_flags (read
				 * once per run, in prepare()); 0 if unreadable */
	__u32 dir_gen;		/* and its i_generation, for the checksums */
	int dir_gen_known;	/* the inode could be read */
};

/*
 * Inode tables of consecutive groups that follow each other on the disk
 * (flex_bg puts 16 or more in a row): one entry, so that the list follows
 * the flex groups, not the groups (52,000 entries, not 819,200, at 100 TiB).
 */
struct itable_run {
	blk64_t first;
	dgrp_t group;		/* the group of the first table */
	dgrp_t ngroups;		/* tables in the run */
};

/*
 * The plan: where the names of a directory block start.  A block whose
 * every name length starts at name 0 (most blocks: the first of each
 * directory) has no entry; the others list, for each length they use that
 * does not start at 0, how many names of it the directory's earlier blocks
 * made.
 */
struct name_start {
	uint32_t next;		/* the number of the block's first such name */
	uint8_t len;
};

struct planned_block {
	blk64_t blk;
	size_t at;	/* its starts: starts[at] up to the next block's at */
};

/*
 * An htree directory kept with its index (scramble_htree.c): each of its
 * blocks that prepare() planned, by kind.  A leaf's renamed entries, in
 * the order they sit in the block, take their names from the codes of its
 * slot in its directory's naming job (scramble_naming.c, once named;
 * e2q_htree_leaf_codes()): the number of the name (scramble_names.c), or
 * E2Q_HTREE_KEEP.
 */
enum e2q_htree_kind { E2Q_HTREE_INDEX = 1, E2Q_HTREE_LEAF };
#define E2Q_HTREE_KEEP	0xffffffffU

struct htree_block {
	blk64_t blk;
	ext2_ino_t dir;
	uint32_t slot;		/* a leaf: its place in the directory's */
	uint32_t job;		/* a leaf: its directory's naming job */
	int kind;		/* enum e2q_htree_kind */
	int casefold;		/* the directory's names are casefolded */
};

struct e2q_scrambler {
	ext2_filsys fs;
	struct e2q_scramble_options opts;
	struct role_run *runs;
	size_t nruns, runs_cap;
	struct itable_run *itables;
	size_t nitables;
	struct planned_block *planned;	/* ascending blk */
	size_t nplanned, planned_cap;
	struct name_start *starts;
	size_t nstarts, starts_cap;
	struct htree_block *hblocks;	/* ascending blk */
	size_t nhblocks, hblocks_cap;
	struct naming_queue *naming;	/* scramble_naming.c: hblocks' codes */
	ext2_ino_t *linear_dirs;	/* htree dirs made linear, ascending */
	size_t nlinear, linear_cap;
	struct e2q_htree_stats hstats;	/* prepare()'s: dirs kept, linear */
	errcode_t err;			/* a failure inside note_role */
	int prepared;
	struct pass_helper *helper;	/* scramble_pass.c, after prepare() */
};

struct planner;		/* scramble_plan.c: prepare()'s own state */

/*
 * The names being made in one directory block or inline directory: the
 * next number per name length, taken from the plan (or, in prepare(), from
 * the directory's counters) at the length's first name.
 */
struct namer {
	ext2_ino_t dir;
	struct planner *plan;		/* prepare(): reports, counts */
	int from_counters;		/* prepare(), a directory block */
	const struct name_start *starts;	/* the plan's, for the block */
	size_t nstarts;
	int casefold;			/* names of a casefolded directory */
	/* an htree leaf: the plan's name numbers, and the next one to use */
	const uint32_t *codes;
	uint32_t ncodes, used;
	int by_codes;
	/* prepare(), an htree directory: each renamable entry, in order */
	void (*collect)(void *priv, const char *name, unsigned int len);
	void *collect_priv;
	uint32_t next[EXT2_NAME_LEN + 1];
	unsigned char begun[(EXT2_NAME_LEN + 8) / 8];	/* next[len] is set */
};

/* One scrambling call: e2q_scramble_blocks(), or prepare() over its blocks. */
struct scramble_call {
	const e2q_scrambler *s;
	struct planner *plan;		/* NULL but in prepare() */
	struct e2q_scramble_stats counted;
	errcode_t err;
};

/* scramble.c */
/* Sorts the role runs and finds the inode tables, for the lookups below. */
errcode_t e2q_scramble_index_blocks(e2q_scrambler *s);
/* One block, by its role, as e2q_scramble_blocks() does. */
void e2q_scramble_one_block(struct scramble_call *c, blk64_t blk, char *buf);
const struct role_run *e2q_scramble_role_of(const e2q_scrambler *s,
					    blk64_t blk);
int e2q_scramble_in_itable(const e2q_scrambler *s, blk64_t blk);
/* The block after the last table of run r. */
blk64_t e2q_scramble_itable_run_end(const e2q_scrambler *s,
				    const struct itable_run *r);

/* scramble_dirs.c */
void e2q_namer_init(struct namer *n, ext2_ino_t dir, struct planner *plan);
void e2q_scramble_dirents(struct scramble_call *c, struct namer *n,
			  char *buf, unsigned int len, int block_rec_len);
void e2q_scramble_dir_block(struct scramble_call *c, const struct role_run *r,
			    blk64_t blk, char *buf);
/* The bytes of a directory block that hold entries (not the csum tail). */
unsigned int e2q_dir_block_names_len(ext2_filsys fs, char *buf);
/*
 * The i_flags of dir when it is a directory, else 0; when gen is not NULL,
 * *gen its i_generation and *gen_known whether the inode could be read.
 */
__u32 e2q_scramble_dir_flags(ext2_filsys fs, ext2_ino_t dir, int *gen_known,
			     __u32 *gen);
/* Writes name number n of length len; 0, or -1 when n does not fit. */
int e2q_scramble_counter_name(uint32_t n, char *name, unsigned int len,
			      int casefold);

/* scramble_htree.c */
/* prepare(): plans the names of every htree directory kept with its index. */
errcode_t e2q_htree_plan(e2q_scrambler *s, ext2fs_block_bitmap map);
/* The planned htree block blk, or NULL. */
const struct htree_block *e2q_htree_block_of(const e2q_scrambler *s,
					     blk64_t blk);
/* 1 when dir, an htree directory, was made linear (no plan for it). */
int e2q_htree_made_linear(const e2q_scrambler *s, ext2_ino_t dir);

/* scramble_htree.c, for the naming queue: a directory read, to name */
struct hdir;
/*
 * Reads d's leaves (when prepare() did not), and sets where each entry's
 * new name must hash to, from its original name; then the entries by
 * length, in *ngroups groups.  Once, before any group.
 */
errcode_t e2q_htree_targets(struct hdir *d, size_t *ngroups);
/* Names group k of d (its entries of one length), adding to *st. */
errcode_t e2q_htree_name_group(struct hdir *d, size_t k,
			       struct e2q_htree_stats *st);
/* Every group named: the names' numbers into entry order. */
void e2q_htree_name_end(struct hdir *d);
/* Once named: the codes of leaf `slot`; -1 when it could not be read. */
int e2q_htree_leaf_codes(const struct hdir *d, uint32_t slot,
			 const uint32_t **codes, uint32_t *n);
void e2q_htree_dir_free(struct hdir *d);
void e2q_htree_add_stats(struct e2q_htree_stats *to,
			 const struct e2q_htree_stats *from);

/*
 * scramble_naming.c: the naming queue.  Jobs are numbered from 0 in the
 * order added; add() takes d, which holds `bytes` until named (frees it on
 * failure), and may name beside the thread before it returns, to bound
 * the bytes waiting.  wait() names what is left of a job beside the
 * thread, and gives its directory, named (or the error that stopped its
 * naming).  stop() ends the thread and frees every job.
 */
errcode_t e2q_naming_add(e2q_scrambler *s, struct hdir *d, size_t bytes);
errcode_t e2q_naming_wait(const e2q_scrambler *s, uint32_t job,
			  const struct hdir **dir);
/* Every job done: adds what naming did to *st; the first job's error. */
errcode_t e2q_naming_wait_all(const e2q_scrambler *s,
			      struct e2q_htree_stats *st);
void e2q_naming_stop(e2q_scrambler *s);

/* scramble_hash.c: a name's hash, as ext2fs_dirhash2() gives it */
struct name_hasher {
	int version;		/* the directory's, unsigned ones + 3 */
	int casefold;
	const struct ext2fs_nls_table *charset;	/* casefold: its charset */
	const __u32 *seed;	/* the filesystem's s_hash_seed */
	int ours;		/* half-MD4 of names not casefolded: here */
	int unsigned_chars;
	__u32 init[4];		/* the state before the first chunk */
};
void e2q_name_hasher_init(struct name_hasher *h, ext2_filsys fs, int version,
			  const struct ext2fs_nls_table *charset, int casefold);
/* The major hash of name (low bit clear); -1 when it has none. */
int e2q_name_hash(const struct name_hasher *h, const char *name,
		  unsigned int len, uint32_t *hash);
/*
 * The hashes of n <= 8 names at once, the same as e2q_name_hash() gives;
 * -1 when one has none (then hashes[] is partly set).
 */
int e2q_name_hash_many(const struct name_hasher *h, const char *const names[],
		       const unsigned int lens[], unsigned int n,
		       uint32_t *hashes);

/*
 * scramble_csum.c: metadata_csum checksums as libext2fs computes them (the
 * callers test the feature), the crc32c by the CPU when it can.
 */
__u32 e2q_crc32c(__u32 crc, const void *buf, size_t len);
int e2q_inode_csum_verify(ext2_filsys fs, ext2_ino_t ino,
			  const struct ext2_inode_large *in);
void e2q_inode_csum_set(ext2_filsys fs, ext2_ino_t ino,
			struct ext2_inode_large *in);
/*
 * A directory leaf with a checksum tail, gen the directory's i_generation:
 * -1 when the block has no tail (an htree index block, a damaged leaf: for
 * ext2fs_dir_block_csum_*()).
 */
int e2q_dir_leaf_csum_verify(ext2_filsys fs, ext2_ino_t dir, __u32 gen,
			     const char *buf);
int e2q_dir_leaf_csum_set(ext2_filsys fs, ext2_ino_t dir, __u32 gen,
			  char *buf);
int e2q_xattr_block_csum_verify(ext2_filsys fs, blk64_t blk, const char *buf);
void e2q_xattr_block_csum_set(ext2_filsys fs, blk64_t blk, char *buf);

/* scramble.c: adds the counts of `from` to `to` */
void e2q_scramble_add_stats(struct e2q_scramble_stats *to,
			    const struct e2q_scramble_stats *from);

/* scramble_pass.c: a second thread for the passes */
void e2q_pass_helper_start(e2q_scrambler *s);	/* none: not an error */
void e2q_pass_helper_stop(e2q_scrambler *s);
/*
 * Scrambles a run on both threads, adds the counts and the first error to
 * *into; -1: no helper.
 */
int e2q_pass_helper_run(const e2q_scrambler *s, blk64_t first, blk64_t count,
			char *data, struct scramble_call *into);
/* Around libext2fs calls that are not pure (they read and cache). */
void e2q_scramble_lock(const e2q_scrambler *s);
void e2q_scramble_unlock(const e2q_scrambler *s);
errcode_t e2q_scramble_read_inode(const e2q_scrambler *s, ext2_ino_t ino,
				  struct ext2_inode *inode);

/* scramble_names.c */
/* Name number code of length len in directory dir (code < E2Q_HTREE_KEEP). */
void e2q_htree_name(ext2_ino_t dir, unsigned int len, uint32_t code,
		    int casefold, char *name);
/* How many names e2q_htree_name() makes of len without repeats, or 0 when
 * it draws them at random (a space too large to go through). */
uint32_t e2q_htree_name_space(unsigned int len, int casefold);
/* From this length on, different numbers always make different names. */
#define E2Q_HTREE_DISTINCT_LEN	7

/* scramble_plan.c */
/* The plan's starts for blk (none: *n is 0). */
const struct name_start *e2q_plan_starts(const e2q_scrambler *s, blk64_t blk,
					 size_t *n);
/* prepare(): the directory's count of names of len so far, 0 when none. */
uint32_t e2q_plan_counter(struct planner *p, ext2_ino_t dir, unsigned int len);
/* prepare(): after a directory block, its starts and the new counts. */
errcode_t e2q_plan_block_done(struct planner *p, blk64_t blk,
			      const struct namer *n);
void e2q_plan_report(struct planner *p, ext2_ino_t dir, const char *old_name,
		     const char *new_name, unsigned int len);

/* scramble_attrs.c */
void e2q_scramble_xattr_block(struct scramble_call *c, blk64_t blk,
			      char *buf);
/* What an inode's system.data (the rest of its inline data) holds. */
enum e2q_inline_kind {
	E2Q_INLINE_NONE = 0,	/* file data, or no inline data: kept */
	E2Q_INLINE_DIR,		/* directory entries: renamed */
	E2Q_INLINE_SYMLINK,	/* the rest of a symlink target: replaced */
};
/* Where the xattrs inside the inode begin (after the magic), or NULL. */
char *e2q_inode_xattrs(ext2_filsys fs, char *inode);
/* namer: the inline directory's, for E2Q_INLINE_DIR; else NULL. */
int e2q_scramble_inode_xattrs(struct scramble_call *c, char *inode,
			      enum e2q_inline_kind kind, struct namer *namer);
/* The crc32c (from seed) of len zero bytes: an EA inode's zeroed value. */
__u32 e2q_zeros_crc32c(__u32 seed, uint64_t len);
#define E2Q_EA_VALUE_MAX	(64U << 20)	/* larger: left alone */
/* Replaces every byte but '/' and NUL of a symlink target. */
void e2q_scramble_target(char *target, unsigned int len);

#endif /* E2Q_SCRAMBLE_INT_H */
