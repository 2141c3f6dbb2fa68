/*
 * write_behind.c --- hands a large output to the disk as it is written
 * (see write_behind.h).
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "write_behind.h"

/* The window from the environment, else the default; 0 is off. */
static uint64_t window_size(void)
{
	const char *s = getenv("E2QCOW_WRITE_BEHIND_KB");
	char *end;
	unsigned long long kb;

	if (!s || !*s)
		return E2Q_WRITE_BEHIND_WINDOW;
	kb = strtoull(s, &end, 10);
	if (*end || kb > (1ULL << 30))
		return E2Q_WRITE_BEHIND_WINDOW;
	if (kb == 0)
		return 0;
	return (kb < 4 ? 4 : kb) << 10;
}

void e2q_write_behind_init(struct e2q_write_behind *wb, int fd)
{
	struct stat st;

	wb->fd = -1;
	wb->window = window_size();
	wb->started = wb->high = wb->pending = 0;
	if (wb->window && fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		wb->fd = fd;
}

void e2q_write_behind_wrote(struct e2q_write_behind *wb, uint64_t offset,
			    uint64_t len)
{
	uint64_t previous;

	if (wb->fd < 0)
		return;
	if (offset + len > wb->high)
		wb->high = offset + len;
	wb->pending += len;
	if (wb->pending < wb->window)
		return;
#ifdef HAVE_SYNC_FILE_RANGE
	(void) sync_file_range(wb->fd, (off_t) wb->started,
			       (off_t) (wb->high - wb->started),
			       SYNC_FILE_RANGE_WRITE);
#endif
	previous = wb->started;
	wb->started = wb->high;
	wb->pending = 0;
	/* all before this window: the last one goes once written back */
	if (previous > 0)
		(void) posix_fadvise(wb->fd, 0, (off_t) previous,
				     POSIX_FADV_DONTNEED);
}
