/*
 * qemu_lock.h --- is an image file open in a qemu process that would make
 * reading it unsafe?
 *
 * qemu marks every image it opens with open file description (OFD) locks
 * on single bytes of the file (block/file-posix.c): a shared lock on byte
 * 100 + i for each permission bit i that it holds, and on byte 200 + i for
 * each bit that it does not share with other users.  Before opening an
 * image, qemu tests the bytes that would conflict: 200 + i for each bit it
 * wants (somebody forbids it), 100 + i for each bit it will not share
 * (somebody holds it).  e2q_qemu_lock_probe() makes that same test without
 * taking any lock.  `qemu-img convert` reads an image wanting
 * CONSISTENT_READ and sharing CONSISTENT_READ and WRITE_UNCHANGED: a VM or
 * qemu-io that has the image open read-write holds WRITE and conflicts, one
 * that has it open read-only does not.
 *
 * A filesystem without byte-range locks has no qemu locks either: that is
 * no conflict.  Takes no memory; never prints.
 */
#ifndef E2Q_QEMU_LOCK_H
#define E2Q_QEMU_LOCK_H

#include <et/com_err.h>

/* qemu's permission bits (BLK_PERM_* in include/block/block-common.h) */
#define E2Q_QEMU_PERM_CONSISTENT_READ	0x01
#define E2Q_QEMU_PERM_WRITE		0x02
#define E2Q_QEMU_PERM_WRITE_UNCHANGED	0x04
#define E2Q_QEMU_PERM_RESIZE		0x08
#define E2Q_QEMU_PERM_ALL		0x0f

/* What qemu-img convert asks of its source image, without -U. */
#define E2Q_QEMU_READER_PERM	E2Q_QEMU_PERM_CONSISTENT_READ
#define E2Q_QEMU_READER_SHARED	(E2Q_QEMU_PERM_CONSISTENT_READ | \
				 E2Q_QEMU_PERM_WRITE_UNCHANGED)

struct e2q_qemu_lock_conflict {
	unsigned int perm;	/* the one permission bit in conflict */
	int forbidden;		/* 1: somebody does not share `perm`, which
				 * we want; 0: somebody holds `perm`, which
				 * we do not share */
	long pid;		/* of the holder as the kernel tells it; -1
				 * for an OFD lock (no single owner) */
};

/*
 * Tests the locks of `fd` (any open mode) for an opener that wants `perm`
 * and shares `shared`, in qemu's order.  Returns 0 when nothing conflicts,
 * E2Q_ET_IMAGE_IN_USE with *conflict filled for the first conflict, or an
 * errno from fcntl().
 */
errcode_t e2q_qemu_lock_probe(int fd, unsigned int perm, unsigned int shared,
			      struct e2q_qemu_lock_conflict *conflict);

/* qemu's name of one permission bit ("write"), or "unknown". */
const char *e2q_qemu_perm_name(unsigned int perm);

#endif /* E2Q_QEMU_LOCK_H */
