/*
 * qcow_io.h --- a read-only libext2fs io_manager over the qcow reader, so
 * that ext2fs_open2() reads a filesystem straight out of a qcow2 or qcow
 * image:
 *
 *	ext2fs_open2("fs.qcow2", NULL, 0, 0, 0, e2q_qcow_io_manager, &fs);
 *
 * The only place where ext2 and qcow meet.  The image is opened with
 * e2q_qcow_open() (strict: hostile images are refused at open, with the
 * reasons of qcow_reader.h); the active state is read, or the snapshot
 * named by the io option "snapshot=ID_OR_NAME" ("fs.qcow2?snapshot=1"
 * as the name given to ext2fs_open2()).
 * Write, discard and zeroout return EROFS; opening with IO_FLAG_RW fails
 * with EROFS.  Reads past the virtual size are zero-filled and return
 * EXT2_ET_SHORT_READ, as unix_io does at the end of a file.
 * After a failed open or read, e2q_qcow_io_last_problem() says which
 * structure of the image was at fault.
 */
#ifndef E2Q_QCOW_IO_H
#define E2Q_QCOW_IO_H

#include <ext2fs/ext2fs.h>

#include "qcow/qcow_reader.h"

extern io_manager e2q_qcow_io_manager;

/*
 * The structure and offset of the last image problem met by an open (on
 * this thread's last failed open, channel NULL) or by a read on `channel`.
 * Returns 0 when there is none.
 */
int e2q_qcow_io_last_problem(io_channel channel,
			     struct e2q_qcow_problem *problem);

/*
 * Until called again with fd -1, an open of `name` (the same string, the
 * pointer is kept) through e2q_qcow_io_manager on this thread takes a
 * duplicate of fd, a descriptor open for reading, instead of opening the
 * file: a program that confines itself (no open(2)) opens its files first.
 * The caller keeps fd and closes it after the last channel.
 */
void e2q_qcow_io_use_fd(const char *name, int fd);

#endif /* E2Q_QCOW_IO_H */
