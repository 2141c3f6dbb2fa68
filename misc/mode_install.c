/*
 * mode_install.c --- -I DEVICE IMAGE.e2i: writes the metadata saved in an
 * .e2i image back onto the device, as e2image -I does.
 *
 * Refused on a mounted device.  Everything is checked before the question
 * is asked: the image must open, the device must be large enough and hold
 * the same filesystem (same UUID, block size and count; -f skips that
 * last check).  Then it asks on the terminal unless -y; -n only reports.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "nls-enable.h"
#include "e2q_err.h"
#include "e2copy/e2i_image.h"
#include "misc/e2qcow.h"

static enum e2q_exit refuse_if_mounted(const char *device)
{
	int mount_flags = 0;
	errcode_t err;

	err = ext2fs_check_if_mounted(device, &mount_flags);
	if (err)
		return e2q_fail(E2Q_EXIT_SOURCE, err, _("while checking "
				"whether %s is mounted"), device);
	if (mount_flags & EXT2_MF_MOUNTED)
		return e2q_fail(E2Q_EXIT_REFUSED, 0, _("%s is mounted: unmount "
				"it before installing an image"), device);
	return E2Q_EXIT_OK;
}

/* Opens and checks the image and the device, writing nothing. */
static enum e2q_exit check_install(const struct e2q_options *o,
			 struct e2q_e2i_install_stats *st)
{
	int flags = E2Q_E2I_INSTALL_DRY_RUN;
	errcode_t err;

	if (o->force)
		flags |= E2Q_E2I_INSTALL_FORCE;
	err = e2q_e2i_install(o->dest, o->source, flags, st);
	if (!err)
		return E2Q_EXIT_OK;
	if (err == E2Q_ET_E2I_OTHER_FS)
		return e2q_fail(E2Q_EXIT_REFUSED, 0, _("%s holds another "
				"filesystem than %s (other UUID, block size or "
				"count; use -f to install anyway)"),
				o->source, o->dest);
	return e2q_fail(err == E2Q_ET_DEVICE_TOO_SMALL ? E2Q_EXIT_REFUSED :
			E2Q_EXIT_SOURCE, err, _("while installing %s onto %s"),
			o->dest, o->source);
}

static void print_plan(const struct e2q_options *o,
		       const struct e2q_e2i_install_stats *st)
{
	printf(_("%s would be written to %s: the superblock and its backups, "
		 "%llu group descriptor blocks, the block and inode bitmaps "
		 "of %u groups and %llu inode table blocks of %u bytes\n"),
	       o->dest, o->source, (unsigned long long) st->desc_blocks,
	       st->groups, (unsigned long long) st->inode_table_blocks,
	       st->block_size);
}

/* Asks on the terminal; refuses when there is no terminal to ask on. */
static int confirmed(const struct e2q_options *o)
{
	char answer[16];

	if (!isatty(STDIN_FILENO)) {
		(void) e2q_fail(E2Q_EXIT_REFUSED, 0, _("refusing to overwrite "
				"the metadata of %s without confirmation: "
				"give -y"), o->source);
		return 0;
	}
	fprintf(stderr, _("Overwrite the metadata of %s with %s? [y/N] "),
		o->source, o->dest);
	fflush(stderr);
	if (!fgets(answer, sizeof(answer), stdin))
		return 0;
	return answer[0] == 'y' || answer[0] == 'Y';
}

static enum e2q_exit install(const struct e2q_options *o,
			     struct e2q_e2i_install_stats *st)
{
	errcode_t err;

	err = e2q_e2i_install(o->dest, o->source,
			      o->force ? E2Q_E2I_INSTALL_FORCE : 0, st);
	if (err)
		return e2q_fail(err == E2Q_ET_E2I_OTHER_FS ||
				err == E2Q_ET_DEVICE_TOO_SMALL ?
				E2Q_EXIT_REFUSED : E2Q_EXIT_OUTPUT, err,
				_("while installing %s onto %s"), o->dest,
				o->source);
	if (o->progress)
		fprintf(stderr, _("Installed %s onto %s: %llu inode table "
				  "blocks, %u groups\n"), o->dest, o->source,
			(unsigned long long) st->inode_table_blocks,
			st->groups);
	return E2Q_EXIT_OK;
}

static enum e2q_exit refuse_same_file(const struct e2q_options *o)
{
	struct stat dev, img;

	if (stat(o->source, &dev) < 0 || stat(o->dest, &img) < 0 ||
	    dev.st_dev != img.st_dev || dev.st_ino != img.st_ino)
		return E2Q_EXIT_OK;
	return e2q_fail(E2Q_EXIT_REFUSED, 0, _("%s is the image itself; "
			"refusing to install it onto itself"), o->source);
}

/* Options that mean nothing here are refused, not ignored. */
static enum e2q_exit check_usage(const struct e2q_options *o)
{
	if (!o->all_data && !o->src_offset_set && !o->superblock)
		return E2Q_EXIT_OK;
	return e2q_fail(E2Q_EXIT_USAGE, 0, "%s",
			_("-a, -o and -b are not allowed with -I"));
}

enum e2q_exit e2q_run_install(const struct e2q_options *o)
{
	struct e2q_e2i_install_stats st;
	enum e2q_exit rc;

	rc = check_usage(o);
	if (!rc)
		rc = refuse_same_file(o);
	if (!rc)
		rc = refuse_if_mounted(o->source);
	if (!rc)
		rc = check_install(o, &st);
	if (rc)
		return rc;
	if (o->dry_run) {
		print_plan(o, &st);
		return E2Q_EXIT_OK;
	}
	if (!o->assume_yes && !confirmed(o))
		return E2Q_EXIT_REFUSED;
	return install(o, &st);
}
