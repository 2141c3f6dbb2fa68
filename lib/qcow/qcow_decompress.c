/*
 * qcow_decompress.c --- one compressed cluster in, exactly one cluster out.
 *
 * qcow2 compression type 0 and qcow v1 use raw deflate (no zlib header,
 * windowBits -12, as qemu writes it); type 1 is a zstd frame.  The input
 * length is an upper bound (the descriptor counts whole sectors), so bytes
 * after the end of the stream are ignored.  A stream that ends before one
 * cluster is produced, or that would produce more (a deflate bomb), is
 * refused with E2Q_ET_QCOW_BAD_COMPRESSED: output is never larger than the
 * cluster buffer.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <zlib.h>
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif

#include "qcow_reader_int.h"
#include "qcow/qcow_format.h"
#include "e2q_err.h"

static errcode_t get_zstream(e2q_qcow_image *img, z_stream **ret)
{
	z_stream *zs = img->zstream;

	if (!zs) {
		zs = calloc(1, sizeof(*zs));
		if (!zs)
			return ENOMEM;
		if (inflateInit2(zs, -12) != Z_OK) {
			free(zs);
			return ENOMEM;
		}
		img->zstream = zs;
	} else if (inflateReset(zs) != Z_OK) {
		return E2Q_ET_QCOW_BAD_COMPRESSED;
	}
	*ret = zs;
	return 0;
}

/* After the output buffer is full, the stream must not yield one byte more. */
static int deflate_has_more(z_stream *zs)
{
	unsigned char extra;
	int ret;

	zs->next_out = &extra;
	zs->avail_out = 1;
	ret = inflate(zs, Z_FINISH);
	return zs->avail_out == 0 && (ret == Z_OK || ret == Z_STREAM_END ||
				      ret == Z_BUF_ERROR);
}

static errcode_t inflate_cluster(e2q_qcow_image *img, const unsigned char *in,
				 size_t in_len, unsigned char *out)
{
	z_stream *zs;
	errcode_t err;
	int ret;

	err = get_zstream(img, &zs);
	if (err)
		return err;
	zs->next_in = (unsigned char *) in;
	zs->avail_in = (uInt) in_len;
	zs->next_out = out;
	zs->avail_out = img->cluster_size;
	ret = inflate(zs, Z_FINISH);
	if (ret != Z_STREAM_END && ret != Z_OK && ret != Z_BUF_ERROR)
		return E2Q_ET_QCOW_BAD_COMPRESSED;
	if (zs->avail_out != 0)
		return E2Q_ET_QCOW_BAD_COMPRESSED;	/* short */
	if (ret != Z_STREAM_END && deflate_has_more(zs))
		return E2Q_ET_QCOW_BAD_COMPRESSED;	/* bomb */
	return 0;
}

#ifdef HAVE_ZSTD
static errcode_t zstd_cluster(e2q_qcow_image *img, const unsigned char *in,
			      size_t in_len, unsigned char *out)
{
	ZSTD_inBuffer input = { in, in_len, 0 };
	ZSTD_outBuffer output = { out, img->cluster_size, 0 };
	size_t ret = 1;

	if (!img->zstd_dctx) {
		img->zstd_dctx = ZSTD_createDCtx();
		if (!img->zstd_dctx)
			return ENOMEM;
	} else {
		ZSTD_DCtx_reset(img->zstd_dctx, ZSTD_reset_session_only);
	}
	while (output.pos < output.size) {
		size_t in_pos = input.pos, out_pos = output.pos;

		ret = ZSTD_decompressStream(img->zstd_dctx, &output, &input);
		if (ZSTD_isError(ret))
			return E2Q_ET_QCOW_BAD_COMPRESSED;
		if (input.pos == in_pos && output.pos == out_pos)
			return E2Q_ET_QCOW_BAD_COMPRESSED;	/* short */
	}
	/* the frame must end exactly at one cluster */
	if (ret != 0)
		return E2Q_ET_QCOW_BAD_COMPRESSED;
	return 0;
}
#endif

errcode_t e2q_qcow_decompress(e2q_qcow_image *img, const unsigned char *in,
			      size_t in_len, unsigned char *out)
{
	if (in_len > UINT32_MAX)
		return E2Q_ET_QCOW_BAD_COMPRESSED;
	switch (img->compression_type) {
	case E2Q_QCOW2_COMPRESSION_ZLIB:
		return inflate_cluster(img, in, in_len, out);
#ifdef HAVE_ZSTD
	case E2Q_QCOW2_COMPRESSION_ZSTD:
		return zstd_cluster(img, in, in_len, out);
#endif
	default:
		return E2Q_ET_QCOW_UNSUPPORTED;
	}
}

void e2q_qcow_decompress_free(e2q_qcow_image *img)
{
	if (img->zstream) {
		inflateEnd(img->zstream);
		free(img->zstream);
		img->zstream = NULL;
	}
#ifdef HAVE_ZSTD
	if (img->zstd_dctx) {
		ZSTD_freeDCtx(img->zstd_dctx);
		img->zstd_dctx = NULL;
	}
#endif
}
