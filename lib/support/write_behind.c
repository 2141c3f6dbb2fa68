/*
 * write_behind.c --- hands a large output to the disk as it is written
 * (see write_behind.h).
 */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "write_behind.h"

#define MIN_WINDOW	4096

static uint64_t window_size = E2Q_WRITE_BEHIND_WINDOW;

void e2q_write_behind_set_window(uint64_t bytes)
{
	window_size = bytes && bytes < MIN_WINDOW ? MIN_WINDOW : bytes;
}

void e2q_write_behind_init(struct e2q_write_behind *wb, int fd)
{
	struct stat st;

	wb->fd = -1;
	wb->window = window_size;
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
