/*
 * journal_device.c --- the external journal, captured beside the image of
 * the filesystem that uses it (see journal_device.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "nls-enable.h"
#include "misc/e2qcow.h"
#include "misc/journal_device.h"

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

char *e2q_journal_image_name(const struct e2q_options *o)
{
	const char *ext = o->mode == E2Q_MODE_QCOW2 ? ".qcow2" : ".raw";
	static const char *const gives_way[] = { ".qcow2", ".raw", ".img" };
	size_t base = o->dest ? strlen(o->dest) : 0, i;
	char *name;

	if (!o->dest || strcmp(o->dest, "-") == 0)
		return NULL;
	for (i = 0; i < sizeof(gives_way) / sizeof(gives_way[0]); i++)
		if (ends_with(o->dest, gives_way[i]))
			base -= strlen(gives_way[i]);
	name = malloc(base + strlen(".journal") + strlen(ext) + 1);
	if (name)
		sprintf(name, "%.*s.journal%s", (int) base, o->dest, ext);
	return name;
}

static int has_external_journal(struct ext2_super_block *sb)
{
	static const unsigned char null_uuid[16];

	return ext2fs_has_feature_journal(sb) && !sb->s_journal_inum &&
	       memcmp(sb->s_journal_uuid, null_uuid, 16) != 0;
}

static void uuid_text(const unsigned char *u, char *text)
{
	size_t i, n = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			text[n++] = '-';
		n += (size_t) sprintf(text + n, "%02x", u[i]);
	}
}

/* dev must be a journal device whose UUID is fs's s_journal_uuid. */
static enum e2q_exit check_journal_device(ext2_filsys fs, const char *dev)
{
	ext2_filsys jfs = NULL;
	errcode_t err;
	int ok;

	err = ext2fs_open2(dev, NULL, EXT2_FLAG_64BITS |
			   EXT2_FLAG_JOURNAL_DEV_OK |
			   EXT2_FLAG_IGNORE_CSUM_ERRORS, 0, 0, unix_io_manager,
			   &jfs);
	if (err)
		return e2q_fail(E2Q_EXIT_SOURCE, err, _("while opening the "
				"journal device %s"), dev);
	ok = ext2fs_has_feature_journal_dev(jfs->super) &&
	     memcmp(jfs->super->s_uuid, fs->super->s_journal_uuid, 16) == 0;
	ext2fs_close_free(&jfs);
	if (!ok)
		return e2q_fail(E2Q_EXIT_SOURCE, 0, _("%s is not the journal "
				"device of %s"), dev, fs->device_name);
	return E2Q_EXIT_OK;
}

enum e2q_exit e2q_find_journal_device(const struct e2q_options *o,
				      ext2_filsys fs, const char **dev)
{
	static char by_uuid[64];
	char uuid[37];

	*dev = NULL;
	if (!has_external_journal(fs->super)) {
		if (o->journal_device)
			return e2q_fail(E2Q_EXIT_USAGE, 0, _("--journal-device:"
					" %s has no external journal"),
					o->source);
		return E2Q_EXIT_OK;
	}
	if (o->journal_device) {
		if (strcmp(o->dest, "-") == 0)
			return e2q_fail(E2Q_EXIT_USAGE, 0, "%s",
					_("--journal-device needs an IMAGE file "
					  "to write the journal's image beside"));
		*dev = o->journal_device;
		return check_journal_device(fs, *dev);
	}
	uuid_text(fs->super->s_journal_uuid, uuid);
	snprintf(by_uuid, sizeof(by_uuid), "/dev/disk/by-uuid/%s", uuid);
	if (!o->dry_run && strcmp(o->dest, "-") != 0 &&
	    access(by_uuid, R_OK) == 0) {
		*dev = by_uuid;
		return check_journal_device(fs, *dev);
	}
	(void) e2q_fail(E2Q_EXIT_OK, 0, _("the journal of %s is on another "
			"device (UUID %s), which is not captured: name it with "
			"--journal-device"), o->source, uuid);
	return E2Q_EXIT_OK;
}

enum e2q_exit e2q_export_journal_device(const struct e2q_options *o,
					ext2_filsys fs, const char *dev)
{
	struct e2q_options jo = *o;
	enum e2q_exit rc;
	char *name;

	(void) fs;
	name = e2q_journal_image_name(o);
	if (!name)
		return e2q_fail(E2Q_EXIT_INTERNAL, ENOMEM, "%s",
				_("while naming the journal's image"));
	jo.source = dev;
	jo.dest = name;
	jo.source_is_qcow = 0;
	jo.journal_device = NULL;
	jo.freeze = 0;		/* its filesystem is frozen already */
	jo.superblock = 0;
	jo.blocksize = 0;
	jo.src_offset_set = jo.dst_offset_set = 0;
	jo.snapshot = NULL;
	rc = e2q_run_export(&jo);
	free(name);
	return rc;
}
