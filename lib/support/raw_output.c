/*
 * raw_output.c --- a raw disk image written front to back, with holes.
 *
 * Each extent is written straight from the caller's buffer: on a seekable
 * output one pwrite() per run of non-zero blocks (zero blocks become holes,
 * which cost nothing); on a stream, or in place, the extent whole, and on a
 * stream the gaps between extents from a shared zero buffer in large chunks.
 * No data is copied, and the memory used does not grow with the extents.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2q_err.h"
#include "support/full_io.h"
#include "support/raw_output.h"
#include "support/write_behind.h"

#define ZERO_CHUNK	(1U << 20)
#define MAX_BLOCK_SIZE	(64U << 20)	/* qcow2 clusters stop at 2 MiB */

struct e2q_raw_output {
	int fd;
	int flags;
	uint64_t dst_offset;	/* where byte 0 of the image goes */
	uint64_t size;		/* image size in bytes */
	unsigned int block_size;
	uint64_t next;		/* lowest image offset still writable */
	uint64_t written;	/* data bytes written (holes excluded) */
	void (*progress)(void *priv, uint64_t offset);
	void *progress_priv;
	struct e2q_write_behind behind;
};

static const unsigned char zero_chunk[ZERO_CHUNK];

errcode_t e2q_raw_output_new(int fd, uint64_t dst_offset, uint64_t size,
			     unsigned int block_size, int flags,
			     e2q_raw_output **ret)
{
	e2q_raw_output *out;

	if (block_size == 0 || block_size > MAX_BLOCK_SIZE ||
	    dst_offset + size < dst_offset)
		return E2Q_ET_RANGE;
	out = calloc(1, sizeof(*out));
	if (!out)
		return ENOMEM;
	out->fd = fd;
	out->flags = flags;
	out->dst_offset = dst_offset;
	out->size = size;
	out->block_size = block_size;
	e2q_write_behind_init(&out->behind, fd);
	*ret = out;
	return 0;
}

static errcode_t write_all_at(e2q_raw_output *out, const void *buf,
			      size_t len, uint64_t offset)
{
	errcode_t err;

	if (out->flags & E2Q_RAW_STREAM)
		return e2q_write_full(out->fd, buf, len);
	err = e2q_pwrite_full(out->fd, buf, len, out->dst_offset + offset);
	if (!err)
		e2q_write_behind_wrote(&out->behind, out->dst_offset + offset,
				       len);
	return err;
}

/* On a stream, holes up to `offset` are written out as zeros. */
static errcode_t fill_stream_gap(e2q_raw_output *out, uint64_t offset)
{
	errcode_t err;

	while (out->next < offset) {
		uint64_t gap = offset - out->next;
		size_t n = gap > ZERO_CHUNK ? ZERO_CHUNK : (size_t) gap;

		err = write_all_at(out, zero_chunk, n, out->next);
		if (err)
			return err;
		out->next += n;
	}
	return 0;
}

/* Writes one extent as it is, after the zeros a stream needs before it. */
static errcode_t write_extent(e2q_raw_output *out, uint64_t offset,
			      const unsigned char *data, size_t len)
{
	errcode_t err = 0;

	if (out->flags & E2Q_RAW_STREAM)
		err = fill_stream_gap(out, offset);
	if (!err)
		err = write_all_at(out, data, len, offset);
	if (err)
		return err;
	out->written += len;
	out->next = offset + len;
	if (out->progress)
		out->progress(out->progress_priv, out->next);
	return 0;
}

static int is_zero(const unsigned char *p, size_t len)
{
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

errcode_t e2q_raw_output_write(e2q_raw_output *out, uint64_t offset,
			       const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t done = 0;
	errcode_t err;

	if (offset < out->next || offset > out->size ||
	    len > out->size - offset)
		return E2Q_ET_RANGE;
	if (out->flags & (E2Q_RAW_KEEP_ZEROS | E2Q_RAW_STREAM))
		return write_extent(out, offset, p, len);
	while (done < len) {
		size_t run = 0, bs = out->block_size;

		/* gather a run of non-zero blocks, then skip zero ones */
		while (done + run < len) {
			size_t n = len - done - run < bs ? len - done - run : bs;

			if (is_zero(p + done + run, n))
				break;
			run += n;
		}
		if (run) {
			err = write_extent(out, offset + done, p + done, run);
			if (err)
				return err;
			done += run;
		}
		while (done < len) {
			size_t n = len - done < bs ? len - done : bs;

			if (!is_zero(p + done, n))
				break;
			done += n;
		}
	}
	return 0;
}

/* Written in place: a regular file grows to the image's end, never shrinks. */
static errcode_t extend_regular_file(e2q_raw_output *out)
{
	uint64_t end = out->dst_offset + out->size;
	struct stat st;

	if (fstat(out->fd, &st) < 0)
		return errno;
	if (S_ISREG(st.st_mode) && (uint64_t) st.st_size < end &&
	    ftruncate(out->fd, (off_t) end) < 0)
		return errno;
	return 0;
}

errcode_t e2q_raw_output_finish(e2q_raw_output *out)
{
	if (out->flags & E2Q_RAW_STREAM)
		return fill_stream_gap(out, out->size);
	if (out->flags & E2Q_RAW_KEEP_ZEROS)
		return extend_regular_file(out);
	if (ftruncate(out->fd, (off_t) (out->dst_offset + out->size)) < 0)
		return errno;
	return 0;
}

void e2q_raw_output_on_progress(e2q_raw_output *out,
				void (*fn)(void *priv, uint64_t offset),
				void *priv)
{
	out->progress = fn;
	out->progress_priv = priv;
}

uint64_t e2q_raw_output_bytes_written(const e2q_raw_output *out)
{
	return out->written;
}

void e2q_raw_output_free(e2q_raw_output *out)
{
	if (!out)
		return;
	free(out);
}
