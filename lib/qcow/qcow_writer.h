/*
 * qcow_writer.h --- writes a packed qcow2 image of clusters given in ascending order.
 *
 * Knows nothing of ext2: it sees a virtual disk of `virtual_size` bytes cut
 * into clusters of 1 << cluster_bits bytes.
 *
 * Use, in this order:
 *   e2q_qcow_writer_new()    sizes and version;
 *   e2q_qcow_writer_plan()   every cluster that may hold data, ascending runs;
 *   e2q_qcow_writer_start()  fixes the layout: header, L1, refcount table,
 *                            refcount blocks, one L2 table for each planned
 *                            region, then the data clusters;
 *   e2q_qcow_writer_put()    the contents of planned clusters, ascending runs;
 *                            all-zero clusters are skipped (they read as zero);
 *   e2q_qcow_writer_finish() writes the L2 tables left, the refcounts, the L1
 *                            table, and the header last;
 *   e2q_qcow_writer_free()   always, also after an error.
 *
 * The image is deterministic: the same plan and data give the same bytes.
 * Every cluster of the file (header and tables included) has refcount 1, so
 * `qemu-img check` finds neither leaks nor errors.  Memory is the L1 table,
 * a bit per L2 region and a few clusters of buffers, whatever the data size.
 * Output goes to a seekable file descriptor through pwrite(); the writer does
 * not close it.  Errors: errno values, or E2Q_ET_* codes from e2q_err.h.
 */
#ifndef E2Q_QCOW_WRITER_H
#define E2Q_QCOW_WRITER_H

#include <stdint.h>
#include <et/com_err.h>

typedef struct e2q_qcow_writer e2q_qcow_writer;

struct e2q_qcow_writer_params {
	uint64_t virtual_size;		/* bytes; a multiple of the cluster size */
	unsigned int cluster_bits;	/* 9 .. 21 */
	unsigned int version;		/* 2 or 3; 0 means 2 */
};

struct e2q_qcow_writer_stats {
	uint64_t planned_clusters;	/* data clusters announced by plan() */
	uint64_t data_clusters;		/* data clusters stored (non-zero) */
	uint64_t zero_clusters;		/* put() clusters skipped as all-zero */
	uint64_t file_size;		/* bytes of the finished image */
};

errcode_t e2q_qcow_writer_new(const struct e2q_qcow_writer_params *params,
			      e2q_qcow_writer **ret);
errcode_t e2q_qcow_writer_plan(e2q_qcow_writer *w, uint64_t first,
			       uint64_t count);
errcode_t e2q_qcow_writer_start(e2q_qcow_writer *w, int fd);
errcode_t e2q_qcow_writer_put(e2q_qcow_writer *w, uint64_t first,
			      uint64_t count, const void *data);
errcode_t e2q_qcow_writer_finish(e2q_qcow_writer *w);
void e2q_qcow_writer_get_stats(const e2q_qcow_writer *w,
			       struct e2q_qcow_writer_stats *stats);
void e2q_qcow_writer_free(e2q_qcow_writer *w);

#endif /* E2Q_QCOW_WRITER_H */
