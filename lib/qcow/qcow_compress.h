/*
 * qcow_compress.h --- compresses one qcow2 cluster at a time, as qemu reads
 * it back: compression type 0 is raw deflate (no zlib header, windowBits
 * -12, exactly what qemu writes), type 1 a single zstd frame.
 *
 * A codec context belongs to one thread.  e2q_qcow_codec_compress() writes
 * at most out_max bytes; when the result would not fit (the cluster does not
 * shrink), it returns E2Q_ET_QCOW_NO_GAIN and the caller stores the cluster
 * plain.  Output depends only on the input, the type and the level, never on
 * the thread or on earlier clusters, so images are deterministic whatever
 * the number of threads.  Errors: ENOMEM, E2Q_ET_QCOW_UNSUPPORTED (zstd
 * asked for in a build without libzstd), E2Q_ET_QCOW_BAD_LEVEL.
 */
#ifndef E2Q_QCOW_COMPRESS_H
#define E2Q_QCOW_COMPRESS_H

#include <stddef.h>
#include <stdint.h>
#include <et/com_err.h>

/*
 * The one compression type of the whole program: ZLIB and ZSTD are the
 * values of the qcow2 header's compression type field (qcow_format.h's
 * E2Q_QCOW2_COMPRESSION_*), checked at build time.
 */
enum e2q_qcow_codec_type {
	E2Q_QCOW_CODEC_NONE = -1,	/* store plain; only zero detection */
	E2Q_QCOW_CODEC_ZLIB = 0,	/* = qcow2 compression type 0 */
	E2Q_QCOW_CODEC_ZSTD = 1,	/* = qcow2 compression type 1 */
};

/* "zlib", "zstd", "none", or "unknown" for another header value. */
const char *e2q_qcow_codec_name(unsigned int type);

typedef struct e2q_qcow_codec e2q_qcow_codec;

/* Default level of each type: the best size for the time on metadata. */
int e2q_qcow_codec_default_level(enum e2q_qcow_codec_type type);

/*
 * The cluster size, as bits, that a compressed image of `type` should use
 * for `stored_bytes` of blocks of 1 << block_bits bytes on a disk of
 * `virtual_size` bytes: the one of 64 KiB (or a block) up to the type's
 * largest (zstd 256 KiB, deflate 64 KiB: qemu reads larger compressed
 * clusters far more slowly) that makes the smallest image by
 * an estimate: the table clusters (header, L1, refcount table and block,
 * one L2 table per region of the disk that holds data, counted as if every
 * region did, up to one per stored cluster) plus the compressed data, whose
 * size per cluster size was measured on the benchmark's filesystem.
 * Larger clusters let zstd find more of the repetition in inode tables and
 * directories and need fewer L2 tables, but every table takes a whole
 * cluster, and a reader inflates a whole cluster for each block it reads;
 * deflate's 4 KiB window gains nothing from them.  The layout planner,
 * which counts the L2 tables exactly, can weigh its own candidates with it.
 */
unsigned int e2q_preferred_compressed_cluster_bits(
	enum e2q_qcow_codec_type type, unsigned int block_bits,
	uint64_t stored_bytes, uint64_t virtual_size);

/* 1 when this build can compress with `type`. */
int e2q_qcow_codec_available(enum e2q_qcow_codec_type type);

/* Checks that `level` is valid for `type` (0 means the default). */
errcode_t e2q_qcow_codec_check_level(enum e2q_qcow_codec_type type,
				     int level);

errcode_t e2q_qcow_codec_new(enum e2q_qcow_codec_type type, int level,
			     e2q_qcow_codec **ret);
errcode_t e2q_qcow_codec_compress(e2q_qcow_codec *c, const void *in,
				  size_t in_len, void *out, size_t out_max,
				  size_t *out_len);
void e2q_qcow_codec_free(e2q_qcow_codec *c);

#endif /* E2Q_QCOW_COMPRESS_H */
