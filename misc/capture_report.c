/*
 * capture_report.c --- builds the capture report that -Q stores in the
 * image, as JSON: see capture_report.h for what it holds, and e2qcow(8),
 * "CAPTURE REPORT", for its keys.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "e2q_err.h"
#include "qcow/qcow_compress.h"
#include "qcow/qcow_reader.h"
#include "misc/capture_report.h"
#include "misc/json_out.h"
#include "version.h"

#define REPORT_FORMAT	"e2qcow-capture-report"

struct problem {
	errcode_t code;
	ext2_ino_t ino;
	dgrp_t group;
};

struct e2q_capture_report {
	const struct e2q_options *opts;
	ext2_filsys fs;
	time_t captured;
	struct e2q_meta_stats stats;
	struct problem *problems;
	size_t nproblems, cap;
	uint64_t problems_total;
	char *origin;		/* the source image's report, checked JSON */
	size_t origin_len;
};

/* SOURCE_DATE_EPOCH when it is a number, else now. */
static time_t capture_time(void)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	char *end;
	unsigned long long t;

	if (sde && *sde) {
		errno = 0;
		t = strtoull(sde, &end, 10);
		if (!errno && !*end && sde[0] != '-')
			return (time_t) t;
	}
	return time(NULL);
}

/* The report of the qcow SOURCE open at fd, when it has a valid one. */
static void read_origin(struct e2q_capture_report *r, int fd)
{
	struct e2q_qcow_open_params params;
	e2q_qcow_image *img = NULL;

	memset(&params, 0, sizeof(params));
	params.flags = E2Q_QCOW_OPEN_IGNORE_BACKING;
	if (e2q_qcow_probe(fd) && !e2q_qcow_open(fd, &params, &img, NULL) &&
	    !e2q_qcow_get_report(img, &r->origin, &r->origin_len) &&
	    r->origin && e2q_json_parse(r->origin, r->origin_len, NULL, NULL)) {
		free(r->origin);	/* not JSON: not kept */
		r->origin = NULL;
	}
	e2q_qcow_close(img);
}

errcode_t e2q_capture_report_new(const struct e2q_options *opts,
				 ext2_filsys fs, int source_fd,
				 struct e2q_capture_report **ret)
{
	struct e2q_capture_report *r = calloc(1, sizeof(*r));

	if (!r)
		return ENOMEM;
	r->opts = opts;
	r->fs = fs;
	r->captured = capture_time();
	if (source_fd >= 0)
		read_origin(r, source_fd);
	*ret = r;
	return 0;
}

void e2q_capture_report_add_problem(struct e2q_capture_report *r,
				    errcode_t code, ext2_ino_t ino,
				    dgrp_t group)
{
	r->problems_total++;
	if (r->nproblems == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct problem *p;

		if (cap > E2Q_REPORT_MAX_KEPT)
			cap = E2Q_REPORT_MAX_KEPT;
		if (cap == r->cap)
			return;		/* counted in problems_total */
		p = realloc(r->problems, cap * sizeof(*p));
		if (!p)
			return;
		r->problems = p;
		r->cap = cap;
	}
	r->problems[r->nproblems].code = code;
	r->problems[r->nproblems].ino = ino;
	r->problems[r->nproblems].group = group;
	r->nproblems++;
}

void e2q_capture_report_set_stats(struct e2q_capture_report *r,
				  const struct e2q_meta_stats *stats)
{
	r->stats = *stats;
}

void e2q_capture_report_free(struct e2q_capture_report *r)
{
	if (!r)
		return;
	free(r->problems);
	free(r->origin);
	free(r);
}

/* ---- serializing -------------------------------------------------------- */

struct feature_name {
	int kind;		/* 0 compat, 1 incompat, 2 ro_compat */
	uint32_t mask;
	const char *name;
};

static const struct feature_name features[] = {
	{ 0, EXT2_FEATURE_COMPAT_DIR_PREALLOC, "dir_prealloc" },
	{ 0, EXT2_FEATURE_COMPAT_IMAGIC_INODES, "imagic_inodes" },
	{ 0, EXT3_FEATURE_COMPAT_HAS_JOURNAL, "has_journal" },
	{ 0, EXT2_FEATURE_COMPAT_EXT_ATTR, "ext_attr" },
	{ 0, EXT2_FEATURE_COMPAT_RESIZE_INODE, "resize_inode" },
	{ 0, EXT2_FEATURE_COMPAT_DIR_INDEX, "dir_index" },
	{ 0, EXT4_FEATURE_COMPAT_SPARSE_SUPER2, "sparse_super2" },
	{ 0, EXT4_FEATURE_COMPAT_FAST_COMMIT, "fast_commit" },
	{ 0, EXT4_FEATURE_COMPAT_STABLE_INODES, "stable_inodes" },
	{ 0, EXT4_FEATURE_COMPAT_ORPHAN_FILE, "orphan_file" },
	{ 1, EXT2_FEATURE_INCOMPAT_COMPRESSION, "compression" },
	{ 1, EXT2_FEATURE_INCOMPAT_FILETYPE, "filetype" },
	{ 1, EXT3_FEATURE_INCOMPAT_RECOVER, "needs_recovery" },
	{ 1, EXT3_FEATURE_INCOMPAT_JOURNAL_DEV, "journal_dev" },
	{ 1, EXT2_FEATURE_INCOMPAT_META_BG, "meta_bg" },
	{ 1, EXT3_FEATURE_INCOMPAT_EXTENTS, "extent" },
	{ 1, EXT4_FEATURE_INCOMPAT_64BIT, "64bit" },
	{ 1, EXT4_FEATURE_INCOMPAT_MMP, "mmp" },
	{ 1, EXT4_FEATURE_INCOMPAT_FLEX_BG, "flex_bg" },
	{ 1, EXT4_FEATURE_INCOMPAT_EA_INODE, "ea_inode" },
	{ 1, EXT4_FEATURE_INCOMPAT_DIRDATA, "dirdata" },
	{ 1, EXT4_FEATURE_INCOMPAT_CSUM_SEED, "metadata_csum_seed" },
	{ 1, EXT4_FEATURE_INCOMPAT_LARGEDIR, "large_dir" },
	{ 1, EXT4_FEATURE_INCOMPAT_INLINE_DATA, "inline_data" },
	{ 1, EXT4_FEATURE_INCOMPAT_ENCRYPT, "encrypt" },
	{ 1, EXT4_FEATURE_INCOMPAT_CASEFOLD, "casefold" },
	{ 2, EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER, "sparse_super" },
	{ 2, EXT2_FEATURE_RO_COMPAT_LARGE_FILE, "large_file" },
	{ 2, EXT4_FEATURE_RO_COMPAT_HUGE_FILE, "huge_file" },
	{ 2, EXT4_FEATURE_RO_COMPAT_GDT_CSUM, "uninit_bg" },
	{ 2, EXT4_FEATURE_RO_COMPAT_DIR_NLINK, "dir_nlink" },
	{ 2, EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE, "extra_isize" },
	{ 2, EXT4_FEATURE_RO_COMPAT_QUOTA, "quota" },
	{ 2, EXT4_FEATURE_RO_COMPAT_BIGALLOC, "bigalloc" },
	{ 2, EXT4_FEATURE_RO_COMPAT_METADATA_CSUM, "metadata_csum" },
	{ 2, EXT4_FEATURE_RO_COMPAT_READONLY, "read-only" },
	{ 2, EXT4_FEATURE_RO_COMPAT_PROJECT, "project" },
	{ 2, EXT4_FEATURE_RO_COMPAT_VERITY, "verity" },
	{ 2, EXT4_FEATURE_RO_COMPAT_ORPHAN_PRESENT, "orphan_present" },
};

static void put_features(struct e2q_json *j, const struct ext2_super_block *sb)
{
	uint32_t words[3] = { sb->s_feature_compat, sb->s_feature_incompat,
			      sb->s_feature_ro_compat };
	size_t i;

	e2q_json_uint(j, "feature-compat", words[0]);
	e2q_json_uint(j, "feature-incompat", words[1]);
	e2q_json_uint(j, "feature-ro-compat", words[2]);
	e2q_json_begin_array(j, "features");	/* the bits named here */
	for (i = 0; i < sizeof(features) / sizeof(features[0]); i++)
		if (words[features[i].kind] & features[i].mask)
			e2q_json_string(j, NULL, features[i].name);
	e2q_json_end_array(j);
}

static void put_uuid(struct e2q_json *j, const unsigned char *u)
{
	char text[37];
	size_t i, n = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			text[n++] = '-';
		n += (size_t) snprintf(text + n, sizeof(text) - n, "%02x", u[i]);
	}
	e2q_json_string(j, "uuid", text);
}

static void put_source(struct e2q_capture_report *r, struct e2q_json *j)
{
	struct ext2_super_block *sb = r->fs->super;
	int scramble = r->opts->scramble;

	e2q_json_begin_object(j, "source");
	if (!scramble)
		e2q_json_string(j, "path", r->opts->source);
	e2q_json_bool(j, "is-image", r->opts->source_is_qcow);
	e2q_json_uint(j, "size", ext2fs_blocks_count(sb) * r->fs->blocksize);
	e2q_json_uint(j, "block-size", r->fs->blocksize);
	e2q_json_uint(j, "blocks", ext2fs_blocks_count(sb));
	e2q_json_uint(j, "inodes", sb->s_inodes_count);
	put_uuid(j, sb->s_uuid);
	if (!scramble)
		e2q_json_string_len(j, "label", (const char *) sb->s_volume_name,
				    strnlen((const char *) sb->s_volume_name,
					    sizeof(sb->s_volume_name)));
	put_features(j, sb);
	e2q_json_string(j, "state", (sb->s_state & EXT2_ERROR_FS) ?
			"errors" : (sb->s_state & EXT2_VALID_FS) ?
			"clean" : "not clean");
	e2q_json_end_object(j);
}

static void put_options(struct e2q_capture_report *r, struct e2q_json *j)
{
	const struct e2q_options *o = r->opts;

	e2q_json_begin_object(j, "options");
	e2q_json_string(j, "mode", "-Q");
	e2q_json_bool(j, "all-data", o->all_data);
	e2q_json_bool(j, "scramble", o->scramble);
	e2q_json_bool(j, "keep-xattrs", o->keep_xattrs);
	if (o->compression) {
		e2q_json_string(j, "compression", o->compress_type ==
				E2Q_QCOW_CODEC_ZSTD ? "zstd" : "zlib");
		e2q_json_uint(j, "compression-level",
			      (uint64_t) o->compress_level);
	} else {
		e2q_json_null(j, "compression");
	}
	if (o->superblock)
		e2q_json_uint(j, "superblock", o->superblock);
	if (o->blocksize)
		e2q_json_uint(j, "block-size", o->blocksize);
	if (o->src_offset_set)
		e2q_json_uint(j, "source-offset", o->src_offset);
	if (o->snapshot && !o->scramble)
		e2q_json_string(j, "snapshot", o->snapshot);
	e2q_json_bool(j, "force", o->force);
	e2q_json_end_object(j);
}

static void put_scramble(struct e2q_capture_report *r, struct e2q_json *j)
{
	if (!r->opts->scramble)
		return;
	e2q_json_begin_object(j, "scramble");
	e2q_json_string(j, "names", "replaced");
	e2q_json_string(j, "symlink-targets", "replaced");
	e2q_json_string(j, "xattr-values",
			r->opts->keep_xattrs ? "kept" : "replaced");
	e2q_json_string(j, "journal", "zeroed");
	e2q_json_string(j, "htree-directories", "index kept");
	e2q_json_string(j, "encrypted-names", "kept");
	e2q_json_string(j, "label", "hidden");
	e2q_json_end_object(j);
}

/* What the walk left out on meeting a problem (lib/e2meta's contract). */
static const char *what_was_skipped(const struct problem *p)
{
	switch (p->code) {
	case EXT2_ET_BAD_BLOCK_NUM:
		return "blocks outside the filesystem: not copied";
	case E2Q_ET_META_TREE_LOOP:
		return "a tree block met again: walked once";
	case E2Q_ET_DEVICE_TOO_SMALL:
		return "blocks past the end of the device: not copied";
	case EXT2_ET_EXTENT_HEADER_BAD:
		return "the extent node and the blocks it maps";
	default:
		return p->ino ? "the unreadable block and the blocks it maps" :
				"the inodes of the group";
	}
}

static void put_problems(struct e2q_capture_report *r, struct e2q_json *j,
			 size_t max)
{
	size_t i, n = r->nproblems < max ? r->nproblems : max;

	e2q_json_begin_object(j, "walk");
	e2q_json_uint(j, "marked-blocks", r->stats.marked_blocks);
	e2q_json_uint(j, "inodes-in-use", r->stats.inodes_in_use);
	e2q_json_uint(j, "problems", r->problems_total);
	e2q_json_end_object(j);
	e2q_json_begin_array(j, "problems");
	for (i = 0; i < n; i++) {
		const struct problem *p = &r->problems[i];

		e2q_json_begin_object(j, NULL);
		e2q_json_uint(j, "code", (uint64_t) p->code);
		e2q_json_string(j, "message", error_message(p->code));
		if (p->ino)
			e2q_json_uint(j, "inode", p->ino);
		else
			e2q_json_uint(j, "group", p->group);
		e2q_json_string(j, "skipped", what_was_skipped(p));
		e2q_json_end_object(j);
	}
	e2q_json_end_array(j);
	e2q_json_uint(j, "problems-omitted", r->problems_total - n);
}

/* Keys whose values name files or the filesystem: left out under -s. */
static int is_name_key(const char *key)
{
	return key && (!strcmp(key, "label") || !strcmp(key, "path") ||
		       !strcmp(key, "snapshot"));
}

static void put_origin(struct e2q_capture_report *r, struct e2q_json *j,
		       int with_origin)
{
	if (!r->origin)
		return;
	if (!with_origin) {
		e2q_json_bool(j, "origin-omitted", 1);
		return;
	}
	(void) e2q_json_copy(j, "origin", r->origin, r->origin_len,
			     r->opts->scramble ? is_name_key : NULL);
}

static void put_time(struct e2q_json *j, time_t t)
{
	char text[32] = "";
	struct tm tm;

	if (gmtime_r(&t, &tm))
		strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
	e2q_json_string(j, "captured", text);
	e2q_json_uint(j, "captured-epoch", (uint64_t) t);
}

errcode_t e2q_capture_report_serialize(struct e2q_capture_report *r,
				       size_t max_problems, int with_origin,
				       char **text, size_t *len)
{
	struct e2q_json j;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	int failed;

	if (!f)
		return ENOMEM;
	e2q_json_init(&j, f, 0);
	e2q_json_begin_object(&j, NULL);
	e2q_json_string(&j, "format", REPORT_FORMAT);
	e2q_json_uint(&j, "version", 1);
	e2q_json_string(&j, "tool", "e2qcow " E2QCOW_VERSION);
	put_time(&j, r->captured);
	put_source(r, &j);
	put_options(r, &j);
	put_scramble(r, &j);
	put_problems(r, &j, max_problems);
	put_origin(r, &j, with_origin);
	e2q_json_end_object(&j);
	failed = ferror(f);
	if (fclose(f) || failed) {
		free(buf);
		return ENOMEM;
	}
	*text = buf;
	*len = size;
	return 0;
}

static errcode_t try_attach(struct e2q_capture_report *r, e2q_qcow_writer *w,
			    size_t max_problems, int with_origin)
{
	char *text;
	size_t len;
	errcode_t err = e2q_capture_report_serialize(r, max_problems,
						     with_origin, &text, &len);

	if (err)
		return err;
	err = e2q_qcow_writer_set_report(w, text, len);
	free(text);
	return err;
}

/*
 * Every problem when they fit; else the origin goes first, then problems
 * by halves and back up by bisection: the longest list that fits.
 */
errcode_t e2q_capture_report_attach(struct e2q_capture_report *r,
				    e2q_qcow_writer *w)
{
	size_t lo = 0, hi = r->nproblems, mid;
	int with_origin = 1;
	errcode_t err = try_attach(r, w, hi, with_origin);

	if (err == E2Q_ET_QCOW_REPORT_TOO_LARGE && r->origin) {
		with_origin = 0;
		err = try_attach(r, w, hi, with_origin);
	}
	if (err != E2Q_ET_QCOW_REPORT_TOO_LARGE)
		return err;
	err = try_attach(r, w, 0, with_origin);
	if (err)
		return err;	/* not even without problems */
	while (hi - lo > 1) {	/* lo fits, hi does not */
		mid = lo + (hi - lo) / 2;
		err = try_attach(r, w, mid, with_origin);
		if (err && err != E2Q_ET_QCOW_REPORT_TOO_LARGE)
			return err;
		*(err ? &hi : &lo) = mid;
	}
	return try_attach(r, w, lo, with_origin);
}

/* ---- reading one back --------------------------------------------------- */

struct summary_walk {
	struct e2q_report_summary *s;
	int in_source;		/* inside the top-level "source" object */
};

static void copy_value(char *to, size_t size, const char *text, size_t len)
{
	size_t i;

	if (len >= size)
		len = size - 1;
	for (i = 0; i < len; i++)	/* shown on a terminal: printable only */
		to[i] = text[i] < 0x20 || text[i] == 0x7f ? '?' : text[i];
	to[len] = '\0';
}

static void summary_event(void *priv, enum e2q_json_kind kind,
			  const char *key, const char *text, size_t len,
			  int depth)
{
	struct summary_walk *w = priv;

	if (depth == 1 && kind == E2Q_JSON_OBJECT)
		w->in_source = key && !strcmp(key, "source");
	if (kind != E2Q_JSON_STRING || !key)
		return;
	if (depth == 1 && !strcmp(key, "tool"))
		copy_value(w->s->tool, sizeof(w->s->tool), text, len);
	else if (depth == 1 && !strcmp(key, "captured"))
		copy_value(w->s->captured, sizeof(w->s->captured), text, len);
	else if (depth == 2 && w->in_source && !strcmp(key, "uuid"))
		copy_value(w->s->uuid, sizeof(w->s->uuid), text, len);
}

int e2q_report_summarize(const char *text, size_t len,
			 struct e2q_report_summary *s)
{
	struct summary_walk w = { s, 0 };

	memset(s, 0, sizeof(*s));
	return e2q_json_parse(text, len, summary_event, &w);
}
