/*
 * journal_device.h --- an external journal (mke2fs -O journal_dev) beside
 * the filesystem that uses it (mke2fs -J device=...): with -Q or -r, the
 * journal device is captured into a second image beside the first,
 * IMAGE.journal.qcow2 (-Q) or IMAGE.journal.raw (-r), a trailing .qcow2,
 * .raw or .img of IMAGE giving way, so that
 * `e2fsck -fn -j IMAGE.journal.raw IMAGE.raw` on the restored pair says
 * what it says on the originals.  The device is --journal-device DEV, or
 * /dev/disk/by-uuid/ the journal UUID of the superblock when that link
 * exists; it must be a journal device of that UUID.
 *
 * Functions returning enum e2q_exit have printed their message.
 */
#ifndef E2Q_JOURNAL_DEVICE_H
#define E2Q_JOURNAL_DEVICE_H

#include <ext2fs/ext2fs.h>

#include "misc/e2qcow.h"

/* The name of the journal's image beside dest (malloc()ed), or NULL. */
char *e2q_journal_image_name(const struct e2q_options *opts);

/*
 * After SOURCE is open as fs: the journal device to capture (*dev, NULL
 * for none; --journal-device's, or the by-uuid link's), checked to be a
 * journal device of fs's journal UUID (exit 2 when not).  Refuses (exit 1)
 * --journal-device for a filesystem without an external journal; says in
 * one line when an external journal is not found (it is then not
 * captured, exit 0).
 */
enum e2q_exit e2q_find_journal_device(const struct e2q_options *opts,
				      ext2_filsys fs, const char **dev);

/* Captures dev, the journal of fs that e2q_find_journal_device() found,
 * into e2q_journal_image_name(), with the options of the main image. */
enum e2q_exit e2q_export_journal_device(const struct e2q_options *opts,
					ext2_filsys fs, const char *dev);

#endif /* E2Q_JOURNAL_DEVICE_H */
