/*
 * scramble_map.c --- -s in the export modes (see scramble_map.h).
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
#include "misc/scramble_map.h"

struct e2q_scramble_ctx {
	e2q_scrambler *s;
	ext2_filsys fs;
	FILE *map;
	const char *map_path;
	int map_errno;
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
	struct e2q_scramble_ctx *c = priv;

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

static int create_map(const char *path, FILE **map)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		      0600);

	*map = NULL;
	if (fd >= 0 && fchmod(fd, 0600) == 0)
		*map = fdopen(fd, "w");
	if (!*map) {
		com_err(e2q_program_name, errno, _("while creating %s"), path);
		if (fd >= 0)
			close(fd);
		return E2Q_EXIT_OUTPUT;
	}
	return E2Q_EXIT_OK;
}

int e2q_scramble_map_open_early(const struct e2q_options *o)
{
	if (!o->scramble || !o->scramble_map || early_map)
		return E2Q_EXIT_OK;
	return create_map(o->scramble_map, &early_map);
}

static int open_map(struct e2q_scramble_ctx *c, const char *path)
{
	int rc = E2Q_EXIT_OK;

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

int e2q_scramble_start(const struct e2q_options *o, ext2_filsys fs,
		       struct e2q_meta_options *mo,
		       struct e2q_scramble_ctx **ret)
{
	struct e2q_scramble_options so;
	struct e2q_scramble_ctx *c;
	errcode_t err;

	*ret = NULL;
	if (!o->scramble)
		return E2Q_EXIT_OK;
	c = calloc(1, sizeof(*c));
	if (!c)
		return E2Q_EXIT_INTERNAL;
	c->fs = fs;
	memset(&so, 0, sizeof(so));
	so.keep_xattrs = o->keep_xattrs;
	so.renamed = note_renamed;
	so.priv = c;
	err = e2q_scrambler_new(fs, &so, &c->s);
	if (err) {
		free(c);
		com_err(e2q_program_name, err, _("while scrambling"));
		return E2Q_EXIT_INTERNAL;
	}
	*ret = c;
	mo->role = e2q_scrambler_note_role;
	mo->role_priv = c->s;
	return o->scramble_map ? open_map(c, o->scramble_map) : E2Q_EXIT_OK;
}

int e2q_scramble_ready(struct e2q_scramble_ctx *c)
{
	errcode_t err = c ? e2q_scrambler_prepare(c->s) : 0;

	if (err) {
		com_err(e2q_program_name, err, _("while scrambling"));
		return E2Q_EXIT_INTERNAL;
	}
	return E2Q_EXIT_OK;
}

errcode_t e2q_scramble_run(struct e2q_scramble_ctx *c, blk64_t first,
			   blk64_t count, const void *data)
{
	/* the buffer is e2q_meta_read_runs's, handed to us to change */
	return e2q_scramble_blocks(c->s, first, count, (void *) data);
}

static void say_what_was_hidden(struct e2q_scramble_ctx *c)
{
	struct e2q_scramble_stats st;

	e2q_scrambler_get_stats(c->s, &st);
	if (!st.journal_blocks)
		return;
	com_err(e2q_program_name, 0,
		ext2fs_has_feature_journal_needs_recovery(c->fs->super) ?
		_("-s: the journal needs recovery, but its %llu blocks were "
		  "zeroed in the image to hide the names they may hold") :
		_("-s: the journal is clean; its %llu blocks were zeroed in "
		  "the image to hide the names they may hold"),
		(unsigned long long) st.journal_blocks);
}

int e2q_scramble_end(struct e2q_scramble_ctx *c, int rc)
{
	if (!c)
		return rc;
	if (!rc)
		say_what_was_hidden(c);
	if (c->map && (ferror(c->map) | fclose(c->map)) && !rc) {
		com_err(e2q_program_name, errno, _("while writing %s"),
			c->map_path);
		rc = E2Q_EXIT_OUTPUT;
	}
	e2q_scrambler_free(c->s);
	free(c);
	return rc;
}
