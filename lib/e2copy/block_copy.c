/*
 * block_copy.c --- the marked blocks of a filesystem, copied window by
 * window in the order that makes an overlapping move safe (block_copy.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2fs.h>

#include "e2q_err.h"
#include "support/full_io.h"
#include "e2copy/block_copy.h"

#define DEFAULT_BATCH_BYTES	(4U << 20)
#define DEFAULT_MERGE_GAP	16

/* A stretch of blocks read and written in one call each. */
struct segment {
	blk64_t first, count;
};

struct copier {
	const struct e2q_copy_params *p;
	ext2fs_block_bitmap map;
	struct e2q_copy_stats *st;
	blk64_t window;		/* blocks per window */
	blk64_t gap;		/* merge runs closer than this */
	unsigned char *buf;	/* one window of source data */
	unsigned char *cmp;	/* one window of destination data (-c) */
	struct segment *segs;
	size_t nsegs;
};

static int is_backwards(const struct e2q_copy_params *p)
{
	return (p->flags & E2Q_COPY_SAME_FILE) && p->dst_offset > p->src_offset;
}

/* Blocks below `lead` lie outside the bitmap and are always copied. */
static blk64_t count_marked(ext2fs_block_bitmap map, blk64_t lead,
			    blk64_t first, blk64_t end)
{
	blk64_t b, z, n = 0;

	if (first < lead) {
		n = (end < lead ? end : lead) - first;
		first = lead;
	}
	while (first < end &&
	       !ext2fs_find_first_set_block_bitmap2(map, first, end - 1, &b)) {
		b = b < first ? first : b;	/* a cluster begun before */
		if (ext2fs_find_first_zero_block_bitmap2(map, b, end - 1, &z))
			z = end;
		n += z - b;
		first = z;
	}
	return n;
}

void e2q_copy_plan(const struct e2q_copy_params *p, ext2fs_block_bitmap map,
		   struct e2q_copy_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->marked = count_marked(map, p->lead_blocks, 0, p->blocks);
	st->backwards = is_backwards(p);
	st->remain_end = p->blocks;
}

/* The marked runs of [first, end), merged across short gaps. */
static blk64_t find_segments(struct copier *c, blk64_t first, blk64_t end)
{
	blk64_t b, z, marked = 0;
	struct segment *last;

	c->nsegs = 0;
	if (first < c->p->lead_blocks) {
		marked = (end < c->p->lead_blocks ? end : c->p->lead_blocks) -
			 first;
		c->segs[c->nsegs++] = (struct segment) { first, marked };
		first += marked;
	}
	while (first < end &&
	       !ext2fs_find_first_set_block_bitmap2(c->map, first, end - 1,
						    &b)) {
		b = b < first ? first : b;	/* a cluster begun before */
		if (ext2fs_find_first_zero_block_bitmap2(c->map, b, end - 1,
							 &z))
			z = end;
		marked += z - b;
		last = c->nsegs ? &c->segs[c->nsegs - 1] : NULL;
		if (last && b - (last->first + last->count) < c->gap)
			last->count = z - last->first;
		else
			c->segs[c->nsegs++] = (struct segment) { b, z - b };
		first = z;
	}
	return marked;
}

static int is_zero(const unsigned char *p, size_t len)
{
	return p[0] == 0 && memcmp(p, p + 1, len - 1) == 0;
}

/* Should block b, whose source bytes are at data, be left alone? */
static int leave_alone(struct copier *c, blk64_t b, const unsigned char *data,
		       const unsigned char *old)
{
	const struct e2q_copy_params *p = c->p;
	uint64_t dst = p->dst_offset + b * p->block_size;

	if (b >= p->lead_blocks && !ext2fs_test_block_bitmap2(c->map, b))
		return 1;	/* a gap block read with its neighbours */
	if (old && memcmp(data, old, p->block_size) == 0) {
		c->st->matched++;
		return 1;
	}
	if ((p->flags & E2Q_COPY_HOLES) && dst >= p->dst_size &&
	    is_zero(data, p->block_size)) {
		c->st->holes++;
		return 1;
	}
	return 0;
}

static errcode_t write_blocks(struct copier *c, blk64_t first, blk64_t count,
			      const unsigned char *data)
{
	const struct e2q_copy_params *p = c->p;
	uint64_t start = p->dst_offset + first * p->block_size;
	uint64_t len = count * p->block_size;
	uint64_t src_end = p->src_offset + p->blocks * p->block_size;

	if (count == 0)
		return 0;
	c->st->written += count;
	if ((p->flags & E2Q_COPY_SAME_FILE) && start < src_end &&
	    start + len > p->src_offset && !(p->flags & E2Q_COPY_DRY_RUN))
		c->st->source_touched = 1;
	if (p->flags & E2Q_COPY_DRY_RUN)
		return 0;
	return e2q_pwrite_full(p->dst_fd, data, (size_t) len, start);
}

/* Reads what the destination holds for a segment; past its end, zeros. */
static errcode_t read_destination(struct copier *c, const struct segment *s,
				  unsigned char *old)
{
	const struct e2q_copy_params *p = c->p;
	size_t len = (size_t) (s->count * p->block_size), got;
	errcode_t err;

	err = e2q_pread_upto(p->dst_read_fd, old, len,
			     p->dst_offset + s->first * p->block_size, &got);
	if (!err)
		memset(old + got, 0, len - got);
	return err;
}

/* Writes a segment whose data is at `data`, skipping blocks left alone. */
static errcode_t write_segment(struct copier *c, const struct segment *s,
			       const unsigned char *data, unsigned char *old)
{
	unsigned int bs = c->p->block_size;
	blk64_t i, run = 0;
	errcode_t err;

	if (!(c->p->flags & (E2Q_COPY_CHECK | E2Q_COPY_HOLES)))
		return write_blocks(c, s->first, s->count, data);
	if (c->p->flags & E2Q_COPY_CHECK) {
		err = read_destination(c, s, old);
		if (err)
			return err;
	} else {
		old = NULL;
	}
	for (i = 0; i < s->count; i++) {
		if (!leave_alone(c, s->first + i, data + i * bs,
				 old ? old + i * bs : NULL)) {
			run++;
			continue;
		}
		err = write_blocks(c, s->first + i - run, run,
				   data + (i - run) * bs);
		if (err)
			return err;
		run = 0;
	}
	return write_blocks(c, s->first + i - run, run, data + (i - run) * bs);
}

static errcode_t read_segment(struct copier *c, const struct segment *s,
			      unsigned char *data)
{
	const struct e2q_copy_params *p = c->p;
	size_t len = (size_t) (s->count * p->block_size);

	return e2q_pread_full(p->src_fd, data, len,
			      p->src_offset + s->first * p->block_size,
			      EXT2_ET_SHORT_READ);
}

/* One window: every segment read, then every segment written. */
static errcode_t copy_window(struct copier *c, blk64_t first, blk64_t end)
{
	unsigned int bs = c->p->block_size;
	blk64_t marked = find_segments(c, first, end), off;
	errcode_t err = 0;
	size_t i;

	for (i = 0; i < c->nsegs && !err; i++)
		err = read_segment(c, &c->segs[i],
				   c->buf + (c->segs[i].first - first) * bs);
	for (i = 0; i < c->nsegs && !err; i++) {
		off = (c->segs[i].first - first) * bs;
		err = write_segment(c, &c->segs[i], c->buf + off,
				    c->cmp ? c->cmp + off : NULL);
	}
	if (!err)
		c->st->done += marked;
	return err;
}

static errcode_t run_windows(struct copier *c)
{
	const struct e2q_copy_params *p = c->p;
	blk64_t first, end;
	errcode_t err;

	while (c->st->remain_first < c->st->remain_end) {
		if (c->st->backwards) {
			end = c->st->remain_end;
			first = end > c->window ? end - c->window : 0;
			if (first < c->st->remain_first)
				first = c->st->remain_first;
		} else {
			first = c->st->remain_first;
			end = p->blocks - first > c->window ?
			      first + c->window : p->blocks;
		}
		err = copy_window(c, first, end);
		if (err)
			return err;
		if (c->st->backwards)
			c->st->remain_end = first;
		else
			c->st->remain_first = end;
		if (p->checkpoint && c->st->remain_first < c->st->remain_end &&
		    p->checkpoint(c->st, p->priv))
			return E2Q_ET_INTERRUPTED;
	}
	return 0;
}

errcode_t e2q_copy_blocks(const struct e2q_copy_params *p,
			  ext2fs_block_bitmap map, struct e2q_copy_stats *st)
{
	struct copier c;
	size_t batch = p->batch_bytes ? p->batch_bytes : DEFAULT_BATCH_BYTES;
	errcode_t err = ENOMEM;

	if (p->block_size == 0 || batch < p->block_size)
		return E2Q_ET_RANGE;
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.map = map;
	c.st = st;
	c.window = batch / p->block_size;
	c.gap = p->merge_gap ? p->merge_gap : DEFAULT_MERGE_GAP;
	e2q_copy_plan(p, map, st);
	c.buf = malloc(c.window * p->block_size);
	c.segs = calloc(c.window / 2 + 2, sizeof(*c.segs));
	if (p->flags & E2Q_COPY_CHECK)
		c.cmp = malloc(c.window * p->block_size);
	if (c.buf && c.segs && (c.cmp || !(p->flags & E2Q_COPY_CHECK)))
		err = run_windows(&c);
	free(c.buf);
	free(c.cmp);
	free(c.segs);
	return err;
}
