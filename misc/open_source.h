/*
 * open_source.h --- the block source every mode that reads a filesystem
 * starts from: SOURCE opened through libext2fs, a device or image file
 * through unix_io (-o, -b, -B), a qcow2/qcow image through the qcow
 * io_manager (-l picks a snapshot), so that -Q, -r -s, .e2i, -ra and
 * --verify read metadata images as they read devices.  And what every such
 * mode says about its source: mounted read-write, damaged.
 *
 * Functions returning enum e2q_exit have printed their message.
 */
#ifndef E2Q_OPEN_SOURCE_H
#define E2Q_OPEN_SOURCE_H

#include <ext2fs/ext2fs.h>

#include "misc/e2qcow.h"

/*
 * Opens SOURCE read-only; with -b and no -B, tries every block size.
 * Without -b, opens it from the superblock e2fsck -n would use: the
 * primary, or, when the primary superblock or its group descriptors are
 * unusable, the backup e2fsck falls back to (found as e2fsck 1.47 finds
 * it: e2fsck/unix.c, get_backup_sb() in util.c), saying so in one line.
 * *superblock (may be NULL): the superblock opened, -b's or that backup,
 * for e2q_meta_options.superblock; 0 for the primary.
 */
enum e2q_exit e2q_open_source_fs(const struct e2q_options *opts,
				 ext2_filsys *fs, blk64_t *superblock);
/*
 * For a qcow SOURCE, opens its file now, so that a sandbox (sandbox.h) can
 * be entered before e2q_open_source_fs() parses it through the io_manager;
 * *fd is -1 for any other SOURCE.  e2q_release_qcow_source() closes it
 * after the filesystem.
 */
enum e2q_exit e2q_preopen_qcow_source(const struct e2q_options *opts,
				      int *fd);
void e2q_release_qcow_source(int fd);
/* Refuses (exit 4, one line) a SOURCE mounted read-write, unless -f. */
enum e2q_exit e2q_refuse_if_mounted_rw(const struct e2q_options *opts);
/* The problem callback of struct e2q_meta_options; source is SOURCE. */
void e2q_report_walk_problem(void *source, errcode_t code, ext2_ino_t ino,
			     dgrp_t group);

#endif /* E2Q_OPEN_SOURCE_H */
