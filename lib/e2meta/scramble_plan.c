/*
 * scramble_plan.c --- e2q_scrambler_prepare(): fixes every new name before
 * any block is scrambled, so that scrambling is a function of a block's
 * bytes and of the plan, the same in every pass.
 *
 * The n-th name of length L in a directory, counting over its blocks in
 * ascending block order, becomes name number n (scramble_dirs.c).  prepare()
 * reads the directory blocks in that order, counts the names per
 * (directory, length) as the renaming makes them, and keeps, for each block
 * that does not start every length at 0, where its lengths start.  The
 * counters go when prepare() ends.  With a renamed callback it also reads
 * the inode tables, in the same ascending order, for the names of inline
 * directories, so that the callback sees every entry once, in block order.
 * Before that, the names of htree directories that keep their index are
 * chosen, a directory at a time (scramble_htree.c); their blocks are read
 * again here only for the callback.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "e2meta/scramble_int.h"

#define READ_BYTES	(1U << 20)	/* the most read at once */
#define GAP_BYTES	(64U << 10)	/* read through, rather than seek */

struct name_counter {
	uint64_t key;		/* directory inode << 8 | name length; 0: free */
	uint32_t next;		/* names of that length made so far */
};

struct planner {
	e2q_scrambler *s;
	ext2fs_block_bitmap map;
	struct name_counter *counters;
	size_t ncounters, counters_cap;	/* cap is a power of two */
	/* the blocks being gathered for one read: [lo, hi), wanted ones */
	blk64_t lo, hi;
	blk64_t *wanted;
	size_t nwanted, max_blocks, gap_blocks;
	char *buf;
};

static uint64_t hash_key(uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	return key ^ (key >> 33);
}

static int grow_counters(struct planner *p)
{
	size_t i, cap = p->counters_cap ? p->counters_cap * 2 : 1024;
	struct name_counter *old = p->counters, *t = calloc(cap, sizeof(*t));

	if (!t)
		return -1;
	for (i = 0; i < p->counters_cap; i++) {
		size_t j = hash_key(old[i].key) & (cap - 1);

		if (!old[i].key)
			continue;
		while (t[j].key)
			j = (j + 1) & (cap - 1);
		t[j] = old[i];
	}
	free(old);
	p->counters = t;
	p->counters_cap = cap;
	return 0;
}

/* The slot of key: its own, or the free one where it would go. */
static struct name_counter *slot_of(struct planner *p, uint64_t key)
{
	size_t j = hash_key(key) & (p->counters_cap - 1);

	while (p->counters[j].key && p->counters[j].key != key)
		j = (j + 1) & (p->counters_cap - 1);
	return &p->counters[j];
}

uint32_t e2q_plan_counter(struct planner *p, ext2_ino_t dir, unsigned int len)
{
	if (!p->counters_cap)
		return 0;
	return slot_of(p, ((uint64_t) dir << 8) | len)->next;
}

static errcode_t set_counter(struct planner *p, ext2_ino_t dir,
			     unsigned int len, uint32_t next)
{
	uint64_t key = ((uint64_t) dir << 8) | len;
	struct name_counter *c;

	if (2 * (p->ncounters + 1) > p->counters_cap && grow_counters(p))
		return ENOMEM;
	c = slot_of(p, key);
	if (!c->key) {
		c->key = key;
		p->ncounters++;
	}
	c->next = next;
	return 0;
}

static errcode_t add_start(e2q_scrambler *s, unsigned int len, uint32_t next)
{
	if (s->nstarts == s->starts_cap) {
		size_t cap = s->starts_cap ? 2 * s->starts_cap : 1024;
		struct name_start *t = realloc(s->starts, cap * sizeof(*t));

		if (!t)
			return ENOMEM;
		s->starts = t;
		s->starts_cap = cap;
	}
	s->starts[s->nstarts++] = (struct name_start) { next, (uint8_t) len };
	return 0;
}

static errcode_t add_planned(e2q_scrambler *s, blk64_t blk, size_t at)
{
	if (s->nplanned == s->planned_cap) {
		size_t cap = s->planned_cap ? 2 * s->planned_cap : 1024;
		struct planned_block *t = realloc(s->planned, cap * sizeof(*t));

		if (!t)
			return ENOMEM;
		s->planned = t;
		s->planned_cap = cap;
	}
	s->planned[s->nplanned++] = (struct planned_block) { blk, at };
	return 0;
}

errcode_t e2q_plan_block_done(struct planner *p, blk64_t blk,
			      const struct namer *n)
{
	e2q_scrambler *s = p->s;
	size_t at = s->nstarts;
	unsigned int len;
	errcode_t err = 0;

	for (len = 0; len <= EXT2_NAME_LEN && !err; len++) {
		uint32_t was;

		if (!(n->begun[len / 8] & (1U << (len % 8))))
			continue;
		was = e2q_plan_counter(p, n->dir, len);
		if (was)
			err = add_start(s, len, was);
		if (!err && n->next[len] != was)
			err = set_counter(p, n->dir, len, n->next[len]);
	}
	if (!err && s->nstarts > at)
		err = add_planned(s, blk, at);
	return err;
}

const struct name_start *e2q_plan_starts(const e2q_scrambler *s, blk64_t blk,
					 size_t *n)
{
	size_t lo = 0, hi = s->nplanned, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->planned[mid].blk < blk)
			lo = mid + 1;
		else
			hi = mid;
	}
	*n = 0;
	if (lo == s->nplanned || s->planned[lo].blk != blk)
		return NULL;
	end = lo + 1 < s->nplanned ? s->planned[lo + 1].at : s->nstarts;
	*n = end - s->planned[lo].at;
	return s->starts + s->planned[lo].at;
}

void e2q_plan_report(struct planner *p, ext2_ino_t dir, const char *old_name,
		     const char *new_name, unsigned int len)
{
	if (p->s->opts.renamed)
		p->s->opts.renamed(p->s->opts.priv, dir, old_name, new_name,
				   len);
}

/* Renames, in a copy, the blocks gathered; an unreadable block is left out. */
static errcode_t plan_gathered(struct planner *p)
{
	struct scramble_call c = { .s = p->s, .plan = p };
	io_channel io = p->s->fs->io;
	unsigned int bs = p->s->fs->blocksize;
	int whole = io_channel_read_blk64(io, p->lo, (int) (p->hi - p->lo),
					  p->buf) == 0;
	size_t i;

	for (i = 0; i < p->nwanted && !c.err; i++) {
		blk64_t blk = p->wanted[i];
		char *buf = p->buf + (blk - p->lo) * bs;

		if (whole || io_channel_read_blk64(io, blk, 1, buf) == 0)
			e2q_scramble_one_block(&c, blk, buf);
	}
	p->nwanted = 0;
	return c.err;
}

/* Gathers blk into the next read, reading the ones before when it is full. */
static errcode_t plan_block(struct planner *p, blk64_t blk)
{
	errcode_t err = 0;

	if (p->nwanted && (blk - p->hi > p->gap_blocks ||
			   blk - p->lo >= p->max_blocks))
		err = plan_gathered(p);
	if (!p->nwanted)
		p->lo = blk;
	p->hi = blk + 1;
	p->wanted[p->nwanted++] = blk;
	return err;
}

/* A block of the export whose names the plan needs, or the callback. */
static int is_wanted(struct planner *p, blk64_t blk)
{
	ext2_filsys fs = p->s->fs;
	const struct role_run *r;

	if (blk >= fs->super->s_first_data_block &&
	    (blk >= ext2fs_blocks_count(fs->super) ||
	     !ext2fs_test_block_bitmap2(p->map, blk)))
		return 0;	/* not in the export */
	r = e2q_scramble_role_of(p->s, blk);
	if (r && r->role == E2Q_META_DIR)	/* htree blocks: for reports */
		return p->s->opts.renamed || !e2q_htree_block_of(p->s, blk);
	return p->s->opts.renamed && e2q_scramble_in_itable(p->s, blk);
}

/*
 * The directory runs, and the inode tables when the callback wants the
 * names of inline directories, merged in ascending order: every block of
 * the export that may hold names, once.
 */
static errcode_t plan_all(struct planner *p)
{
	const e2q_scrambler *s = p->s;
	blk64_t pos = 0;
	size_t i = 0, j = s->opts.renamed ? 0 : s->nitables;
	errcode_t err = 0;

	while (!err) {
		blk64_t next = ~(blk64_t) 0, at;

		while (i < s->nruns && (s->runs[i].role != E2Q_META_DIR ||
					s->runs[i].first + s->runs[i].count <= pos))
			i++;
		while (j < s->nitables &&
		       e2q_scramble_itable_run_end(s, &s->itables[j]) <= pos)
			j++;
		if (i < s->nruns)
			next = s->runs[i].first > pos ? s->runs[i].first : pos;
		if (j < s->nitables) {
			at = s->itables[j].first > pos ? s->itables[j].first : pos;
			next = at < next ? at : next;
		}
		if (i == s->nruns && j == s->nitables)
			break;
		pos = next + 1;
		if (is_wanted(p, next))
			err = plan_block(p, next);
	}
	if (!err && p->nwanted)
		err = plan_gathered(p);
	return err;
}

errcode_t e2q_scrambler_prepare(e2q_scrambler *s, ext2fs_block_bitmap map)
{
	unsigned int bs = s->fs->blocksize;
	struct planner p;
	errcode_t err;

	err = e2q_scramble_index_blocks(s);
	if (!err)
		err = e2q_htree_plan(s, map);
	if (err)
		return err;
	memset(&p, 0, sizeof(p));
	p.s = s;
	p.map = map;
	p.max_blocks = READ_BYTES > bs ? READ_BYTES / bs : 1;
	p.gap_blocks = GAP_BYTES / bs;
	s->nplanned = s->nstarts = 0;
	p.buf = malloc(p.max_blocks * bs);
	p.wanted = calloc(p.max_blocks, sizeof(*p.wanted));
	err = p.buf && p.wanted ? plan_all(&p) : ENOMEM;
	free(p.buf);
	free(p.wanted);
	free(p.counters);
	s->prepared = !err;
	if (!err && !s->helper)
		e2q_pass_helper_start(s);
	return err;
}
