/*
 * qemu_lock.c --- tests an image file for qemu's permission locks, as
 * qemu's raw_check_lock_bytes() does (see qemu_lock.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "e2q_err.h"
#include "qemu_lock.h"

#define QEMU_LOCK_PERM_BASE	100	/* RAW_LOCK_PERM_BASE */
#define QEMU_LOCK_SHARED_BASE	200	/* RAW_LOCK_SHARED_BASE */

/*
 * Would an exclusive lock on byte `off` conflict with another process's
 * lock?  1 yes (and *pid set), 0 no, or -errno.  OFD locks first, as qemu
 * takes them; POSIX record locks where the kernel has no OFD locks.
 */
static int byte_is_locked(int fd, off_t off, long *pid)
{
	struct flock fl;
	int cmd;

#ifdef F_OFD_GETLK
	cmd = F_OFD_GETLK;
#else
	cmd = F_GETLK;
#endif
	for (;;) {
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		fl.l_start = off;
		fl.l_len = 1;
		if (fcntl(fd, cmd, &fl) == 0)
			break;
		if (errno == EINVAL && cmd != F_GETLK) {
			cmd = F_GETLK;
			continue;
		}
		/* a filesystem without byte-range locks holds none */
		if (errno == ENOLCK || errno == EINVAL || errno == ENOTSUP)
			return 0;
		return -errno;
	}
	if (fl.l_type == F_UNLCK)
		return 0;
	*pid = fl.l_pid;
	return 1;
}

/* Tests byte base + i for every bit i of `bits`; fills *c on a conflict. */
static errcode_t test_bytes(int fd, int base, unsigned int bits,
			    int forbidden, struct e2q_qemu_lock_conflict *c)
{
	unsigned int i;
	long pid = -1;
	int r;

	for (i = 0; i < 4; i++) {
		if (!(bits & (1U << i)))
			continue;
		r = byte_is_locked(fd, base + (off_t) i, &pid);
		if (r < 0)
			return (errcode_t) -r;
		if (r == 0)
			continue;
		c->perm = 1U << i;
		c->forbidden = forbidden;
		c->pid = pid;
		return E2Q_ET_IMAGE_IN_USE;
	}
	return 0;
}

errcode_t e2q_qemu_lock_probe(int fd, unsigned int perm, unsigned int shared,
			      struct e2q_qemu_lock_conflict *conflict)
{
	errcode_t err;

	memset(conflict, 0, sizeof(*conflict));
	err = test_bytes(fd, QEMU_LOCK_SHARED_BASE, perm & E2Q_QEMU_PERM_ALL,
			 1, conflict);
	if (!err)
		err = test_bytes(fd, QEMU_LOCK_PERM_BASE,
				 ~shared & E2Q_QEMU_PERM_ALL, 0, conflict);
	return err;
}

const char *e2q_qemu_perm_name(unsigned int perm)
{
	switch (perm) {
	case E2Q_QEMU_PERM_CONSISTENT_READ:
		return "consistent read";
	case E2Q_QEMU_PERM_WRITE:
		return "write";
	case E2Q_QEMU_PERM_WRITE_UNCHANGED:
		return "write unchanged";
	case E2Q_QEMU_PERM_RESIZE:
		return "resize";
	default:
		return "unknown";
	}
}
