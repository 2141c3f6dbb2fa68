/*
 * qcow_layout.c --- counts, for every candidate cluster size at once, the
 * data clusters and L2 tables the runs need, in one pass over the runs;
 * the L1 and refcount sizes follow from those counts.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "e2q_err.h"
#include "qcow/qcow_format.h"
#include "qcow/qcow_layout.h"

#define NCAND	(E2Q_QCOW2_MAX_CLUSTER_BITS + 1)

/*
 * Compressed data cannot be known before it is compressed.  The estimate:
 * the marked bytes shrink by the same ratio at every cluster size (the
 * padding of a larger cluster is zeros, which cost next to nothing), and
 * every stored cluster adds a frame header and its share of a sector.  So
 * between candidates only the tables and that overhead differ.
 */
#define ASSUMED_RATIO		4
#define PIECE_OVERHEAD_BYTES	32

struct candidate {
	uint64_t plan_end;	/* clusters below are counted */
	uint64_t last_region;	/* UINT64_MAX: none yet */
	uint64_t clusters, regions;
};

struct e2q_qcow_layout {
	struct e2q_qcow_layout_params p;
	unsigned int min_bits;
	uint64_t blocks;	/* of the virtual disk */
	uint64_t next_block;	/* runs may not start below */
	uint64_t marked_blocks;
	struct candidate c[NCAND];
};

static uint64_t div_round_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

void e2q_qcow_size_refcounts(unsigned int cluster_bits, uint64_t others,
			     uint64_t *blocks_ret, uint64_t *table_ret)
{
	uint64_t per_block = (1ULL << cluster_bits) / 2;
	uint64_t per_table_cluster = (1ULL << cluster_bits) / 8;
	uint64_t blocks = 1, table = 1, prev;

	/* the blocks and the table count themselves: a fixed point */
	do {
		prev = blocks + table;
		blocks = div_round_up(others + blocks + table, per_block);
		table = div_round_up(blocks, per_table_cluster);
	} while (blocks + table != prev);
	*blocks_ret = blocks;
	*table_ret = table;
}

errcode_t e2q_qcow_layout_new(const struct e2q_qcow_layout_params *params,
			      e2q_qcow_layout **ret)
{
	e2q_qcow_layout *l;
	unsigned int bits = params->block_bits, k;

	if (bits < E2Q_QCOW2_MIN_CLUSTER_BITS ||
	    bits > E2Q_QCOW2_MAX_CLUSTER_BITS || params->virtual_size >> 62 ||
	    params->min_cluster_bits > E2Q_QCOW2_MAX_CLUSTER_BITS)
		return E2Q_ET_RANGE;
	l = calloc(1, sizeof(*l));
	if (!l)
		return ENOMEM;
	l->p = *params;
	l->min_bits = bits;
	if (params->compressed && params->min_cluster_bits > bits)
		l->min_bits = params->min_cluster_bits;
	l->blocks = div_round_up(params->virtual_size, 1ULL << bits);
	for (k = 0; k < NCAND; k++)
		l->c[k].last_region = UINT64_MAX;
	*ret = l;
	return 0;
}

/* Counts the clusters of candidate `bits` that blocks first..last touch. */
static void add_to(e2q_qcow_layout *l, unsigned int bits, uint64_t first,
		   uint64_t last)
{
	struct candidate *c = &l->c[bits];
	unsigned int shift = bits - l->p.block_bits, l2_bits = bits - 3;
	uint64_t c0 = first >> shift, c1 = (last >> shift) + 1, r0, r1;

	if (c0 < c->plan_end)
		c0 = c->plan_end;
	c->plan_end = c1;
	if (c0 >= c1)
		return;
	c->clusters += c1 - c0;
	r0 = c0 >> l2_bits;
	r1 = (c1 - 1) >> l2_bits;
	c->regions += r1 - r0 + (r0 != c->last_region);
	c->last_region = r1;
}

errcode_t e2q_qcow_layout_add(e2q_qcow_layout *l, uint64_t first,
			      uint64_t count)
{
	unsigned int bits;

	if (count == 0)
		return 0;
	if (first < l->next_block || first >= l->blocks ||
	    count > l->blocks - first)
		return E2Q_ET_RANGE;
	for (bits = l->min_bits; bits < NCAND; bits++)
		add_to(l, bits, first, first + count - 1);
	l->next_block = first + count;
	l->marked_blocks += count;
	return 0;
}

static uint64_t data_bytes(const e2q_qcow_layout *l, unsigned int bits)
{
	uint64_t clusters = l->c[bits].clusters;

	if (!l->p.compressed)
		return clusters << bits;
	return (l->marked_blocks << l->p.block_bits) / ASSUMED_RATIO +
	       clusters * PIECE_OVERHEAD_BYTES;
}

/* As qcow_writer.c's compute_layout(): the same counts give its layout. */
errcode_t e2q_qcow_layout_cost(const e2q_qcow_layout *l,
			       unsigned int bits,
			       struct e2q_qcow_layout_cost *cost)
{
	const struct candidate *c;
	uint64_t cluster = 1ULL << bits, tables;

	if (bits < l->min_bits || bits >= NCAND)
		return E2Q_ET_RANGE;
	c = &l->c[bits];
	memset(cost, 0, sizeof(*cost));
	cost->cluster_bits = bits;
	cost->data_clusters = c->clusters;
	cost->l2_tables = c->regions;
	cost->l1_entries = div_round_up(div_round_up(l->p.virtual_size, cluster),
					1ULL << (bits - 3));
	cost->l1_clusters = div_round_up(cost->l1_entries * 8, cluster);
	if (cost->l1_clusters == 0)
		cost->l1_clusters = 1;
	e2q_qcow_size_refcounts(bits, 1 + cost->l1_clusters + c->regions +
				c->clusters, &cost->refcount_blocks,
				&cost->reftable_clusters);
	tables = 1 + cost->l1_clusters + cost->reftable_clusters +
		 cost->refcount_blocks + c->regions;
	cost->table_bytes = tables << bits;
	cost->data_bytes = data_bytes(l, bits);
	cost->bytes = cost->table_bytes + cost->data_bytes;
	cost->fits = cost->l1_entries * 8 <= E2Q_QCOW2_MAX_L1_BYTES &&
		     cost->reftable_clusters << bits <=
			E2Q_QCOW2_MAX_REFTABLE_BYTES;
	return 0;
}

errcode_t e2q_qcow_layout_choose(const e2q_qcow_layout *l,
				 struct e2q_qcow_layout_cost *chosen)
{
	struct e2q_qcow_layout_cost cost;
	unsigned int bits;
	int found = 0;

	for (bits = l->min_bits; bits < NCAND; bits++) {
		e2q_qcow_layout_cost(l, bits, &cost);
		if (cost.fits && (!found || cost.bytes < chosen->bytes)) {
			*chosen = cost;
			found = 1;
		}
	}
	return found ? 0 : E2Q_ET_QCOW_TOO_LARGE;
}

void e2q_qcow_layout_free(e2q_qcow_layout *l)
{
	free(l);
}
