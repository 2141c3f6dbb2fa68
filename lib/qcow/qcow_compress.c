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
#include <zstd.h>
#include <zstd_errors.h>
#endif

#include "e2q_err.h"
#include "qcow/qcow_compress.h"
#include "qcow/qcow_format.h"

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
#endif
};

/*
 * Measured on the 64 GiB benchmark filesystem (v3, 1.18 GB of metadata that
 * zstd -1 shrinks 20 times as a whole), CPU seconds on one thread for the
 * compressed data: zstd 3 1.4 s for 58.9 MB, zstd 6 5.6 s for 55.0 MB
 * (256 KiB clusters; only level 6 and up make the image 20 times smaller
 * than e2image's); deflate 1 5.2 s for 97.4 MB, deflate 3 6.4 s for 89.5 MB,
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
static errcode_t zstd_new(e2q_qcow_codec *c)
{
	c->cctx = ZSTD_createCCtx();
	if (!c->cctx)
		return ENOMEM;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx,
						ZSTD_c_compressionLevel,
						c->level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx,
						ZSTD_c_checksumFlag, 0)))
		return E2Q_ET_QCOW_BAD_LEVEL;
	return 0;
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
		err = zstd_new(c);
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
	size_t n = ZSTD_compress2(c->cctx, out, out_max, in, in_len);

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
	if (c->cctx)
		ZSTD_freeCCtx(c->cctx);
#endif
	free(c);
}
