/*
 * qcow_compress.c --- one cluster in, raw deflate or a zstd frame out.
 *
 * Each call starts from a reset context, so a cluster's bytes never depend
 * on the clusters compressed before it by the same thread.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <zlib.h>
#ifdef HAVE_ZSTD
#define ZSTD_STATIC_LINKING_ONLY	/* ZSTD_c_useRowMatchFinder */
#include <zstd.h>
#include <zstd_errors.h>
#endif

#include "e2q_err.h"
#include "qcow/qcow_compress.h"
#include "qcow/qcow_format.h"
#include "qcow/qcow_writer.h"	/* e2q_is_zero() */

_Static_assert(E2Q_QCOW_CODEC_ZLIB == E2Q_QCOW2_COMPRESSION_ZLIB &&
	       E2Q_QCOW_CODEC_ZSTD == E2Q_QCOW2_COMPRESSION_ZSTD,
	       "a codec type is the qcow2 header's compression type");

const char *e2q_qcow_codec_name(unsigned int type)
{
	switch (type) {
	case E2Q_QCOW_CODEC_ZLIB: return "zlib";
	case E2Q_QCOW_CODEC_ZSTD: return "zstd";
	case (unsigned int) E2Q_QCOW_CODEC_NONE: return "none";
	default: return "unknown";
	}
}

#define ZLIB_WINDOW_BITS	(-12)	/* raw deflate, as qemu */
/*
 * The hash table's size.  With a 4 KiB window, deflate slides the window
 * (and rewrites the whole hash table) every 4 KiB of input: qemu's memLevel 9
 * (64 Ki entries) spends two thirds of its time there.  Level 5 (4 Ki
 * entries, one per window byte) compresses 3.3 times faster for 1% more.
 */
#define ZLIB_MEM_LEVEL		5

struct e2q_qcow_codec {
	enum e2q_qcow_codec_type type;
	int level;
	z_stream *zs;
#ifdef HAVE_ZSTD
	ZSTD_CCtx *cctx;
	ZSTD_CCtx *sparse_cctx;		/* the preset's, for sparse clusters */
#endif
};

/*
 * Measured on the 64 GiB benchmark filesystem (v3, 1.18 GB of metadata that
 * zstd -1 shrinks 20 times as a whole), CPU seconds on one thread for the
 * compressed data: zstd 3 1.4 s for 58.9 MB, zstd 6 5.6 s for 55.0 MB
 * (256 KiB clusters; only level 6 and up make the image 20 times smaller
 * than e2image's; without a level given, zstd's 6 is shaped for metadata
 * below: 3.0 s); deflate 1 5.2 s for 97.4 MB, deflate 3 6.4 s for 89.5 MB,
 * deflate 4 (the first lazy level) 8.3 s for 79.9 MB (64 KiB clusters).
 */
int e2q_qcow_codec_default_level(enum e2q_qcow_codec_type type)
{
	return type == E2Q_QCOW_CODEC_ZSTD ? 6 : 4;
}

/*
 * Compressed data per cluster size from 64 KiB (bits 16) to 2 MiB (21),
 * per mille of its size at 64 KiB, measured on the benchmark's filesystem
 * (1.18 GB of metadata) at the default levels: zstd gains 5% from 64 KiB to
 * 512 KiB and nothing beyond; deflate gains nothing and grows past 256 KiB.
 * (Only the sizes up to each type's largest below are used.)
 */
static const unsigned short zstd_per_mille[] = { 1000, 969, 958, 949, 945, 950 };
static const unsigned short zlib_per_mille[] = { 1000, 995, 998, 1007, 1026, 1050 };
#define MIN_BITS		16
/*
 * qemu 7.2 reads larger compressed clusters far more slowly: qemu-img
 * convert of the benchmark's zstd image took 18 s with 64 KiB clusters,
 * 42 s with 256 KiB and 100 s with 512 KiB (e2qcow -r: 11 s for all, on a
 * loaded machine).  256 KiB is the least that makes zstd's image 20 times
 * smaller than e2image's; deflate is 13 times smaller with 64 KiB already.
 */
#define ZSTD_MAX_BITS		18
#define ZLIB_MAX_BITS		16
#define EXPECTED_RATIO		16	/* stored bytes per compressed byte */

/* The tables' clusters, as many L2 tables as regions could hold data. */
static uint64_t table_bytes(unsigned int bits, uint64_t stored,
			    uint64_t virtual_size)
{
	uint64_t cluster = 1ULL << bits;
	unsigned int region_bits = 2 * bits - 3;	/* one L2 table's span */
	uint64_t regions = (virtual_size >> region_bits) + 1;
	uint64_t clusters = (stored >> bits) + 1;
	uint64_t l1 = (regions * 8 + cluster - 1) >> bits;

	/* header, refcount table, a refcount block, the last data cluster */
	return (4 + l1 + (regions < clusters ? regions : clusters)) << bits;
}

unsigned int e2q_preferred_compressed_cluster_bits(
	enum e2q_qcow_codec_type type, unsigned int block_bits,
	uint64_t stored_bytes, uint64_t virtual_size)
{
	const unsigned short *per_mille = type == E2Q_QCOW_CODEC_ZSTD ?
					  zstd_per_mille : zlib_per_mille;
	unsigned int max = type == E2Q_QCOW_CODEC_ZSTD ? ZSTD_MAX_BITS :
			   ZLIB_MAX_BITS;
	unsigned int first = block_bits > MIN_BITS ? block_bits : MIN_BITS;
	unsigned int bits, best = first;
	uint64_t data = stored_bytes / EXPECTED_RATIO / 1000, cost, best_cost = 0;

	if (first > E2Q_QCOW2_MAX_CLUSTER_BITS)
		return E2Q_QCOW2_MAX_CLUSTER_BITS;
	for (bits = first; bits <= max; bits++) {
		cost = table_bytes(bits, stored_bytes, virtual_size) +
		       data * per_mille[bits - MIN_BITS];
		if (bits == first || cost < best_cost) {
			best = bits;
			best_cost = cost;
		}
	}
	return best;
}

int e2q_qcow_codec_available(enum e2q_qcow_codec_type type)
{
#ifndef HAVE_ZSTD
	if (type == E2Q_QCOW_CODEC_ZSTD)
		return 0;
#endif
	return type == E2Q_QCOW_CODEC_NONE || type == E2Q_QCOW_CODEC_ZLIB ||
	       type == E2Q_QCOW_CODEC_ZSTD;
}

errcode_t e2q_qcow_codec_check_level(enum e2q_qcow_codec_type type,
				     int level)
{
	if (!e2q_qcow_codec_available(type))
		return E2Q_ET_QCOW_UNSUPPORTED;
	if (level == 0)
		return 0;
	if (type == E2Q_QCOW_CODEC_ZLIB && (level < 1 || level > 9))
		return E2Q_ET_QCOW_BAD_LEVEL;
#ifdef HAVE_ZSTD
	if (type == E2Q_QCOW_CODEC_ZSTD &&
	    (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()))
		return E2Q_ET_QCOW_BAD_LEVEL;
#endif
	return 0;
}

static errcode_t zlib_new(e2q_qcow_codec *c)
{
	c->zs = calloc(1, sizeof(*c->zs));
	if (!c->zs)
		return ENOMEM;
	if (deflateInit2(c->zs, c->level, Z_DEFLATED, ZLIB_WINDOW_BITS,
			 ZLIB_MEM_LEVEL, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(c->zs);
		c->zs = NULL;
		return ENOMEM;
	}
	return 0;
}

#ifdef HAVE_ZSTD
/*
 * The default: level 6's lazy matching, with the searches shaped for
 * metadata.  Inode tables repeat in fields of 4 to 8 bytes at a stride of
 * their inode size, so matches shorter than 6 bytes rarely pay; small hash
 * and chain tables (256 KiB each) stay in the cache, where level 6's, sized
 * for large inputs (3 MiB), do not.  On the benchmark's 1.18 GB of metadata
 * (512 KiB clusters, one thread): level 6's size (0.1% more) in about half
 * its time, with the hash chain and sparse clusters below (bench/RESULTS.md).
 * An explicit level is zstd's own, on every cluster.
 */
static const struct {
	ZSTD_cParameter param;
	int value;
} zstd_metadata_preset[] = {
	{ ZSTD_c_strategy, ZSTD_lazy },
	{ ZSTD_c_chainLog, 16 },
	{ ZSTD_c_hashLog, 16 },
	{ ZSTD_c_searchLog, 3 },
	{ ZSTD_c_minMatch, 6 },
	{ ZSTD_c_targetLength, 4 },
};

/*
 * zstd 1.5 picks a "row" match finder for lazy strategies; its hash chain is
 * 10 to 15% faster on metadata for the same size.  The switch is one of
 * zstd's experimental parameters, whose number may change between
 * versions: it is set only when the library is the one this was built
 * against (1.5.2 or later, for ZSTD_ps_disable), and ignored when refused
 * (the output is then zstd's default's).
 */
static void zstd_prefer_hash_chain(ZSTD_CCtx *cctx)
{
#if defined(ZSTD_c_useRowMatchFinder) && ZSTD_VERSION_NUMBER >= 10502
	if (ZSTD_versionNumber() == ZSTD_VERSION_NUMBER)
		(void) ZSTD_CCtx_setParameter(cctx, ZSTD_c_useRowMatchFinder,
					      ZSTD_ps_disable);
#else
	(void) cctx;
#endif
}

/*
 * A cluster of at most one 4 KiB piece in SPARSE_SHARE that is not zero (a
 * few directory or extent blocks among free space) is as small with zstd's
 * fastest level as with the preset, in a third of its time: the preset
 * crosses long runs of zeros at 2.6 GB/s, level 1 at 9 GB/s.  Measured on
 * the benchmark's filesystem: 55% of its 512 KiB clusters, 3.5% of their
 * compressed bytes, 0.1% larger.
 */
#define SPARSE_PIECE		4096
#define SPARSE_SHARE		16
#define SPARSE_LEVEL		1

static int is_sparse(const unsigned char *in, size_t len)
{
	size_t pieces = len / SPARSE_PIECE, off, used = 0;

	if (pieces < SPARSE_SHARE || len % SPARSE_PIECE)
		return 0;
	for (off = 0; off < len; off += SPARSE_PIECE)
		if (!e2q_is_zero(in + off, SPARSE_PIECE) &&
		    ++used * SPARSE_SHARE > pieces)
			return 0;
	return 1;
}

/* A context for single frames of `level`, without checksums. */
static errcode_t zstd_frame_cctx(int level, ZSTD_CCtx **ret)
{
	*ret = ZSTD_createCCtx();
	if (!*ret)
		return ENOMEM;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(*ret, ZSTD_c_compressionLevel,
						level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(*ret, ZSTD_c_checksumFlag, 0)))
		return E2Q_ET_QCOW_BAD_LEVEL;
	return 0;
}

/* The default's contexts: the preset for dense clusters, level 1 for sparse. */
static errcode_t zstd_metadata_cctx(e2q_qcow_codec *c)
{
	size_t i;

	for (i = 0; i < sizeof(zstd_metadata_preset) /
			sizeof(zstd_metadata_preset[0]); i++)
		if (ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx,
				zstd_metadata_preset[i].param,
				zstd_metadata_preset[i].value)))
			return E2Q_ET_QCOW_BAD_LEVEL;
	zstd_prefer_hash_chain(c->cctx);
	return zstd_frame_cctx(SPARSE_LEVEL, &c->sparse_cctx);
}

static errcode_t zstd_new(e2q_qcow_codec *c, int use_preset)
{
	errcode_t err = zstd_frame_cctx(c->level, &c->cctx);

	return err || !use_preset ? err : zstd_metadata_cctx(c);
}
#endif

errcode_t e2q_qcow_codec_new(enum e2q_qcow_codec_type type, int level,
			     e2q_qcow_codec **ret)
{
	e2q_qcow_codec *c;
	errcode_t err = e2q_qcow_codec_check_level(type, level);

	if (err)
		return err;
	c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	c->type = type;
	c->level = level ? level : e2q_qcow_codec_default_level(type);
	if (type == E2Q_QCOW_CODEC_ZLIB)
		err = zlib_new(c);
#ifdef HAVE_ZSTD
	else if (type == E2Q_QCOW_CODEC_ZSTD)
		err = zstd_new(c, level == 0);
#endif
	if (err) {
		e2q_qcow_codec_free(c);
		return err;
	}
	*ret = c;
	return 0;
}

static errcode_t zlib_compress(e2q_qcow_codec *c, const void *in,
			       size_t in_len, void *out, size_t out_max,
			       size_t *out_len)
{
	int ret;

	if (in_len > UINT_MAX || deflateReset(c->zs) != Z_OK)
		return E2Q_ET_RANGE;
	c->zs->next_in = (Bytef *) in;
	c->zs->avail_in = (uInt) in_len;
	c->zs->next_out = out;
	c->zs->avail_out = (uInt) (out_max < UINT_MAX ? out_max : UINT_MAX);
	ret = deflate(c->zs, Z_FINISH);
	if (ret == Z_OK || ret == Z_BUF_ERROR)
		return E2Q_ET_QCOW_NO_GAIN;	/* ran out of room */
	if (ret != Z_STREAM_END)
		return ENOMEM;
	*out_len = c->zs->total_out;
	return 0;
}

#ifdef HAVE_ZSTD
static errcode_t zstd_compress(e2q_qcow_codec *c, const void *in,
			       size_t in_len, void *out, size_t out_max,
			       size_t *out_len)
{
	ZSTD_CCtx *cctx = c->sparse_cctx && is_sparse(in, in_len) ?
			  c->sparse_cctx : c->cctx;
	size_t n = ZSTD_compress2(cctx, out, out_max, in, in_len);

	if (ZSTD_isError(n)) {
		if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall)
			return E2Q_ET_QCOW_NO_GAIN;
		return ENOMEM;
	}
	*out_len = n;
	return 0;
}
#endif

errcode_t e2q_qcow_codec_compress(e2q_qcow_codec *c, const void *in,
				  size_t in_len, void *out, size_t out_max,
				  size_t *out_len)
{
	switch (c->type) {
	case E2Q_QCOW_CODEC_ZLIB:
		return zlib_compress(c, in, in_len, out, out_max, out_len);
#ifdef HAVE_ZSTD
	case E2Q_QCOW_CODEC_ZSTD:
		return zstd_compress(c, in, in_len, out, out_max, out_len);
#endif
	default:
		return E2Q_ET_QCOW_NO_GAIN;
	}
}

void e2q_qcow_codec_free(e2q_qcow_codec *c)
{
	if (!c)
		return;
	if (c->zs) {
		deflateEnd(c->zs);
		free(c->zs);
	}
#ifdef HAVE_ZSTD
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeCCtx(c->sparse_cctx);
#endif
	free(c);
}
