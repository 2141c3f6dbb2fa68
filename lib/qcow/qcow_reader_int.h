/*
 * qcow_reader_int.h --- what the files of the qcow reader share, and nobody
 * else may use: the image handle, the cluster map, the table of metadata
 * ranges, and the format-specific parts behind one ops table.
 *
 * Layout of the reader:
 *   qcow_reader.c      public entry points, L2 cache, cluster map, pread
 *   qcow2_open.c       qcow2 v2/v3 header, extensions, L1, refcount table,
 *                      snapshots
 *   qcow1_open.c       legacy qcow v1 header and L1
 *   qcow_meta_ranges.c sorted list of metadata ranges: disjointness and the
 *                      "does this data cluster hit metadata" question
 *   qcow_decompress.c  deflate and zstd, exactly one cluster out
 *   qcow_convert.c     the whole disk to a raw output, in batches
 *
 * Every table is validated when it is loaded; every offset is compared with
 * the file size before it is used.
 */
#ifndef E2Q_QCOW_READER_INT_H
#define E2Q_QCOW_READER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "qcow/qcow_reader.h"

/* A range of the image file that holds metadata. */
struct e2q_qcow_range {
	uint64_t start;
	uint64_t end;			/* exclusive */
	const char *what;		/* "L1 table", ... */
};

struct e2q_qcow_ranges {
	struct e2q_qcow_range *r;
	size_t count, alloc;
};

enum e2q_qcow_kind {
	E2Q_QCOW_UNALLOCATED = 0,	/* reads as zeros (no backing file) */
	E2Q_QCOW_ZERO,			/* reads as zeros */
	E2Q_QCOW_NORMAL,		/* host cluster at `host` */
	E2Q_QCOW_COMPRESSED,		/* `clen` bytes at byte offset `host` */
	E2Q_QCOW_SUBCLUSTERS,		/* extended L2: see the two bitmaps */
};

/* Where one guest cluster lives. */
struct e2q_qcow_map {
	enum e2q_qcow_kind kind;
	uint64_t host;
	uint64_t clen;			/* compressed: bytes to read (bound) */
	uint32_t alloc_bits;		/* subclusters: allocated at host */
	uint32_t zero_bits;		/* subclusters: read as zero */
};

/* One entry of the snapshot table (qcow2). */
struct e2q_qcow_snapshot {
	char *id;
	char *name;
	uint64_t l1_offset;
	uint32_t l1_size;
	uint32_t date_sec;
	uint64_t vm_state_size;
	uint64_t disk_size;		/* 0 when the entry does not say */
};

struct e2q_qcow_ops {
	/* Decodes and checks entry `index` of the L2 table at `table_off`. */
	errcode_t (*decode_l2)(e2q_qcow_image *img, const unsigned char *table,
			       uint64_t table_off, unsigned int index,
			       struct e2q_qcow_map *map,
			       struct e2q_qcow_problem *problem);
};

struct e2q_qcow_image {
	int fd;
	int open_flags;			/* E2Q_QCOW_OPEN_* */
	uint64_t file_size;
	const struct e2q_qcow_ops *ops;

	unsigned int version;		/* 1, 2 or 3 */
	unsigned int cluster_bits;
	uint32_t cluster_size;
	uint64_t virtual_size;
	uint64_t nb_clusters;		/* guest clusters, last one may be partial */

	/* L2 geometry */
	unsigned int l2_bits;		/* log2 of entries per L2 table */
	uint32_t l2_entry_size;		/* 8, or 16 with extended L2 */
	uint32_t l2_table_size;		/* bytes */
	int extended_l2;
	unsigned int subcluster_bits;	/* log2 of the subcluster size */
	unsigned int compression_type;

	/* the L1 table in use (active or snapshot), decoded */
	uint64_t l1_offset;
	uint32_t l1_size;
	uint64_t *l1;

	/* v2/v3 details kept for --info and --check */
	uint64_t incompat, compat, autoclear;
	unsigned int refcount_order;
	uint64_t reftable_offset;
	uint32_t reftable_clusters;
	uint64_t *reftable;		/* decoded refcount block offsets */
	uint64_t reftable_entries;
	uint64_t snapshots_size;	/* bytes of the snapshot table */
	char *backing_name;		/* only with E2Q_QCOW_OPEN_IGNORE_BACKING */
	struct e2q_qcow_parent parent;	/* set: unallocated reads come from it */
	int has_parent;
	unsigned int chain_depth;	/* images below this one */
	char *backing_format;
	uint64_t feature_names_off;	/* feature-name table extension */
	uint32_t feature_names_len;
	char feature_name[47];		/* last name read from that table */
	int has_bitmaps;		/* bitmaps extension present */
	uint64_t report_off;		/* capture report extension data */
	uint32_t report_len;		/* 0: none */
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	struct e2q_qcow_snapshot *snapshots;
	const struct e2q_qcow_snapshot *selected;	/* NULL: active */
	uint64_t active_l1_offset;
	uint32_t active_l1_size;

	struct e2q_qcow_ranges meta;	/* sorted, disjoint after open */

	/* one cached, validated L2 table */
	unsigned char *l2_buf;
	uint64_t l2_cached_off;		/* 0: nothing cached */
	unsigned char *l2_checked;	/* a bit per L1 entry: table checked */

	/* decompression buffers and state (qcow_decompress.c) */
	unsigned char *cbuf;		/* compressed bytes, 2 clusters */
	unsigned char *dbuf;		/* one decompressed cluster */
	uint64_t dbuf_cluster;		/* guest cluster in dbuf, or UINT64_MAX */
	void *zstream;
	void *zstd_dctx;
};

/* qcow_reader.c */
void e2q_qcow_set_problem(struct e2q_qcow_problem *problem,
			  const char *structure, uint64_t offset);
errcode_t e2q_qcow_read_exact(const e2q_qcow_image *img, void *buf,
			      size_t len, uint64_t offset);
errcode_t e2q_qcow_map_cluster(e2q_qcow_image *img, uint64_t cluster,
			       struct e2q_qcow_map *map,
			       struct e2q_qcow_problem *problem);
errcode_t e2q_qcow_check_data_range(e2q_qcow_image *img, uint64_t host,
				    uint64_t len, const char *what,
				    struct e2q_qcow_problem *problem);
errcode_t e2q_qcow_check_table_range(const e2q_qcow_image *img,
				     uint64_t offset, uint64_t len,
				     const char *what,
				     struct e2q_qcow_problem *problem);
errcode_t e2q_qcow_read_compressed(e2q_qcow_image *img,
				   const struct e2q_qcow_map *map,
				   unsigned char *out,
				   struct e2q_qcow_problem *problem);

/* qcow2_open.c, qcow1_open.c: fill img from the header on; img->fd and
 * img->file_size are set. */
errcode_t e2q_qcow2_open_image(e2q_qcow_image *img,
			       const struct e2q_qcow_open_params *params,
			       struct e2q_qcow_problem *problem);
errcode_t e2q_qcow1_open_image(e2q_qcow_image *img,
			       struct e2q_qcow_problem *problem);

errcode_t e2q_qcow_read_string(const e2q_qcow_image *img, uint64_t offset,
			       uint32_t len, char **ret);

/* qcow_meta_ranges.c */
errcode_t e2q_qcow_ranges_add(struct e2q_qcow_ranges *ranges, uint64_t start,
			      uint64_t len, const char *what);
errcode_t e2q_qcow_ranges_sort_check(struct e2q_qcow_ranges *ranges,
				     struct e2q_qcow_problem *problem);
const struct e2q_qcow_range *
e2q_qcow_ranges_find(const struct e2q_qcow_ranges *ranges, uint64_t start,
		     uint64_t end);
void e2q_qcow_ranges_free(struct e2q_qcow_ranges *ranges);

/* qcow_decompress.c: inflates `clen` bytes at `host` into exactly one
 * cluster at `out`. */
errcode_t e2q_qcow_decompress(e2q_qcow_image *img, const unsigned char *in,
			      size_t in_len, unsigned char *out);
void e2q_qcow_decompress_free(e2q_qcow_image *img);

#endif /* E2Q_QCOW_READER_INT_H */
