/*
 * full_io.h --- whole reads and writes at an offset, retried on EINTR and
 * on short transfers, so that no caller repeats the loop.
 *
 * e2q_pread_upto reads until `len` bytes or end of file and says how many
 * it got; e2q_pread_full treats an early end of file as `short_err` (each
 * caller names its own: a short qcow image, a short device).
 * e2q_pwrite_full and e2q_write_full (for streams, at the current position)
 * return E2Q_ET_SHORT_WRITE when a write makes no progress; the -v forms
 * write an iovec array, which they consume (its entries are changed).  Other failures
 * are errno values.  Nothing is printed.
 */
#ifndef E2Q_FULL_IO_H
#define E2Q_FULL_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <et/com_err.h>

errcode_t e2q_pread_upto(int fd, void *buf, size_t len, uint64_t offset,
			 size_t *got);
errcode_t e2q_pread_full(int fd, void *buf, size_t len, uint64_t offset,
			 errcode_t short_err);
errcode_t e2q_pwrite_full(int fd, const void *buf, size_t len,
			  uint64_t offset);
errcode_t e2q_write_full(int fd, const void *buf, size_t len);
errcode_t e2q_pwritev_full(int fd, struct iovec *iov, int cnt,
			   uint64_t offset);
errcode_t e2q_writev_full(int fd, struct iovec *iov, int cnt);

#endif /* E2Q_FULL_IO_H */
