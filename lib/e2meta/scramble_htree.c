/*
 * scramble_htree.c --- prepare(): new names for the entries of htree
 * directories that keep their index.
 *
 * Each leaf block of an htree covers a range of name hashes, read from the
 * index: from its entry's key (the first of a node inherits its parent's)
 * up to the next key in tree order.  A key's low bit marks a hash collision
 * continued from the leaf before, so a leaf holds the even hashes h with
 * (key & ~1) <= h < next key.  Each entry's new name has the same length as
 * the old one and hashes (under the directory's hash version, the
 * filesystem's seed and, in a casefolded directory, the folded name) into
 * that range; an entry whose old hash lies below or above the range (a
 * damaged directory, as e2fsck sees it) gets a name below or above it too.
 * Blocks that no index entry reaches may hold any name.
 *
 * Names are found by trials: name number 0, 1, 2... of a length
 * (scramble_names.c) is hashed and given to whichever entry of that length
 * still waits for a name in the range it falls in, so the work is about
 * L ln L trials per length for L leaves rather than L per name.  Numbers
 * already taken, and the directory's original names, are skipped: names
 * stay unique.  When the trials run out (a range too narrow to hit), a name
 * of 1 or 2 characters stays as it is, and a longer one takes the next
 * unused name whatever its hash (counted: off_range).
 *
 * An htree directory whose root cannot be read as one (damaged, an unknown
 * hash version, too large) is made linear instead, as e2image -s does.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "e2meta/scramble_int.h"

#define MAX_DIR_BLOCKS	(1U << 21)	/* larger: made linear */
#define ROOT_INFO	24		/* dx_root_info in block 0 */
#define NODE_ENTRIES	8		/* count/limit in an interior node */
#define DX_ENTRY	8
#define MAX_LEVELS	3
#define WIDE_CHECKS	16		/* wide targets tried per trial */
#define MAX_TRIALS	(1ULL << 26)	/* per directory and name length */
#define HASH_MAX	0xffffffffU
#define HASH_BATCH	8		/* names hashed at once */

enum { BLK_NONE = 0, BLK_ROOT, BLK_NODE, BLK_LEAF };

struct hentry {
	uint32_t lo, hi;	/* the new name's hash: lo <= h <= hi */
	uint32_t code;		/* the name's number, or E2Q_HTREE_KEEP */
	uint32_t order;		/* its place among the directory's entries */
	uint32_t fp;		/* fingerprint of the original name, when
				 * shorter than E2Q_HTREE_DISTINCT_LEN */
	uint8_t len;
	uint8_t wide;		/* not a leaf's own range */
	char head[2];		/* the original name, when len <= 2 */
};

struct leafrec {
	uint32_t lblk;
	uint32_t first, count;	/* its entries, in order */
	uint64_t key;		/* its range, to sort by (group_entries()) */
};

struct hdir {
	e2q_scrambler *s;
	ext2fs_block_bitmap map;
	ext2_ino_t ino;
	__u32 flags;
	int casefold, version;
	const struct ext2fs_nls_table *charset;
	struct name_hasher hasher;	/* of version, once read_index() set it */
	uint32_t nblocks;
	blk64_t *phys;
	uint8_t *kind;
	uint32_t *leaf_lo;
	uint64_t *leaf_next;
	struct hentry *e;
	size_t ne, ecap;
	char *names;		/* the original names, one after the other */
	size_t names_len, names_cap;
	uint32_t *codes;	/* by entry order, once named */
	/* naming (name_start()): the entries by group (name length) */
	struct hentry *grouped;
	uint32_t *group_at;	/* group k: grouped[group_at[k], group_at[k+1]) */
	size_t ngroups, nshorts;
	struct leafrec *leaves;
	size_t nleaves, leaves_cap;
	/*
	 * The leaf blocks the plan holds (is_leaf_slot()), in block order:
	 * slot i is block slot_lblk[i], its entries' codes are
	 * codes[slot_first[i], + slot_count[i]), once read.
	 */
	uint32_t nslots;
	uint32_t *slot_lblk, *slot_first, *slot_count;
	int leaves_read;
	uint32_t cur;		/* the block being collected */
	errcode_t err;
	char *buf;		/* READ_BLOCKS blocks */
};

#define SLOT_UNREAD	0xffffffffU

#define READ_BLOCKS	64

/* ------------------------------------------------------------------ */
/* hashes, fingerprints */

static int name_hash(const struct hdir *d, const char *name, unsigned int len,
		     uint32_t *hash)
{
	return e2q_name_hash(&d->hasher, name, len, hash);
}

/* 32 bits: two names that share them only cost a trial more. */
static uint32_t fingerprint(const char *name, unsigned int len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	unsigned int i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char) name[i]) * 0x100000001b3ULL;
	h ^= h >> 32;
	return (uint32_t) h | 1;	/* 0 marks a free slot */
}

struct fpset {
	uint32_t *v;
	size_t cap;		/* a power of two */
};

static int fpset_init(struct fpset *f, size_t n)
{
	f->cap = 64;
	while (f->cap < 3 * n)
		f->cap *= 2;
	f->v = calloc(f->cap, sizeof(*f->v));
	return f->v ? 0 : -1;
}

/* 1 when fp was there; else adds it (when add) and returns 0. */
static int fpset_test(struct fpset *f, uint32_t fp, int add)
{
	size_t j = (fp * 0x9e3779b1U) & (f->cap - 1);

	while (f->v[j]) {
		if (f->v[j] == fp)
			return 1;
		j = (j + 1) & (f->cap - 1);
	}
	if (add)
		f->v[j] = fp;
	return 0;
}

/* ------------------------------------------------------------------ */
/* the index */

static int wanted_block(const struct hdir *d, blk64_t blk)
{
	ext2_filsys fs = d->s->fs;

	return blk && blk >= fs->super->s_first_data_block &&
	       blk < ext2fs_blocks_count(fs->super) &&
	       ext2fs_test_block_bitmap2(d->map, blk);
}

static int read_lblk(struct hdir *d, uint32_t lblk, char *buf)
{
	if (lblk >= d->nblocks || !wanted_block(d, d->phys[lblk]))
		return -1;
	return io_channel_read_blk64(d->s->fs->io, d->phys[lblk], 1, buf) ?
	       -1 : 0;
}

static uint32_t get_le32(const char *p)
{
	__u32 v;

	memcpy(&v, p, 4);
	return ext2fs_le32_to_cpu(v);
}

static unsigned int get_le16(const char *p)
{
	__u16 v;

	memcpy(&v, p, 2);
	return ext2fs_le16_to_cpu(v);
}

/*
 * The index node lblk at `level` (0: the root) whose entries start at off;
 * its first entry's key is lo_key, and the keys it covers end before
 * hi_key.  Marks each child, and each leaf's range.
 */
static void walk_node(struct hdir *d, uint32_t lblk, unsigned int off,
		      int level, int depth, uint32_t lo_key, uint64_t hi_key)
{
	unsigned int bs = d->s->fs->blocksize, count, i;
	char *buf = malloc(bs);

	if (!buf) {
		d->err = ENOMEM;
		return;
	}
	if (read_lblk(d, lblk, buf) || off + NODE_ENTRIES > bs)
		goto out;
	count = get_le16(buf + off + 2);
	if (count > (bs - off) / DX_ENTRY)
		goto out;
	for (i = 0; i < count && !d->err; i++) {
		const char *ent = buf + off + i * DX_ENTRY;
		uint32_t key = i ? get_le32(ent) : lo_key;
		uint64_t next = i + 1 < count ? get_le32(ent + DX_ENTRY) : hi_key;
		uint32_t child = get_le32(ent + 4) & 0x0fffffff;

		if (!child || child >= d->nblocks || d->kind[child])
			continue;	/* damaged: e2fsck will say so */
		if (level + 1 < depth) {
			d->kind[child] = BLK_NODE;
			walk_node(d, child, NODE_ENTRIES, level + 1, depth, key,
				  next);
		} else {
			d->kind[child] = BLK_LEAF;
			d->leaf_lo[child] = key;
			d->leaf_next[child] = next;
		}
	}
out:
	free(buf);
}

static int note_block(ext2_filsys fs EXT2FS_ATTR((unused)), blk64_t *blocknr,
		      e2_blkcnt_t blockcnt,
		      blk64_t ref_blk EXT2FS_ATTR((unused)),
		      int ref_offset EXT2FS_ATTR((unused)), void *priv)
{
	struct hdir *d = priv;

	if (blockcnt >= 0 && (uint64_t) blockcnt < d->nblocks)
		d->phys[blockcnt] = *blocknr;
	return 0;
}

/* Reads the root and the index; -1 when the directory is made linear. */
static int read_index(struct hdir *d)
{
	ext2_filsys fs = d->s->fs;
	unsigned int bs = fs->blocksize;
	struct ext2_inode inode;
	ext2_dirhash_t h;
	uint64_t size;
	int levels;

	if (ext2fs_read_inode(fs, d->ino, &inode))
		return -1;
	size = EXT2_I_SIZE(&inode);
	if (size < bs || size / bs > MAX_DIR_BLOCKS)
		return -1;
	d->nblocks = (uint32_t) (size / bs);
	d->phys = calloc(d->nblocks, sizeof(*d->phys));
	d->kind = calloc(d->nblocks, 1);
	d->leaf_lo = calloc(d->nblocks, sizeof(*d->leaf_lo));
	d->leaf_next = calloc(d->nblocks, sizeof(*d->leaf_next));
	if (!d->phys || !d->kind || !d->leaf_lo || !d->leaf_next) {
		d->err = ENOMEM;
		return -1;
	}
	if (ext2fs_block_iterate3(fs, d->ino, BLOCK_FLAG_READ_ONLY |
				  BLOCK_FLAG_DATA_ONLY, NULL, note_block, d) ||
	    read_lblk(d, 0, d->buf))
		return -1;
	/* dx_root_info: reserved_zero, hash_version, info_length, levels */
	if (get_le32(d->buf + ROOT_INFO) != 0 ||
	    (unsigned char) d->buf[ROOT_INFO + 5] != 8)
		return -1;
	levels = (unsigned char) d->buf[ROOT_INFO + 6] + 1;
	d->version = (unsigned char) d->buf[ROOT_INFO + 4];
	if (d->version <= EXT2_HASH_TEA &&
	    (fs->super->s_flags & EXT2_FLAGS_UNSIGNED_HASH))
		d->version += 3;
	if (levels > MAX_LEVELS || ext2fs_dirhash(d->version, NULL, 0, NULL,
						   &h, NULL))
		return -1;
	e2q_name_hasher_init(&d->hasher, fs, d->version, d->charset,
			     d->casefold);
	d->kind[0] = BLK_ROOT;
	walk_node(d, 0, ROOT_INFO + 8, 0, levels, 0, (uint64_t) HASH_MAX + 1);
	return d->err ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* the entries */

static struct hentry *new_entry(struct hdir *d)
{
	if (d->ne == d->ecap) {
		size_t cap = d->ecap ? 2 * d->ecap : 256;
		struct hentry *t = realloc(d->e, cap * sizeof(*t));

		if (!t) {
			d->err = ENOMEM;
			return NULL;
		}
		d->e = t;
		d->ecap = cap;
	}
	memset(&d->e[d->ne], 0, sizeof(d->e[0]));
	d->e[d->ne].order = (uint32_t) d->ne;
	return &d->e[d->ne++];
}

/* Where the new hash of an entry whose old one is h0 must lie. */
static void set_target(const struct hdir *d, struct hentry *e, uint32_t h0)
{
	uint32_t lb = d->cur;
	uint64_t lo, next, fsck_hi;

	e->lo = 0;
	e->hi = HASH_MAX;
	e->wide = 1;
	if (d->kind[lb] != BLK_LEAF)
		return;		/* no index entry reaches it: any name */
	lo = d->leaf_lo[lb] & ~1U;
	next = d->leaf_next[lb];
	fsck_hi = next > HASH_MAX ? HASH_MAX : (next & ~1ULL);
	if (h0 < lo) {				/* below its range */
		e->hi = lo ? (uint32_t) (lo - 1) : 0;
		if (!lo)
			e->lo = 1;		/* empty: h0 < 0 cannot be */
	} else if (h0 > fsck_hi) {		/* above */
		e->lo = (uint32_t) (fsck_hi + 1);
	} else {
		e->lo = (uint32_t) lo;
		e->hi = next ? (uint32_t) (next - 1 > HASH_MAX ? HASH_MAX :
					   next - 1) : 0;
		if (!next || next - 1 < lo) {
			e->lo = 1;		/* empty */
			e->hi = 0;
		}
		e->wide = 0;
	}
}

/* Where e's new name must hash to, from its original name's hash. */
static void target_of(const struct hdir *d, struct hentry *e, const char *name)
{
	uint32_t h0 = 0;

	if (name_hash(d, name, e->len, &h0)) {
		e->lo = 0;		/* no hash to keep: any name */
		e->hi = HASH_MAX;
		e->wide = 1;
		return;
	}
	set_target(d, e, h0);
}

/*
 * target_of() for up to HASH_BATCH entries from e[k] of one block, whose
 * names follow each other from `name`, hashed at once; where they end.
 */
static const char *targets_of(struct hdir *d, size_t k, size_t n,
			      const char *name)
{
	const char *names[HASH_BATCH];
	unsigned int lens[HASH_BATCH], i;
	uint32_t h[HASH_BATCH];

	n = n < HASH_BATCH ? n : HASH_BATCH;
	for (i = 0; i < n; i++) {
		names[i] = name;
		lens[i] = d->e[k + i].len;
		name += lens[i];
	}
	if (e2q_name_hash_many(&d->hasher, names, lens, (unsigned int) n, h))
		for (i = 0; i < n; i++)
			target_of(d, &d->e[k + i], names[i]);
	else
		for (i = 0; i < n; i++)
			set_target(d, &d->e[k + i], h[i]);
	return name;
}

static int keep_name(struct hdir *d, const char *name, unsigned int len)
{
	if (d->names_len + len > d->names_cap) {
		size_t cap = d->names_cap ? 2 * d->names_cap : 4096;
		char *t;

		while (cap < d->names_len + len)
			cap *= 2;
		t = realloc(d->names, cap);
		if (!t)
			return -1;
		d->names = t;
		d->names_cap = cap;
	}
	memcpy(d->names + d->names_len, name, len);
	d->names_len += len;
	return 0;
}

/* The entry, its name kept for target_of() (the naming queue's work). */
static void collect_entry(void *priv, const char *name, unsigned int len)
{
	struct hdir *d = priv;
	struct hentry *e;

	e = new_entry(d);
	if (!e)
		return;
	if (keep_name(d, name, len)) {
		d->err = ENOMEM;
		return;
	}
	e->len = (uint8_t) len;
	/* only names that may repeat (name_group()) need it */
	if (len < E2Q_HTREE_DISTINCT_LEN)
		e->fp = fingerprint(name, len);
	e->code = E2Q_HTREE_KEEP;	/* until it is given a name */
	memcpy(e->head, name, len < 2 ? len : 2);
}

static errcode_t add_leafrec(struct hdir *d, uint32_t lblk, uint32_t first)
{
	if (d->nleaves == d->leaves_cap) {
		size_t cap = d->leaves_cap ? 2 * d->leaves_cap : 64;
		struct leafrec *t = realloc(d->leaves, cap * sizeof(*t));

		if (!t)
			return ENOMEM;
		d->leaves = t;
		d->leaves_cap = cap;
	}
	d->leaves[d->nleaves++] = (struct leafrec) {
		lblk, first, (uint32_t) d->ne - first, 0 };
	return 0;
}

static void collect_block(struct hdir *d, uint32_t lblk, char *buf)
{
	struct scramble_call c = { .s = d->s };
	struct namer n;
	uint32_t first = (uint32_t) d->ne;

	e2q_namer_init(&n, d->ino, NULL);
	n.collect = collect_entry;
	n.collect_priv = d;
	d->cur = lblk;
	e2q_scramble_dirents(&c, &n, buf, e2q_dir_block_names_len(d->s->fs,
								 buf), 1);
	if (!d->err)
		d->err = add_leafrec(d, lblk, first);
}

/* A leaf of the plan: every block of the export but the index blocks. */
static int is_leaf_slot(const struct hdir *d, uint32_t lblk)
{
	return lblk > 0 && d->kind[lblk] != BLK_NODE &&
	       wanted_block(d, d->phys[lblk]);
}

/*
 * Reads the leaves in runs of consecutive blocks, and collects; the slots
 * of a run that cannot be read stay SLOT_UNREAD (the pass, reading them,
 * will say why).  Not the map: it may run beside the pass, on any thread.
 */
static void collect_leaves(struct hdir *d)
{
	unsigned int bs = d->s->fs->blocksize;
	uint32_t slot = 0, k, i;

	while (slot < d->nslots && !d->err) {
		const uint32_t *lb = d->slot_lblk + slot;

		for (k = 1; k < READ_BLOCKS && slot + k < d->nslots &&
			    lb[k] == lb[0] + k &&
			    d->phys[lb[k]] == d->phys[lb[0]] + k; k++)
			;
		if (io_channel_read_blk64(d->s->fs->io, d->phys[lb[0]],
					  (int) k, d->buf) == 0)
			for (i = 0; i < k && !d->err; i++) {
				d->slot_first[slot + i] = (uint32_t) d->ne;
				collect_block(d, lb[i], d->buf + i * bs);
				d->slot_count[slot + i] = (uint32_t) d->ne -
					d->slot_first[slot + i];
			}
		slot += k;
	}
}

/* Reads and collects the leaves, in a buffer of its own when it has none. */
static errcode_t read_leaves(struct hdir *d)
{
	char *own = NULL;

	if (d->leaves_read)
		return 0;
	if (!d->buf) {
		own = malloc((size_t) READ_BLOCKS * d->s->fs->blocksize);
		if (!own)
			return ENOMEM;
		d->buf = own;
	}
	collect_leaves(d);
	d->leaves_read = 1;
	if (own) {
		free(own);
		d->buf = NULL;
	}
	return d->err;
}

/* ------------------------------------------------------------------ */
/* the trials */

/* Leaves in the order of their ranges (by_range), for the slots. */
static uint64_t range_key(const struct hdir *d, uint32_t lblk)
{
	if (d->kind[lblk] != BLK_LEAF)
		return 0;
	return ((uint64_t) (d->leaf_lo[lblk] & ~1U) << 32) |
	       (d->leaf_next[lblk] > HASH_MAX ? HASH_MAX :
		(uint32_t) d->leaf_next[lblk]);
}

static int by_range(const void *a, const void *b)
{
	const struct leafrec *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

/* The entries with one target range, filled in order from pos. */
struct slot {
	uint32_t lo, hi;
	size_t pos, end;
};

struct group {
	struct hdir *d;
	struct hentry *e;	/* the group's entries, n of them */
	size_t n, nslots, nwide, wide_at, pending;
	struct slot *slots;
	struct hentry *wide;	/* e + nwide entries with wide targets */
	struct fpset used;
	const struct hentry *shorts;	/* casefold: entries of <= 2 bytes */
	size_t nshorts;
	int distinct;		/* names never repeat: no set */
	struct e2q_htree_stats *st;	/* the naming thread's own counts */
};

/* The slot whose range holds h and still waits for a name, or NULL. */
static struct slot *slot_for(struct group *g, uint32_t h)
{
	size_t lo = 0, hi = g->nslots;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g->slots[mid].lo <= h)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* lo: the slots from there start above h; two may share one hash */
	while (lo > 0) {
		struct slot *sl = &g->slots[--lo];

		if (h > sl->hi)
			return NULL;
		if (sl->pos < sl->end)
			return sl;
		if (lo && g->slots[lo - 1].hi < h)
			return NULL;
	}
	return NULL;
}

static struct hentry *wide_for(struct group *g, uint32_t h)
{
	size_t i, tried = 0;

	for (i = g->wide_at; i < g->nwide && tried < WIDE_CHECKS; i++) {
		struct hentry *e = &g->wide[i];

		if (e->code != E2Q_HTREE_KEEP)
			continue;
		tried++;
		if (e->lo <= h && h <= e->hi)
			return e;
	}
	while (g->wide_at < g->nwide &&
	       g->wide[g->wide_at].code != E2Q_HTREE_KEEP)
		g->wide_at++;
	return NULL;
}

/* In a casefolded directory: a short name folds to an original one. */
static int folds_to_original(const struct group *g, const char *name,
			     unsigned int len)
{
	size_t i;

	for (i = 0; i < g->nshorts; i++)
		if (!ext2fs_casefold_cmp(g->d->charset,
					 (const unsigned char *) name, (int) len,
					 (const unsigned char *) g->shorts[i].head,
					 g->shorts[i].len))
			return 1;
	return 0;
}

static int free_name(struct group *g, unsigned int len, char *name,
		     uint32_t *fp)
{
	if (g->distinct)
		return 1;
	*fp = fingerprint(name, len);
	if (fpset_test(&g->used, *fp, 0))
		return 0;
	return !(g->d->casefold && len <= 2 && folds_to_original(g, name, len));
}

static void give(struct group *g, struct hentry *e, uint32_t code,
		 uint32_t fp)
{
	e->code = code;
	if (!g->distinct)
		fpset_test(&g->used, fp, 1);
	g->pending--;
}

/* Trial t's name, of hash h, fits a waiting entry: gives it. */
static void place_trial(struct group *g, unsigned int len, uint32_t t,
			char *name, uint32_t h)
{
	struct slot *sl;
	struct hentry *e;
	uint32_t fp = 0;

	if (!free_name(g, len, name, &fp))
		return;
	sl = g->nslots ? slot_for(g, h) : NULL;
	if (sl) {
		give(g, &g->e[sl->pos++], t, fp);
		return;
	}
	e = g->nwide ? wide_for(g, h) : NULL;
	if (e)
		give(g, e, t, fp);
}

/*
 * Trials t to t + n - 1 (n <= HASH_BATCH), their names hashed at once, in
 * order until no entry waits; how many were made.  A name without a hash
 * (a casefolded one libext2fs refuses) is no trial's.
 */
static uint32_t try_names(struct group *g, unsigned int len, uint32_t t,
			  unsigned int n)
{
	char names[HASH_BATCH][EXT2_NAME_LEN];
	const char *p[HASH_BATCH] = { NULL };
	unsigned int lens[HASH_BATCH] = { 0 }, i;
	uint32_t h[HASH_BATCH];
	int one_by_one;

	for (i = 0; i < n; i++) {
		e2q_htree_name(g->d->ino, len, t + i, g->d->casefold, names[i]);
		p[i] = names[i];
		lens[i] = len;
	}
	one_by_one = e2q_name_hash_many(&g->d->hasher, p, lens, n, h) != 0;
	for (i = 0; i < n && g->pending; i++)
		if (!one_by_one || !name_hash(g->d, names[i], len, &h[i]))
			place_trial(g, len, t + i, names[i], h[i]);
	return i;
}

/* Entries no trial placed: short ones stay, others take any free name. */
static void place_rest(struct group *g, unsigned int len, uint32_t t,
		       uint64_t budget)
{
	struct e2q_htree_stats *st = g->st;
	size_t i;

	for (i = 0; i < g->n; i++) {
		struct hentry *e = &g->e[i];
		char name[EXT2_NAME_LEN];
		uint32_t fp = 0;
		int found = 0;

		if (e->code != E2Q_HTREE_KEEP)
			continue;
		while (len > 2 && !found && t < budget) {
			e2q_htree_name(g->d->ino, len, t, g->d->casefold, name);
			found = free_name(g, len, name, &fp);
			t += !found;
		}
		if (found) {
			give(g, e, t++, fp);
			st->off_range++;
		} else {
			st->kept_short++;
		}
	}
}

static errcode_t build_slots(struct group *g)
{
	size_t i;

	g->slots = calloc(g->n ? g->n : 1, sizeof(*g->slots));
	if (!g->slots)
		return ENOMEM;
	for (i = 0; i < g->n && !g->e[i].wide; i++) {
		struct slot *last = g->nslots ? &g->slots[g->nslots - 1] : NULL;

		if (g->e[i].lo > g->e[i].hi)
			continue;	/* an empty range: place_rest() */
		if (last && last->lo == g->e[i].lo && last->hi == g->e[i].hi &&
		    last->end == i) {
			last->end++;
			continue;
		}
		g->slots[g->nslots++] = (struct slot) {
			g->e[i].lo, g->e[i].hi, i, i + 1 };
	}
	g->wide = g->e + i;
	g->nwide = g->n - i;
	return 0;
}

/*
 * How many random names to try: enough for the narrowest range to be hit
 * a dozen times on average (one in 10^5 misses it), at most MAX_TRIALS.
 */
static uint64_t trial_budget(const struct group *g)
{
	uint64_t budget = (1ULL << 20) + 64ULL * g->n, evens = 1ULL << 31;
	size_t i;

	for (i = 0; i < g->nslots; i++) {
		uint64_t width = ((uint64_t) g->slots[i].hi - g->slots[i].lo) / 2 + 1;

		if (width < evens)
			evens = width;
	}
	if (g->nslots && 12 * ((1ULL << 31) / evens) > budget)
		budget = 12 * ((1ULL << 31) / evens);
	return budget < MAX_TRIALS ? budget : MAX_TRIALS;
}

/* Names for the n entries of one length, from e (group_entries()). */
static errcode_t name_group(struct hdir *d, struct hentry *e, size_t n,
			    const struct hentry *shorts, size_t nshorts,
			    struct e2q_htree_stats *st)
{
	struct group g = { .d = d, .e = e, .n = n, .shorts = shorts,
			   .nshorts = nshorts, .st = st };
	unsigned int len = e[0].len;
	uint32_t space = e2q_htree_name_space(len, d->casefold);
	uint64_t budget, t, names = 0;
	size_t i;

	if (!len)
		return 0;	/* a damaged entry without a name stays so */
	if (fpset_init(&g.used, len >= E2Q_HTREE_DISTINCT_LEN ? 0 : n) ||
	    build_slots(&g)) {
		free(g.used.v);
		free(g.slots);
		return ENOMEM;
	}
	/*
	 * Originals are taken (a new name never repeats an old one), but for
	 * long names, where a repeat has the odds of a 7-letter guess.
	 */
	g.distinct = len >= E2Q_HTREE_DISTINCT_LEN;
	for (i = 0; i < n && !g.distinct; i++)
		fpset_test(&g.used, e[i].fp, 1);
	g.pending = names = n;
	budget = space ? space : trial_budget(&g);
	for (t = 0; g.pending && t < budget; )
		t += try_names(&g, len, (uint32_t) t, budget - t < HASH_BATCH ?
			       (unsigned int) (budget - t) : HASH_BATCH);
	st->trials += t;
	st->names += names - g.pending;
	if (g.pending)
		place_rest(&g, len, (uint32_t) t, space ? space : 2 * budget);
	free(g.used.v);
	free(g.slots);
	return 0;
}

/*
 * The entries by length; within a length, those with a leaf's own range
 * first, leaf by leaf in the order of the ranges, then the wide ones: a
 * counting sort, the leaves already in order.
 */
static struct hentry *group_entries(struct hdir *d)
{
	size_t pos[2 * (EXT2_NAME_LEN + 1) + 1], i, k, sum = 0;
	struct leafrec *order = malloc(d->nleaves * sizeof(*order));
	struct hentry *out = malloc(d->ne * sizeof(*out));

	if (!order || !out) {
		free(order);
		free(out);
		return NULL;
	}
	memset(pos, 0, sizeof(pos));
	for (i = 0; i < d->ne; i++)
		pos[2 * d->e[i].len + d->e[i].wide]++;
	for (k = 0; k < sizeof(pos) / sizeof(pos[0]); k++) {
		size_t n = pos[k];

		pos[k] = sum;
		sum += n;
	}
	memcpy(order, d->leaves, d->nleaves * sizeof(*order));
	for (i = 0; i < d->nleaves; i++)
		order[i].key = range_key(d, order[i].lblk);
	qsort(order, d->nleaves, sizeof(*order), by_range);
	for (i = 0; i < d->nleaves; i++)
		for (k = order[i].first; k < order[i].first + order[i].count; k++)
			out[pos[2 * d->e[k].len + d->e[k].wide]++] = d->e[k];
	free(order);
	return out;
}

/*
 * Naming a directory: name_start() groups its entries by length; then the
 * groups, independent of each other, are named by whichever thread claims
 * them (scramble_naming.c); e2q_htree_name_end() puts the codes back in the
 * entries' order.  Each group's names depend on its entries alone, and the
 * counts are sums: the plan is the same whoever names what.
 */
static errcode_t name_start(struct hdir *d)
{
	size_t i, j, k;

	if (!d->ne)
		return 0;
	d->grouped = group_entries(d);
	d->codes = malloc(d->ne * sizeof(*d->codes));
	if (!d->grouped || !d->codes)
		return ENOMEM;
	while (d->nshorts < d->ne && d->grouped[d->nshorts].len <= 2)
		d->nshorts++;
	for (i = 1, k = 1; i < d->ne; i++)
		k += d->grouped[i].len != d->grouped[i - 1].len;
	d->group_at = malloc((k + 1) * sizeof(*d->group_at));
	if (!d->group_at)
		return ENOMEM;
	for (i = k = 0; i < d->ne; i = j, k++) {
		for (j = i + 1; j < d->ne &&
			    d->grouped[j].len == d->grouped[i].len; j++)
			;
		d->group_at[k] = (uint32_t) i;
	}
	d->group_at[k] = (uint32_t) d->ne;
	d->ngroups = k;
	return 0;
}

errcode_t e2q_htree_name_group(struct hdir *d, size_t k,
			       struct e2q_htree_stats *st)
{
	struct hentry *e = d->grouped + d->group_at[k];

	return name_group(d, e, d->group_at[k + 1] - d->group_at[k],
			  d->grouped, d->casefold ? d->nshorts : 0, st);
}

void e2q_htree_add_stats(struct e2q_htree_stats *to,
			 const struct e2q_htree_stats *from)
{
	to->dirs += from->dirs;
	to->linear_dirs += from->linear_dirs;
	to->names += from->names;
	to->trials += from->trials;
	to->kept_short += from->kept_short;
	to->off_range += from->off_range;
}

/* ------------------------------------------------------------------ */
/* the plan */

static errcode_t add_hblock(e2q_scrambler *s, const struct htree_block *b)
{
	if (s->nhblocks == s->hblocks_cap) {
		size_t cap = s->hblocks_cap ? 2 * s->hblocks_cap : 256;
		struct htree_block *t = realloc(s->hblocks, cap * sizeof(*t));

		if (!t)
			return ENOMEM;
		s->hblocks = t;
		s->hblocks_cap = cap;
	}
	s->hblocks[s->nhblocks++] = *b;
	return 0;
}

/*
 * Its blocks: index blocks, and leaves by their slot (collect_leaves()),
 * whose names naming job `job` gives (e2q_htree_leaf_codes()).
 */
static errcode_t store_plan(struct hdir *d, uint32_t job)
{
	e2q_scrambler *s = d->s;
	errcode_t err = 0;
	uint32_t l;

	for (l = 0; l < d->nblocks; l++)
		d->nslots += is_leaf_slot(d, l);
	d->slot_lblk = malloc((d->nslots + 1) * sizeof(uint32_t));
	d->slot_first = malloc((d->nslots + 1) * sizeof(uint32_t));
	d->slot_count = malloc((d->nslots + 1) * sizeof(uint32_t));
	if (!d->slot_lblk || !d->slot_first || !d->slot_count)
		return ENOMEM;
	memset(d->slot_count, 0xff, d->nslots * sizeof(uint32_t));
	d->nslots = 0;
	for (l = 0; l < d->nblocks && !err; l++) {
		if ((d->kind[l] == BLK_ROOT || d->kind[l] == BLK_NODE) &&
		    wanted_block(d, d->phys[l]))
			err = add_hblock(s, &(struct htree_block) {
				d->phys[l], d->ino, 0, 0, E2Q_HTREE_INDEX,
				d->casefold });
		else if (is_leaf_slot(d, l)) {
			d->slot_lblk[d->nslots] = l;
			err = add_hblock(s, &(struct htree_block) {
				d->phys[l], d->ino, d->nslots++, job,
				E2Q_HTREE_LEAF, d->casefold });
		}
	}
	return err;
}

int e2q_htree_leaf_codes(const struct hdir *d, uint32_t slot,
			 const uint32_t **codes, uint32_t *n)
{
	if (slot >= d->nslots || d->slot_count[slot] == SLOT_UNREAD)
		return -1;
	*codes = d->codes ? d->codes + d->slot_first[slot] : NULL;
	*n = d->slot_count[slot];
	return 0;
}

static errcode_t add_linear(e2q_scrambler *s, ext2_ino_t ino)
{
	if (s->nlinear == s->linear_cap) {
		size_t cap = s->linear_cap ? 2 * s->linear_cap : 64;
		ext2_ino_t *t = realloc(s->linear_dirs, cap * sizeof(*t));

		if (!t)
			return ENOMEM;
		s->linear_dirs = t;
		s->linear_cap = cap;
	}
	s->linear_dirs[s->nlinear++] = ino;
	s->hstats.linear_dirs++;
	return 0;
}

/* What d holds until it is named, roughly. */
static size_t dir_bytes(const struct hdir *d)
{
	return (size_t) d->nblocks * 33 + d->ecap * sizeof(*d->e) +
	       d->names_cap + d->ne * sizeof(uint32_t);
}

/* What only reading and planning it needed. */
static void shed_reading(struct hdir *d)
{
	free(d->phys);
	free(d->names);
	free(d->kind);
	free(d->leaf_lo);
	free(d->leaf_next);
	free(d->e);
	free(d->leaves);
	d->phys = NULL;
	d->names = NULL;
	d->kind = NULL;
	d->leaf_lo = NULL;
	d->leaf_next = NULL;
	d->e = NULL;
	d->leaves = NULL;
}

static void free_dir(struct hdir *d)
{
	if (!d)
		return;
	shed_reading(d);
	free(d->codes);
	free(d->grouped);
	free(d->group_at);
	free(d->slot_lblk);
	free(d->slot_first);
	free(d->slot_count);
	free(d);
}

void e2q_htree_dir_free(struct hdir *d)
{
	free_dir(d);
}

void e2q_htree_name_end(struct hdir *d)
{
	size_t i;

	/* the codes back in the entries' order, as the blocks hold them */
	for (i = 0; i < d->ne; i++)
		d->codes[d->grouped[i].order] = d->grouped[i].code;
	free(d->grouped);
	free(d->group_at);
	d->grouped = NULL;
	d->group_at = NULL;
}

errcode_t e2q_htree_targets(struct hdir *d, size_t *ngroups)
{
	const char *name;
	errcode_t err;
	size_t i, k;

	*ngroups = 0;
	err = read_leaves(d);
	if (err)
		return err;
	name = d->names;
	for (i = 0; i < d->nleaves; i++) {
		const struct leafrec *r = &d->leaves[i];

		d->cur = r->lblk;
		for (k = r->first; k < r->first + r->count; k += HASH_BATCH)
			name = targets_of(d, k, r->first + r->count - k, name);
	}
	err = name_start(d);
	shed_reading(d);
	free(d->slot_lblk);
	d->slot_lblk = NULL;
	*ngroups = err ? 0 : d->ngroups;
	return err;
}

/*
 * Reads directory ino's index: *ret, its leaves to read (read_leaves()) and
 * name; NULL when it is made linear.
 */
static errcode_t read_dir(e2q_scrambler *s, ext2fs_block_bitmap map,
			  ext2_ino_t ino, __u32 flags, char *buf,
			  struct hdir **ret)
{
	struct hdir *d = calloc(1, sizeof(*d));
	errcode_t err;

	*ret = NULL;
	if (!d)
		return ENOMEM;
	d->s = s;
	d->map = map;
	d->ino = ino;
	d->flags = flags;
	d->buf = buf;
	d->casefold = (flags & EXT4_CASEFOLD_FL) &&
		      ext2fs_has_feature_casefold(s->fs->super);
	d->charset = s->fs->encoding;
	if (d->casefold && !d->charset)
		d->charset = ext2fs_load_nls_table(s->fs->super->s_encoding);
	if ((d->casefold && !d->charset) || read_index(d)) {
		err = d->err ? d->err : add_linear(s, ino);
		free_dir(d);
		return err;
	}
	d->buf = NULL;		/* the caller's, and read_dir()'s alone */
	*ret = d;
	return 0;
}

/*
 * Reads each directory's index, in the order of its first block, plans its
 * blocks and hands it to the naming queue, which reads its leaves and
 * names it on a thread of its own (scramble_naming.c), when the channel
 * may be read from two threads; else they are read here.  Naming job i is
 * the i-th directory kept.
 */
static errcode_t plan_dirs(e2q_scrambler *s, ext2fs_block_bitmap map,
			   const ext2_ino_t *inos, const __u32 *flags, size_t n,
			   char *buf)
{
	int read_now = !(s->fs->io->flags & CHANNEL_FLAGS_THREADS);
	struct hdir *d;
	errcode_t err = 0;
	uint32_t job = 0;
	size_t i;

	for (i = 0; i < n && !err; i++) {
		err = read_dir(s, map, inos[i], flags[i], buf, &d);
		if (err || !d)
			continue;
		err = store_plan(d, job);
		if (!err && read_now) {
			d->buf = buf;
			err = read_leaves(d);
			d->buf = NULL;
		}
		if (err) {
			free_dir(d);
			continue;
		}
		s->hstats.dirs++;
		err = e2q_naming_add(s, d, dir_bytes(d));
		job++;
	}
	return err;
}

static int by_ino(const void *a, const void *b)
{
	ext2_ino_t x = *(const ext2_ino_t *) a, y = *(const ext2_ino_t *) b;

	return x < y ? -1 : x > y;
}

static int by_blk(const void *a, const void *b)
{
	blk64_t x = ((const struct htree_block *) a)->blk;
	blk64_t y = ((const struct htree_block *) b)->blk;

	return x < y ? -1 : x > y;
}

static int is_kept_htree(__u32 flags)
{
	return (flags & EXT2_INDEX_FL) && !(flags & EXT4_ENCRYPT_FL);
}

struct dir_at {
	ext2_ino_t ino;
	blk64_t first;		/* its first block in the runs */
};

static int by_ino_then_blk(const void *a, const void *b)
{
	const struct dir_at *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

static int by_first(const void *a, const void *b)
{
	const struct dir_at *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* The htree directories of the runs, each once, in the order of its first. */
static size_t order_htree_dirs(const e2q_scrambler *s, struct dir_at *at)
{
	size_t i, k = 0, m = 0;

	for (i = 0; i < s->nruns; i++)
		if (s->runs[i].role == E2Q_META_DIR &&
		    is_kept_htree(s->runs[i].dir_flags))
			at[m++] = (struct dir_at) { s->runs[i].ino,
						    s->runs[i].first };
	if (m)
		qsort(at, m, sizeof(*at), by_ino_then_blk);
	for (i = 0; i < m; i++)
		if (!k || at[k - 1].ino != at[i].ino)
			at[k++] = at[i];
	if (k)
		qsort(at, k, sizeof(*at), by_first);
	return k;
}

static errcode_t list_htree_dirs(e2q_scrambler *s, ext2_ino_t **ret,
				 __u32 **ret_flags, size_t *n)
{
	size_t i, k = 0;
	struct dir_at *at;
	ext2_ino_t *inos;
	__u32 *flags;

	for (i = 0; i < s->nruns; i++)
		k += s->runs[i].role == E2Q_META_DIR &&
		     is_kept_htree(s->runs[i].dir_flags);
	at = calloc(k ? k : 1, sizeof(*at));
	inos = calloc(k ? k : 1, sizeof(*inos));
	flags = calloc(k ? k : 1, sizeof(*flags));
	if (!at || !inos || !flags) {
		free(at);
		free(inos);
		free(flags);
		return ENOMEM;
	}
	k = order_htree_dirs(s, at);
	for (i = 0; i < k; i++) {
		inos[i] = at[i].ino;
		flags[i] = e2q_scramble_dir_flags(s->fs, inos[i], NULL, NULL);
	}
	free(at);
	*ret = inos;
	*ret_flags = flags;
	*n = k;
	return 0;
}

errcode_t e2q_htree_plan(e2q_scrambler *s, ext2fs_block_bitmap map)
{
	ext2_ino_t *inos = NULL;
	__u32 *flags = NULL;
	size_t n = 0;
	errcode_t err;
	char *buf;

	e2q_naming_stop(s);
	s->nhblocks = s->nlinear = 0;
	memset(&s->hstats, 0, sizeof(s->hstats));
	buf = malloc((size_t) READ_BLOCKS * s->fs->blocksize);
	err = buf ? list_htree_dirs(s, &inos, &flags, &n) : ENOMEM;
	if (!err)
		err = plan_dirs(s, map, inos, flags, n, buf);
	if (!err && s->nhblocks)
		qsort(s->hblocks, s->nhblocks, sizeof(*s->hblocks), by_blk);
	if (!err && s->nlinear)
		qsort(s->linear_dirs, s->nlinear, sizeof(*s->linear_dirs),
		      by_ino);
	free(buf);
	free(inos);
	free(flags);
	return err;
}

const struct htree_block *e2q_htree_block_of(const e2q_scrambler *s,
					     blk64_t blk)
{
	size_t lo = 0, hi = s->nhblocks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->hblocks[mid].blk < blk)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->nhblocks && s->hblocks[lo].blk == blk)
		return &s->hblocks[lo];
	return NULL;
}

int e2q_htree_made_linear(const e2q_scrambler *s, ext2_ino_t dir)
{
	return s->nlinear &&
	       bsearch(&dir, s->linear_dirs, s->nlinear,
		       sizeof(*s->linear_dirs), by_ino) != NULL;
}

void e2q_scrambler_htree_stats(const e2q_scrambler *s,
			       struct e2q_htree_stats *st)
{
	*st = s->hstats;
	e2q_naming_wait_all(s, st);	/* an error was the passes' to report */
}
