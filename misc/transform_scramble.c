/*
 * transform_scramble.c --- -s, --keep-xattrs and --scramble-map: the
 * scrambler of lib/e2meta/scramble.h as a transform of the export pipeline
 * (export.h), the name map, and what the user is told was hidden.
 *
 * The map lists one renamed entry per line: directory inode, original name,
 * scrambled name, separated by tabs, with backslash, tab, newline and other
 * non-printable bytes written as \ooo octal escapes.  It holds every name the
 * image hides, so it is created with mode 0600 and never follows a symlink.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nls-enable.h"
#include "e2meta/scramble.h"
#include "misc/export.h"

struct scramble_transform {
	struct e2q_transform base;
	e2q_scrambler *s;
	ext2_filsys fs;
	FILE *map;
	const char *map_path;
	struct e2q_scramble_stats tally;	/* what pass 0 changed */
};

static void write_escaped(FILE *f, const char *name, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char) name[i];

		if (c <= ' ' || c >= 0x7f || c == '\\')
			fprintf(f, "\\%03o", c);
		else
			putc(c, f);
	}
}

static void note_renamed(void *priv, ext2_ino_t dir, const char *old_name,
			 const char *new_name, unsigned int len)
{
	struct scramble_transform *c = priv;

	if (!c->map)
		return;
	fprintf(c->map, "%u\t", dir);
	write_escaped(c->map, old_name, len);
	putc('\t', c->map);
	write_escaped(c->map, new_name, len);
	putc('\n', c->map);
}

/* --scramble-map created before a sandbox was entered, or NULL */
static FILE *early_map;

static enum e2q_exit create_map(const char *path, FILE **map)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		      0600);

	*map = NULL;
	if (fd >= 0 && fchmod(fd, 0600) == 0)
		*map = fdopen(fd, "w");
	if (!*map) {
		errcode_t err = errno;

		if (fd >= 0)
			close(fd);
		return e2q_fail(E2Q_EXIT_OUTPUT, err, _("while creating %s"),
				path);
	}
	return E2Q_EXIT_OK;
}

enum e2q_exit e2q_scramble_map_open_early(const struct e2q_options *o)
{
	if (!o->scramble || !o->scramble_map || early_map)
		return E2Q_EXIT_OK;
	return create_map(o->scramble_map, &early_map);
}

static enum e2q_exit open_map(struct scramble_transform *c, const char *path)
{
	enum e2q_exit rc = E2Q_EXIT_OK;

	if (early_map)
		c->map = early_map;
	else
		rc = create_map(path, &c->map);
	early_map = NULL;
	if (rc)
		return rc;
	c->map_path = path;
	fputs("# e2qcow -s: directory inode, original name, scrambled name\n",
	      c->map);
	return E2Q_EXIT_OK;
}

static void scramble_note_role(struct e2q_transform *t, blk64_t first,
			       blk64_t count, enum e2q_meta_role role,
			       ext2_ino_t ino)
{
	struct scramble_transform *c = (struct scramble_transform *) t;

	e2q_scrambler_note_role(c->s, first, count, role, ino);
}

static errcode_t scramble_prepare(struct e2q_transform *t,
				  ext2fs_block_bitmap map)
{
	struct scramble_transform *c = (struct scramble_transform *) t;

	return e2q_scrambler_prepare(c->s, map);
}

static errcode_t scramble_apply(struct e2q_transform *t, blk64_t first,
				blk64_t count, void *data, unsigned int pass)
{
	struct scramble_transform *c = (struct scramble_transform *) t;

	/* every pass gives the same bytes: count what changed once */
	return e2q_scramble_blocks(c->s, first, count, data,
				   pass == 0 ? &c->tally : NULL);
}

/*
 * htree directories: the names that could not keep their leaf's hash range
 * (e2fsck will report them) always; the whole count when
 * E2QCOW_SCRAMBLE_STATS is set (bench/run prints the trials per name).
 */
static void say_htree_stats(struct scramble_transform *c)
{
	struct e2q_htree_stats h;

	e2q_scrambler_htree_stats(c->s, &h);
	if (h.off_range)
		com_err(e2q_program_name, 0,
			_("-s: %llu names in htree directories could not be "
			  "given a name that hashes into their leaf's range"),
			(unsigned long long) h.off_range);
	if (getenv("E2QCOW_SCRAMBLE_STATS"))
		com_err(e2q_program_name, 0,
			_("-s: htree directories: %llu kept, %llu made linear; "
			  "%llu names in range after %llu trials (%.2f per name), "
			  "%llu short names kept, %llu out of range"),
			(unsigned long long) h.dirs,
			(unsigned long long) h.linear_dirs,
			(unsigned long long) h.names,
			(unsigned long long) h.trials,
			h.names ? (double) h.trials / (double) h.names : 0.0,
			(unsigned long long) h.kept_short,
			(unsigned long long) h.off_range);
}

static void say_what_was_hidden(struct scramble_transform *c)
{
	const struct e2q_scramble_stats *st = &c->tally;

	say_htree_stats(c);
	if (!st->journal_blocks)
		return;
	com_err(e2q_program_name, 0,
		ext2fs_has_feature_journal_needs_recovery(c->fs->super) ?
		_("-s: the journal needs recovery, but its %llu blocks were "
		  "zeroed in the image to hide the names they may hold") :
		_("-s: the journal is clean; its %llu blocks were zeroed in "
		  "the image to hide the names they may hold"),
		(unsigned long long) st->journal_blocks);
}

/* Closes the map; returns rc, or the map's write error when rc was 0. */
static enum e2q_exit scramble_finish(struct e2q_transform *t, enum e2q_exit rc)
{
	struct scramble_transform *c = (struct scramble_transform *) t;
	FILE *map = c->map;

	if (!rc)
		say_what_was_hidden(c);
	c->map = NULL;
	if (map && (ferror(map) | fclose(map)) && !rc)
		rc = e2q_fail(E2Q_EXIT_OUTPUT, errno, _("while writing %s"),
			      c->map_path);
	return rc;
}

static void scramble_free(struct e2q_transform *t)
{
	struct scramble_transform *c = (struct scramble_transform *) t;

	if (c->map)
		fclose(c->map);
	e2q_scrambler_free(c->s);
	free(c);
}

static const struct e2q_transform_ops scramble_ops = {
	.note_role = scramble_note_role,
	.prepare = scramble_prepare,
	.apply = scramble_apply,
	.finish = scramble_finish,
	.free = scramble_free,
};

enum e2q_exit e2q_scramble_transform_new(const struct e2q_options *o,
					 ext2_filsys fs,
					 struct e2q_transform **ret)
{
	struct e2q_scramble_options so;
	struct scramble_transform *c;
	errcode_t err;

	*ret = NULL;
	if (!o->scramble)
		return E2Q_EXIT_OK;
	c = calloc(1, sizeof(*c));
	if (!c)
		return e2q_fail(E2Q_EXIT_INTERNAL, ENOMEM, _("while scrambling"));
	c->base.ops = &scramble_ops;
	c->fs = fs;
	memset(&so, 0, sizeof(so));
	so.keep_xattrs = o->keep_xattrs;
	so.renamed = o->scramble_map ? note_renamed : NULL;
	so.priv = c;
	err = e2q_scrambler_new(fs, &so, &c->s);
	if (err) {
		free(c);
		return e2q_fail(E2Q_EXIT_INTERNAL, err, _("while scrambling"));
	}
	*ret = &c->base;
	return o->scramble_map ? open_map(c, o->scramble_map) : E2Q_EXIT_OK;
}
