/*
 * full_io.c --- whole reads and writes at an offset (see full_io.h).
 */
#include "config.h"

#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include "e2q_err.h"
#include "full_io.h"

errcode_t e2q_pread_upto(int fd, void *buf, size_t len, uint64_t offset,
			 size_t *got)
{
	unsigned char *p = buf;

	*got = 0;
	while (*got < len) {
		ssize_t n = pread(fd, p + *got, len - *got,
				  (off_t) (offset + *got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			break;
		*got += (size_t) n;
	}
	return 0;
}

errcode_t e2q_pread_full(int fd, void *buf, size_t len, uint64_t offset,
			 errcode_t short_err)
{
	size_t got;
	errcode_t err = e2q_pread_upto(fd, buf, len, offset, &got);

	if (err)
		return err;
	return got < len ? short_err : 0;
}

/*
 * The one write loop: `seek` says whether to write at `offset`.  Consumes
 * the caller's iovec array as the bytes go out.
 */
static errcode_t writev_loop(int fd, struct iovec *iov, int cnt,
			     uint64_t offset, int seek)
{
	for (;;) {
		ssize_t n;

		while (cnt > 0 && iov->iov_len == 0) {
			iov++;
			cnt--;
		}
		if (cnt == 0)
			return 0;
		n = seek ? pwritev(fd, iov, cnt, (off_t) offset) :
			   writev(fd, iov, cnt);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return E2Q_ET_SHORT_WRITE;
		offset += (uint64_t) n;
		while ((size_t) n >= iov->iov_len) {
			n -= (ssize_t) iov->iov_len;
			iov++;
			cnt--;
			if (cnt == 0)
				return 0;
		}
		iov->iov_base = (char *) iov->iov_base + n;
		iov->iov_len -= (size_t) n;
	}
}

errcode_t e2q_pwritev_full(int fd, struct iovec *iov, int cnt,
			   uint64_t offset)
{
	return writev_loop(fd, iov, cnt, offset, 1);
}

errcode_t e2q_writev_full(int fd, struct iovec *iov, int cnt)
{
	return writev_loop(fd, iov, cnt, 0, 0);
}

errcode_t e2q_pwrite_full(int fd, const void *buf, size_t len,
			  uint64_t offset)
{
	struct iovec iov = { (void *) buf, len };

	return writev_loop(fd, &iov, 1, offset, 1);
}

errcode_t e2q_write_full(int fd, const void *buf, size_t len)
{
	struct iovec iov = { (void *) buf, len };

	return writev_loop(fd, &iov, 1, 0, 0);
}
