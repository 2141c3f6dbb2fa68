/*
 * mode_verify.c --- --verify DEVICE IMAGE: reads every metadata block of
 * the filesystem on DEVICE and the same block of IMAGE (qcow2, qcow, or raw,
 * compressed or not), and reports each block that differs or cannot be read
 * from the image, by number and owner: a group structure, or an inode and
 * the role of the block in it.  Exit 0 when all are identical, 6 otherwise.
 *
 * Owners are found only when something differs: a second walk of the
 * filesystem tells which inode each differing block belongs to.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "nls-enable.h"
#include "e2q_err.h"
#include "support/full_io.h"
#include "e2meta/e2meta.h"
#include "e2meta/group_desc.h"
#include "qcow/qcow_reader.h"
#include "misc/capture_report.h"
#include "misc/e2qcow.h"
#include "misc/open_source.h"
#include "misc/sandbox.h"

#define READ_BATCH_BYTES	(4U << 20)
#define MAX_LISTED		1000	/* differences kept and printed */

/* The group structure that holds a block. */
enum group_part {
	PART_NONE = 0, PART_BLOCK_BITMAP, PART_INODE_BITMAP, PART_INODE_TABLE
};

struct difference {
	blk64_t blk;
	errcode_t read_err;	/* 0: the bytes differ */
	ext2_ino_t ino;		/* owner, 0 when a group structure */
	enum e2q_meta_role role;
	enum group_part part;	/* when a group structure: which ... */
	dgrp_t group;		/* ... of which group ... */
	blk64_t index;		/* ... and which of its blocks */
};

struct verify {
	const struct e2q_options *opts;
	ext2_filsys fs;
	blk64_t superblock;		/* SOURCE opened from: -b, a backup, 0 */
	ext2fs_block_bitmap map;
	struct e2q_meta_stats stats;
	int fd;
	e2q_qcow_image *img;		/* NULL: a raw image */
	char *buf;			/* the image's bytes of a run */
	struct difference *diffs;
	size_t ndiffs;
	uint64_t differing, compared;
};

/*
 * The image's capture report, when it has one: who made it and when, and
 * a warning when it names another filesystem than SOURCE.  The image is
 * only read: its report stays as it is.
 */
static void say_capture_report(struct verify *v)
{
	struct e2q_report_summary s;
	char *text = NULL, uuid[40];
	size_t len = 0;
	const unsigned char *u = v->fs->super->s_uuid;

	if (e2q_qcow_get_report(v->img, &text, &len) || !text ||
	    e2q_report_summarize(text, len, &s)) {
		free(text);
		return;
	}
	free(text);
	snprintf(uuid, sizeof(uuid), "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3],
		 u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
	printf(_("%s: captured by %s at %s from the filesystem %s\n"),
	       v->opts->dest, s.tool, s.captured, s.uuid);
	if (*s.uuid && strcmp(s.uuid, uuid))
		printf(_("%s: warning: its capture report names another "
			 "filesystem than %s (%s)\n"), v->opts->dest,
		       v->opts->source, uuid);
}

static enum e2q_exit open_image_file(struct verify *v)
{
	v->fd = open(v->opts->dest, O_RDONLY);
	if (v->fd < 0)
		return e2q_fail(E2Q_EXIT_SOURCE, errno, _("while opening %s"),
				v->opts->dest);
	/* qemu's locks: not an image that a running VM writes to */
	return e2q_refuse_if_image_in_use(v->opts, v->opts->dest, v->fd);
}

static enum e2q_exit parse_image(struct verify *v)
{
	const char *path = v->opts->dest;
	struct e2q_qcow_open_params params;
	struct e2q_qcow_problem problem = { NULL, 0 };
	errcode_t err;

	if (!e2q_qcow_probe(v->fd))
		return E2Q_EXIT_OK;
	memset(&params, 0, sizeof(params));
	params.snapshot = v->opts->snapshot;
	err = e2q_qcow_open(v->fd, &params, &v->img, &problem);
	if (err)
		return e2q_fail_image(E2Q_EXIT_SOURCE, path, err, &problem,
				      _("while opening %s"));
	say_capture_report(v);
	return E2Q_EXIT_OK;
}

/* Raw images may be shorter than the filesystem: the rest reads as zeros. */
static errcode_t read_raw(int fd, char *buf, size_t len, uint64_t offset)
{
	size_t got;
	errcode_t err = e2q_pread_upto(fd, buf, len, offset, &got);

	if (!err)
		memset(buf + got, 0, len - got);
	return err;
}

static errcode_t read_image(struct verify *v, char *buf, size_t len,
			    uint64_t offset)
{
	struct e2q_qcow_problem problem = { NULL, 0 };

	if (!v->img)
		return read_raw(v->fd, buf, len, offset);
	return e2q_qcow_pread(v->img, buf, len, offset, &problem);
}

static void note_difference(struct verify *v, blk64_t blk, errcode_t err)
{
	v->differing++;
	if (v->ndiffs == MAX_LISTED)
		return;
	v->diffs[v->ndiffs++] = (struct difference) { blk, err, 0, 0,
						      PART_NONE, 0, 0 };
}

/* A run the image could not give at once: block by block. */
static void compare_blocks_one_by_one(struct verify *v, blk64_t first,
				      blk64_t count, const char *data)
{
	unsigned int bs = v->fs->blocksize;
	blk64_t i;

	for (i = 0; i < count; i++) {
		errcode_t err = read_image(v, v->buf, bs, (first + i) * bs);

		if (err || memcmp(v->buf, data + i * bs, bs))
			note_difference(v, first + i, err);
	}
}

static errcode_t compare_run(blk64_t first, blk64_t count, const void *data,
			     void *priv)
{
	struct verify *v = priv;
	unsigned int bs = v->fs->blocksize;
	const char *src = data;
	blk64_t i;

	v->compared += count;
	if (read_image(v, v->buf, count * bs, first * bs)) {
		compare_blocks_one_by_one(v, first, count, src);
		return 0;
	}
	for (i = 0; i < count; i++)
		if (memcmp(v->buf + i * bs, src + i * bs, bs))
			note_difference(v, first + i, 0);
	return 0;
}

/* The first difference at or after blk (they are in ascending order). */
static size_t first_difference_from(const struct verify *v, blk64_t blk)
{
	size_t lo = 0, hi = v->ndiffs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->diffs[mid].blk < blk)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Role callback of the second walk: names the owners of differing blocks. */
static void note_owner(void *priv, blk64_t first, blk64_t count,
		       enum e2q_meta_role role, ext2_ino_t ino)
{
	struct verify *v = priv;
	size_t i;

	for (i = first_difference_from(v, first);
	     i < v->ndiffs && v->diffs[i].blk - first < count; i++) {
		if (!v->diffs[i].ino) {
			v->diffs[i].ino = ino;
			v->diffs[i].role = role;
		}
	}
}

static void note_group_part(struct verify *v, blk64_t first, blk64_t count,
			    enum group_part part, dgrp_t g)
{
	size_t i;

	for (i = first_difference_from(v, first);
	     first && i < v->ndiffs && v->diffs[i].blk - first < count; i++) {
		if (!v->diffs[i].part) {	/* the first group wins */
			v->diffs[i].part = part;
			v->diffs[i].group = g;
			v->diffs[i].index = v->diffs[i].blk - first;
		}
	}
}

/*
 * Which bitmap or inode table holds each differing block: one pass over
 * the descriptors (group_desc.h), however many blocks differ.
 */
static errcode_t find_group_parts(struct verify *v)
{
	struct e2q_group_reader gr;
	struct e2q_group_info gi;
	errcode_t err;
	dgrp_t g;

	err = e2q_group_reader_open(v->fs, &gr);
	for (g = 0; !err && g < v->fs->group_desc_count; g++) {
		err = e2q_group_reader_get(&gr, g, &gi);
		if (err)
			break;
		note_group_part(v, gi.block_bitmap, 1, PART_BLOCK_BITMAP, g);
		note_group_part(v, gi.inode_bitmap, 1, PART_INODE_BITMAP, g);
		note_group_part(v, gi.inode_table, v->fs->inode_blocks_per_group,
				PART_INODE_TABLE, g);
	}
	e2q_group_reader_close(&gr);
	return err;
}

static errcode_t find_owners(struct verify *v)
{
	struct e2q_meta_options mo;
	struct e2q_meta_stats stats;
	ext2fs_block_bitmap scratch;
	errcode_t err;

	memset(&mo, 0, sizeof(mo));
	mo.all_data = v->opts->all_data;
	mo.superblock = v->superblock;
	mo.role = note_owner;
	mo.role_priv = v;
	err = e2q_meta_new_map(v->fs, &scratch);
	if (err)
		return err;
	err = e2q_meta_mark(v->fs, &mo, scratch, &stats);
	ext2fs_free_block_bitmap(scratch);
	return err ? err : find_group_parts(v);
}

static const char *role_name(enum e2q_meta_role role)
{
	switch (role) {
	case E2Q_META_DIR: return _("directory block");
	case E2Q_META_SYMLINK: return _("symlink target");
	case E2Q_META_XATTR: return _("extended attribute block");
	case E2Q_META_JOURNAL: return _("journal block");
	case E2Q_META_TREE: return _("extent tree or indirect block");
	default: return _("data block");
	}
}

/* Group structures: writes the owner of d's block to out, or returns 0. */
static int describe_group_block(ext2_filsys fs, const struct difference *d,
				char *out, size_t size)
{
	blk64_t first = fs->super->s_first_data_block, blk = d->blk;
	unsigned long long ipg = fs->super->s_inodes_per_group;
	unsigned int ipb = EXT2_INODES_PER_BLOCK(fs->super);
	unsigned long j;

	if (blk < first)
		return snprintf(out, size, "%s", _("boot block"));
	if (blk == first)
		return snprintf(out, size, "%s", _("superblock"));
	for (j = 0; j < fs->desc_blocks; j++)
		if (ext2fs_descriptor_block_loc2(fs, first, j) == blk)
			return snprintf(out, size, _("group descriptors %lu"), j);
	if (ext2fs_has_feature_mmp(fs->super) && blk == fs->super->s_mmp_block)
		return snprintf(out, size, "%s", _("MMP block"));
	switch (d->part) {
	case PART_BLOCK_BITMAP:
		return snprintf(out, size, _("block bitmap of group %u"),
				d->group);
	case PART_INODE_BITMAP:
		return snprintf(out, size, _("inode bitmap of group %u"),
				d->group);
	case PART_INODE_TABLE:
		return snprintf(out, size,
				_("inode table of group %u, inodes %llu-%llu"),
				d->group, d->group * ipg + d->index * ipb + 1,
				d->group * ipg + (d->index + 1) * ipb);
	default:
		return 0;
	}
}

static void print_difference(struct verify *v, const struct difference *d)
{
	char owner[128];

	if (d->ino)
		snprintf(owner, sizeof(owner), _("inode %u, %s"), d->ino,
			 role_name(d->role));
	else if (!describe_group_block(v->fs, d, owner, sizeof(owner)))
		snprintf(owner, sizeof(owner), "%s", _("owner unknown"));
	if (d->read_err)
		printf(_("block %llu (%s): cannot be read from the image: %s\n"),
		       (unsigned long long) d->blk, owner,
		       error_message(d->read_err));
	else
		printf(_("block %llu (%s): differs\n"),
		       (unsigned long long) d->blk, owner);
}

static enum e2q_exit report(struct verify *v)
{
	size_t i;
	errcode_t err = v->ndiffs ? find_owners(v) : 0;

	if (err)	/* the differences are listed all the same */
		(void) e2q_fail(E2Q_EXIT_INTERNAL, err, "%s",
				_("while naming owners"));
	for (i = 0; i < v->ndiffs; i++)
		print_difference(v, &v->diffs[i]);
	if (v->differing > v->ndiffs)
		printf(_("... and %llu more\n"),
		       (unsigned long long) (v->differing - v->ndiffs));
	printf(_("%s: %llu metadata blocks compared with %s, %llu differ\n"),
	       v->opts->dest, (unsigned long long) v->compared,
	       v->opts->source, (unsigned long long) v->differing);
	return v->differing ? E2Q_EXIT_MISMATCH : E2Q_EXIT_OK;
}

static enum e2q_exit mark_and_compare(struct verify *v)
{
	struct e2q_meta_options mo;
	unsigned int bs = v->fs->blocksize;
	errcode_t err;

	memset(&mo, 0, sizeof(mo));
	mo.all_data = v->opts->all_data;
	mo.superblock = v->superblock;
	mo.problem = e2q_report_walk_problem;
	mo.priv = (void *) v->opts->source;
	v->diffs = calloc(MAX_LISTED, sizeof(*v->diffs));
	err = v->diffs ? ext2fs_get_mem(READ_BATCH_BYTES, &v->buf) : ENOMEM;
	if (!err)
		err = e2q_meta_new_map(v->fs, &v->map);
	if (!err)
		err = e2q_meta_mark(v->fs, &mo, v->map, &v->stats);
	if (!err)
		err = e2q_meta_read_runs(v->fs, v->map, READ_BATCH_BYTES / bs,
					 compare_run, v);
	if (err)
		return e2q_fail(E2Q_EXIT_SOURCE, err, _("while reading %s"),
				v->opts->source);
	return report(v);
}

enum e2q_exit e2q_run_verify(const struct e2q_options *opts)
{
	struct verify v;
	enum e2q_exit rc;
	int src_fd;

	memset(&v, 0, sizeof(v));
	v.opts = opts;
	v.fd = -1;
	/* a device SOURCE is opened as before; a qcow one only once confined */
	rc = e2q_preopen_qcow_source(opts, &src_fd);
	if (!rc && src_fd < 0)
		rc = e2q_open_source_fs(opts, &v.fs, &v.superblock);
	if (!rc)
		rc = open_image_file(&v);
	/* sandbox: SOURCE and IMAGE are open, no byte of an image parsed */
	if (!rc)
		rc = e2q_enter_sandbox(opts, NULL, 0);
	if (!rc && src_fd >= 0)
		rc = e2q_open_source_fs(opts, &v.fs, &v.superblock);
	if (!rc)
		rc = parse_image(&v);
	if (!rc)
		rc = mark_and_compare(&v);
	if (v.img)
		e2q_qcow_close(v.img);
	if (v.fd >= 0)
		close(v.fd);
	if (v.map)
		ext2fs_free_block_bitmap(v.map);
	if (v.fs)
		ext2fs_close_free(&v.fs);
	e2q_release_qcow_source(src_fd);
	free(v.diffs);
	if (v.buf)
		ext2fs_free_mem(&v.buf);
	return rc;
}
