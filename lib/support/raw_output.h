/*
 * raw_output.h --- writes a raw disk image of a known size, front to back.
 *
 * The caller hands extents in ascending, non-overlapping offset order; what
 * lies between them, and every all-zero block of `block_size` bytes inside
 * them, becomes a hole.  A seekable output gets real holes (lseek and, at the
 * end, ftruncate to dst_offset + size, so an existing longer file is cut to
 * size); a stream (a pipe, stdout) gets the zeros written out, in large
 * writes.  With E2Q_RAW_KEEP_ZEROS, zero blocks inside extents are written
 * explicitly (for block devices, whose old contents must be overwritten) and
 * the output is never truncated: a regular file only grows to
 * dst_offset + size.
 *
 * Extents are written straight from the caller's buffer, never copied.
 * The caller owns the descriptor.  Errors are errno values, E2Q_ET_RANGE for
 * extents out of order or past the end, E2Q_ET_SHORT_WRITE for a write that
 * made no progress.
 */
#ifndef E2Q_RAW_OUTPUT_H
#define E2Q_RAW_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <et/com_err.h>

#define E2Q_RAW_STREAM		0x1	/* not seekable: write zeros for holes */
#define E2Q_RAW_KEEP_ZEROS	0x2	/* write zero blocks; never truncate */

typedef struct e2q_raw_output e2q_raw_output;

errcode_t e2q_raw_output_new(int fd, uint64_t dst_offset, uint64_t size,
			     unsigned int block_size, int flags,
			     e2q_raw_output **ret);
errcode_t e2q_raw_output_write(e2q_raw_output *out, uint64_t offset,
			       const void *data, size_t len);
errcode_t e2q_raw_output_finish(e2q_raw_output *out);
uint64_t e2q_raw_output_bytes_written(const e2q_raw_output *out);

/*
 * Calls fn(priv, offset) after each extent written, with the image offset
 * reached, so that a caller whose writes come from a library (conversion)
 * can show progress.  fn must not fail; NULL turns it off.
 */
void e2q_raw_output_on_progress(e2q_raw_output *out,
				void (*fn)(void *priv, uint64_t offset),
				void *priv);
void e2q_raw_output_free(e2q_raw_output *out);

#endif /* E2Q_RAW_OUTPUT_H */
