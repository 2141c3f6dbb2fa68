/*
 * full_io.c --- whole reads and writes at an offset (see full_io.h).
 */
#include "config.h"

#include <errno.h>
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

/* One loop for both: `seek` says whether to write at `offset`. */
static errcode_t write_loop(int fd, const unsigned char *p, size_t len,
			    uint64_t offset, int seek)
{
	while (len > 0) {
		ssize_t n = seek ? pwrite(fd, p, len, (off_t) offset) :
				   write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return E2Q_ET_SHORT_WRITE;
		p += n;
		len -= (size_t) n;
		offset += (uint64_t) n;
	}
	return 0;
}

errcode_t e2q_pwrite_full(int fd, const void *buf, size_t len,
			  uint64_t offset)
{
	return write_loop(fd, buf, len, offset, 1);
}

errcode_t e2q_write_full(int fd, const void *buf, size_t len)
{
	return write_loop(fd, buf, len, 0, 0);
}
