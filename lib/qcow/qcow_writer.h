/*
 * qcow_writer.h --- writes a packed qcow2 image of clusters given in
 * ascending order, plain or compressed, to a file or strictly front to back
 * to a pipe.
 *
 * Knows nothing of ext2: it sees a virtual disk of `virtual_size` bytes cut
 * into clusters of 1 << cluster_bits bytes (the last one may be partial).
 *
 * Use, in this order:
 *   e2q_qcow_writer_new()      sizes, version, compression type, stream;
 *   e2q_qcow_writer_set_report() (optional) the capture report, any time
 *                              before start();
 *   e2q_qcow_writer_plan()     every cluster that may hold data, ascending;
 *   e2q_qcow_writer_measure()  (stream only) every piece, ascending: the
 *                              writer records each stored piece's length;
 *   e2q_qcow_writer_start()    fixes the layout; a stream gets its header
 *                              and every table here;
 *   e2q_qcow_writer_put_spooled() (stream only, when e2q_qcow_writer_spooled())
 *                              the measured pieces, kept by measure(), instead
 *                              of putting them again;
 *   e2q_qcow_writer_put_pieces() / e2q_qcow_writer_put()  the data, in the
 *                              same ascending order (for a stream, the same
 *                              pieces as measured, else E2Q_ET_QCOW_WRITER_CHANGED);
 *   e2q_qcow_writer_finish()   a file gets its tables and header here;
 *   e2q_qcow_writer_free()     always, also after an error.
 *
 * Layout, in clusters:
 *   header (and the report extension) | L1 table | refcount table | refcount blocks | L2 tables | data
 * The plan fixes every table's place and size; data follows in the order it
 * is put: a plain cluster at the next cluster boundary, a compressed piece
 * at the next free byte (pieces share clusters and sectors).  A file and a
 * stream of the same plan and pieces are byte-identical: both build their
 * tables by replaying one record of the stored lengths.  Every cluster's
 * refcount is the number of table or L2 references into it, so `qemu-img
 * check` finds neither leaks nor errors.
 *
 * Memory: the L1 table, a bit per L2 region, a 1 MiB buffer, a few clusters,
 * the record: 4 bytes per stored cluster plus 16 per run of them, and for a
 * stream the spool: the measured pieces' bytes while they fit in
 * spool_limit, dropped as soon as they do not.
 * Output goes through pwrite() to a seekable descriptor, or write() to a
 * stream; the writer does not close it.
 * Errors: errno values, or E2Q_ET_* codes from e2q_err.h.
 */
#ifndef E2Q_QCOW_WRITER_H
#define E2Q_QCOW_WRITER_H

#include <stdint.h>
#include <et/com_err.h>

typedef struct e2q_qcow_writer e2q_qcow_writer;

struct e2q_qcow_writer_params {
	uint64_t virtual_size;		/* bytes; a multiple of 512 */
	unsigned int cluster_bits;	/* 9 .. 21 */
	unsigned int version;		/* 2 or 3; 0: 3 for zstd, else 2 */
	unsigned int compression_type;	/* E2Q_QCOW2_COMPRESSION_ZLIB or _ZSTD */
	int stream;			/* write front to back: measure() first */
	uint64_t spool_limit;		/* stream: keep measured bytes up to this */
};

/*
 * One cluster as it is stored: len 0, all zero (not stored, reads as zero);
 * len == cluster size, plain; 0 < len < cluster size, a compressed stream of
 * the header's compression type.  data is not kept after the call.
 */
struct e2q_qcow_piece {
	const void *data;
	uint32_t len;
};

struct e2q_qcow_writer_stats {
	uint64_t planned_clusters;	/* data clusters announced by plan() */
	uint64_t data_clusters;		/* clusters stored (non-zero) */
	uint64_t compressed_clusters;	/* of those, stored compressed */
	uint64_t zero_clusters;		/* put clusters skipped as all-zero */
	uint64_t file_size;		/* bytes of the finished image */
};

errcode_t e2q_qcow_writer_new(const struct e2q_qcow_writer_params *params,
			      e2q_qcow_writer **ret);
/*
 * The capture report: `len` bytes of text (a JSON object, not checked
 * here), stored as a header extension of type E2Q_QCOW2_EXT_E2Q_REPORT
 * (see qcow_format.h), zlib-compressed when that makes it shorter.  It must
 * fit in the first cluster with the header: E2Q_ET_QCOW_REPORT_TOO_LARGE
 * when it does not (the caller may retry with a shorter text).  len 0
 * removes it.  The text is copied.  Without a report the image has no
 * header extension.
 */
errcode_t e2q_qcow_writer_set_report(e2q_qcow_writer *w, const void *text,
				     size_t len);
/* Bytes the encoded report may take: a bound for callers that trim. */
size_t e2q_qcow_writer_report_room(const e2q_qcow_writer *w);
errcode_t e2q_qcow_writer_plan(e2q_qcow_writer *w, uint64_t first,
			       uint64_t count);
errcode_t e2q_qcow_writer_measure(e2q_qcow_writer *w, uint64_t first,
				  uint64_t count,
				  const struct e2q_qcow_piece *pieces);
errcode_t e2q_qcow_writer_start(e2q_qcow_writer *w, int fd);
/* 1 when measure() kept every piece: put_spooled() can write the data. */
int e2q_qcow_writer_spooled(const e2q_qcow_writer *w);
errcode_t e2q_qcow_writer_put_spooled(e2q_qcow_writer *w);
errcode_t e2q_qcow_writer_put_pieces(e2q_qcow_writer *w, uint64_t first,
				     uint64_t count,
				     const struct e2q_qcow_piece *pieces);
/* Plain clusters; all-zero ones are skipped. */
errcode_t e2q_qcow_writer_put(e2q_qcow_writer *w, uint64_t first,
			      uint64_t count, const void *data);
errcode_t e2q_qcow_writer_finish(e2q_qcow_writer *w);
void e2q_qcow_writer_get_stats(const e2q_qcow_writer *w,
			       struct e2q_qcow_writer_stats *stats);
void e2q_qcow_writer_free(e2q_qcow_writer *w);

/* 1 when the len bytes at p are all zero. */
int e2q_is_zero(const void *p, size_t len);

#endif /* E2Q_QCOW_WRITER_H */
