/*
 * qcow_layout.h --- chooses the cluster size of a qcow2 image before its
 * first byte: the one that gives the smallest image qemu opens.
 *
 * Knows nothing of ext2: it sees runs of blocks (1 << block_bits bytes
 * each) that may hold data, in ascending order, on a virtual disk of
 * `virtual_size` bytes.  For every candidate cluster size it counts, as
 * qcow_writer.c will lay them out (header, L1, refcount table and blocks,
 * one L2 table per region that holds a planned cluster, the data):
 *   - data clusters: every cluster a run touches, a cluster shared by two
 *     runs counted once (the padding of a cluster larger than a block is
 *     its bytes outside the runs);
 *   - L2 tables: the regions of (cluster_size / 8) clusters those touch;
 *   - the L1 table and the refcount structures that count them all.
 * The counts are exact for the tables; the data is an upper bound, since
 * all-zero clusters are found, and skipped, only when they are read (at
 * every cluster size alike).  Compressed data is estimated: see
 * e2q_qcow_layout_cost().
 *
 * A candidate fits when its L1 table is at most qemu's 32 MiB and its
 * refcount table at most 8 MiB (qcow_format.h).  The choice is the fitting
 * candidate of the lowest cost, the smallest cluster size on a tie: a
 * function of the runs alone, so the same filesystem gives the same image.
 * Candidates start at the block size for plain images (so where clusters of
 * a block are cheapest, the image is what it always was) and at
 * `min_cluster_bits` for compressed ones (the preferred compressed cluster
 * size), up to qemu's 2 MiB.
 *
 * Use: e2q_qcow_layout_new(), e2q_qcow_layout_add() for every run,
 * ascending, then e2q_qcow_layout_choose(); e2q_qcow_layout_free() always.
 * Memory: a few hundred bytes, whatever the number of runs.
 * Errors: ENOMEM; E2Q_ET_RANGE for a bad parameter, a run past the end or
 * runs out of order; E2Q_ET_QCOW_TOO_LARGE when no candidate fits.
 */
#ifndef E2Q_QCOW_LAYOUT_H
#define E2Q_QCOW_LAYOUT_H

#include <stdint.h>
#include <et/com_err.h>

typedef struct e2q_qcow_layout e2q_qcow_layout;

struct e2q_qcow_layout_params {
	uint64_t virtual_size;		/* bytes */
	unsigned int block_bits;	/* unit of the runs, 9 .. 21 */
	int compressed;			/* data clusters will be compressed */
	/* compressed only: the smallest candidate (0: the block size) */
	unsigned int min_cluster_bits;
};

/* What one cluster size costs, in clusters of that size unless said. */
struct e2q_qcow_layout_cost {
	unsigned int cluster_bits;
	uint64_t data_clusters;		/* planned: an upper bound */
	uint64_t l2_tables;
	uint64_t l1_entries, l1_clusters;
	uint64_t refcount_blocks, reftable_clusters;
	uint64_t table_bytes;		/* header and every table */
	uint64_t data_bytes;		/* plain: exact bound; compressed: estimate */
	uint64_t bytes;			/* table_bytes + data_bytes */
	int fits;			/* within qemu's L1 and refcount caps */
};

errcode_t e2q_qcow_layout_new(const struct e2q_qcow_layout_params *params,
			      e2q_qcow_layout **ret);
/* A run of `count` blocks from block `first`; runs ascending, may touch. */
errcode_t e2q_qcow_layout_add(e2q_qcow_layout *l, uint64_t first,
			      uint64_t count);
/* The cost of candidate `cluster_bits`; E2Q_ET_RANGE if not a candidate. */
errcode_t e2q_qcow_layout_cost(const e2q_qcow_layout *l,
			       unsigned int cluster_bits,
			       struct e2q_qcow_layout_cost *cost);
/* The chosen candidate's cost (its cluster_bits is the choice). */
errcode_t e2q_qcow_layout_choose(const e2q_qcow_layout *l,
				 struct e2q_qcow_layout_cost *chosen);
void e2q_qcow_layout_free(e2q_qcow_layout *l);

/*
 * The refcount blocks and table clusters that count `others` clusters and
 * themselves, at 16-bit refcounts (shared with the writer).
 */
void e2q_qcow_size_refcounts(unsigned int cluster_bits, uint64_t others,
			     uint64_t *blocks, uint64_t *table_clusters);

#endif /* E2Q_QCOW_LAYOUT_H */
