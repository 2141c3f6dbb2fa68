/*
 * write_behind.h --- keeps a large output file from filling the page cache.
 *
 * An image of a gigabyte written through the page cache stays there, dirty,
 * after the program ends: it pushes out pages other programs need, and every
 * page of it is memory the kernel must find first (on a virtual machine
 * whose host reclaims free guest memory, that costs more than the copy).
 * The output is written once and not read back, so the writers hand it to
 * the disk as they go: after each window of E2Q_WRITE_BEHIND_WINDOW bytes,
 * e2q_write_behind_wrote() starts writeback of that window
 * (sync_file_range SYNC_FILE_RANGE_WRITE, which does not wait for it) and
 * advises the kernel to drop every page before it (posix_fadvise
 * POSIX_FADV_DONTNEED, which drops only pages already written back, so
 * that the window handed over last time goes on the next call).  A disk
 * that keeps up leaves two or three windows in the page cache, and their
 * pages are reused for the next ones; a slower disk leaves the rest to the
 * kernel, as plain writes would.  Nothing ever waits.
 *
 * Only regular files: on anything else (a pipe, a block device) these calls
 * do nothing.  Writes may come in any order; the window follows the
 * highest offset written, and a window counts bytes written, not the
 * holes between them.  This is advice: its failures are ignored.
 * The program may change the window for every output it opens after the
 * call with e2q_write_behind_set_window() (e2qcow reads it from
 * E2QCOW_WRITE_BEHIND_KB, e2qcow(8), ENVIRONMENT; the tests use small
 * windows).
 */
#ifndef E2Q_WRITE_BEHIND_H
#define E2Q_WRITE_BEHIND_H

#include <stdint.h>

#define E2Q_WRITE_BEHIND_WINDOW	(32ULL << 20)

struct e2q_write_behind {
	int fd;			/* -1: off */
	uint64_t window;
	uint64_t started;	/* writeback started below this offset */
	uint64_t high;		/* highest offset written */
	uint64_t pending;	/* bytes written since writeback last started */
};

/* Bytes per window from now on, at least 4 KiB; 0 turns write-behind off. */
void e2q_write_behind_set_window(uint64_t bytes);
void e2q_write_behind_init(struct e2q_write_behind *wb, int fd);
void e2q_write_behind_wrote(struct e2q_write_behind *wb, uint64_t offset,
			    uint64_t len);

#endif /* E2Q_WRITE_BEHIND_H */
