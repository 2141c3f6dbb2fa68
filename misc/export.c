/*
 * export.c --- the export pipeline's driver (-Q, -r, .e2i): source, walk,
 * transforms, sink, in that order (see export.h for the stages).
 *
 * The path of one block: open_source.c opens SOURCE; e2q_meta_mark()
 * (lib/e2meta/mark_metadata.c) sets the block in the map and reports its
 * role, which observe_role() hands to every transform; after the walk each
 * transform prepares and the sink plans; e2q_meta_read_runs()
 * (lib/e2meta/visit_runs.c) reads the block within a run of up to 1 MiB,
 * pass_run() hands the run through the transforms to the sink's put(),
 * once per pass the sink asks for; the sink's finish() completes the image
 * and output_file.c renames it into place.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ext2fs/ext2fs.h>

#include "nls-enable.h"
#include "e2q_err.h"
#include "e2meta/e2meta.h"
#include "misc/capture_report.h"
#include "misc/e2qcow.h"
#include "misc/export.h"
#include "misc/freeze.h"
#include "misc/journal_device.h"
#include "misc/open_source.h"
#include "misc/output_file.h"
#include "misc/progress.h"
#include "misc/sandbox.h"

#define READ_BATCH_BYTES	(1U << 20)
#define MAX_TRANSFORMS		4

/* Which stage a failure inside a pass came from. */
enum stage { STAGE_READ = 0, STAGE_TRANSFORM, STAGE_SINK };

struct export {
	struct e2q_export_view view;
	const struct e2q_options *opts;
	struct e2q_meta_stats stats;
	struct e2q_output out;
	int out_open;		/* opened before the sandbox, not yet used */
	int dest_is_block_device;	/* known before a sandbox forbids stat */
	int src_fd;		/* a qcow SOURCE opened before the sandbox */
	blk64_t superblock;	/* opened from: -b, a backup, 0 (primary) */
	struct e2q_transform *transforms[MAX_TRANSFORMS];
	unsigned int ntransforms;
	struct e2q_sink *sink;
	struct e2q_progress progress;
	unsigned int pass;
	blk64_t done;		/* blocks put in this pass */
	enum stage failed;	/* where the pass's error came from */
};

static const struct e2q_sink_ops *sink_of(enum e2q_action action)
{
	switch (action) {
	case E2Q_DO_EXPORT_QCOW2: return &e2q_sink_qcow2_ops;
	case E2Q_DO_EXPORT_RAW: return &e2q_sink_raw_ops;
	default: return &e2q_sink_e2i_ops;
	}
}

enum e2q_exit e2q_print_walk_dry_run(const struct e2q_export_view *x)
{
	printf(_("%s: %llu metadata blocks of %u bytes (%.1f MiB) in %u "
		 "inodes would be copied\n"), x->opts->source,
	       (unsigned long long) x->stats->marked_blocks, x->fs->blocksize,
	       (double) x->stats->marked_blocks * x->fs->blocksize / 1048576.0,
	       x->stats->inodes_in_use);
	return E2Q_EXIT_OK;
}

/* ---- walk ---- */

static void report_problem(void *priv, errcode_t code, ext2_ino_t ino,
			   dgrp_t group)
{
	struct export *x = priv;

	e2q_progress_clear(&x->progress);	/* the message on its own line */
	e2q_report_walk_problem((void *) x->opts->source, code, ino, group);
	if (x->view.report)
		e2q_capture_report_add_problem(x->view.report, code, ino, group);
}

/* Each marked run's role: to every transform, and to the progress bar. */
static void observe_role(void *priv, blk64_t first, blk64_t count,
			 enum e2q_meta_role role, ext2_ino_t ino)
{
	struct export *x = priv;
	unsigned int i;

	for (i = 0; i < x->ntransforms; i++)
		x->transforms[i]->ops->note_role(x->transforms[i], first, count,
						  role, ino);
	e2q_progress_update(&x->progress, ino);
}

static int output_is_block_device(const char *path)
{
	struct stat st;

	return strcmp(path, "-") != 0 && stat(path, &st) == 0 &&
	       S_ISBLK(st.st_mode);
}

static enum e2q_exit walk(struct export *x)
{
	struct e2q_meta_options mo;
	ext2_filsys fs = x->view.fs;
	errcode_t err;

	memset(&mo, 0, sizeof(mo));
	mo.all_data = x->opts->all_data;
	mo.whole_inode_tables = x->dest_is_block_device;
	mo.superblock = x->superblock;
	mo.problem = report_problem;
	mo.priv = x;
	if (x->ntransforms || x->progress.on_terminal) {
		mo.role = observe_role;
		mo.role_priv = x;
	}
	err = e2q_meta_new_map(fs, &x->view.map);
	if (!err)
		err = e2q_meta_mark(fs, &mo, x->view.map, &x->stats);
	e2q_progress_clear(&x->progress);
	if (err)
		return e2q_fail(E2Q_EXIT_SOURCE, err, _("while walking %s"),
				x->opts->source);
	if (x->view.report)
		e2q_capture_report_set_stats(x->view.report, &x->stats);
	return E2Q_EXIT_OK;
}

/* -Q (not -n): the report that the walk fills and the image carries. */
static enum e2q_exit new_report(struct export *x)
{
	errcode_t err;

	if (x->opts->action != E2Q_DO_EXPORT_QCOW2 || x->opts->dry_run)
		return E2Q_EXIT_OK;
	err = e2q_capture_report_new(x->opts, x->view.fs, x->src_fd,
				     &x->view.report);
	return err ? e2q_fail(E2Q_EXIT_INTERNAL, err, _("while exporting %s"),
			      x->opts->source) : E2Q_EXIT_OK;
}

/* ---- transforms ---- */

static enum e2q_exit add_transforms(struct export *x)
{
	struct e2q_transform *t;
	enum e2q_exit rc;

	if (!x->opts->scramble)
		return E2Q_EXIT_OK;
	rc = e2q_scramble_transform_new(x->opts, x->view.fs, &t);
	if (t)
		x->transforms[x->ntransforms++] = t;
	return rc;
}

static enum e2q_exit prepare_transforms(struct export *x)
{
	unsigned int i;
	errcode_t err;

	if (x->opts->dry_run)
		return E2Q_EXIT_OK;	/* nothing will be transformed */
	for (i = 0; i < x->ntransforms; i++) {
		err = x->transforms[i]->ops->prepare(x->transforms[i],
						     x->view.map);
		if (err)
			return e2q_fail(E2Q_EXIT_INTERNAL, err,
					_("while preparing to scramble %s"),
					x->opts->source);
	}
	return E2Q_EXIT_OK;
}

/* ---- passes ---- */

/* One run read from SOURCE: through every transform, then to the sink. */
static errcode_t pass_run(blk64_t first, blk64_t count, const void *data,
			  void *priv)
{
	struct export *x = priv;
	unsigned int i;
	errcode_t err;

	for (i = 0; i < x->ntransforms; i++) {
		/* the buffer is e2q_meta_read_runs's, ours to change */
		err = x->transforms[i]->ops->apply(x->transforms[i], first,
						   count, (void *) data,
						   x->pass);
		if (err) {
			x->failed = STAGE_TRANSFORM;
			return err;
		}
	}
	err = x->sink->ops->put(x->sink, first, count, data);
	if (err) {
		x->failed = STAGE_SINK;
		return err;
	}
	x->done += count;
	e2q_progress_update(&x->progress, x->done);
	return 0;
}

static enum e2q_exit report_pass_error(struct export *x, errcode_t err)
{
	e2q_progress_clear(&x->progress);
	switch (x->failed) {
	case STAGE_READ:
		return e2q_fail(E2Q_EXIT_SOURCE, err, _("while reading %s"),
				x->opts->source);
	case STAGE_TRANSFORM:
		return e2q_fail(E2Q_EXIT_INTERNAL, err, _("while scrambling %s"),
				x->opts->source);
	default:
		return e2q_fail(E2Q_EXIT_OUTPUT, err, _("while writing %s"),
				x->opts->dest);
	}
}

static enum e2q_exit write_error(struct export *x, errcode_t err)
{
	e2q_progress_clear(&x->progress);
	return e2q_fail(E2Q_EXIT_OUTPUT, err, _("while writing %s"),
			x->opts->dest);
}

/* Every pass the sink asks for, then its finish(). */
static enum e2q_exit run_passes(struct export *x, uint64_t *bytes_out)
{
	unsigned int bs = x->view.fs->blocksize;
	struct e2q_sink *s = x->sink;
	struct e2q_pass pass = { NULL, 0 };
	errcode_t err;

	err = s->ops->plan(s, &pass);
	for (x->pass = 0; !err && pass.name; x->pass++) {
		e2q_progress_phase(&x->progress, pass.name,
				   x->stats.marked_blocks, bs);
		if (pass.from_source) {
			x->done = 0;
			x->failed = STAGE_READ;
			err = e2q_meta_read_runs(x->view.fs, x->view.map,
						 READ_BATCH_BYTES / bs,
						 pass_run, x);
			if (err)
				return report_pass_error(x, err);
		}
		err = s->ops->end_pass(s, &pass);
	}
	if (!err)
		err = s->ops->finish(s, bytes_out);
	return err ? write_error(x, err) : E2Q_EXIT_OK;
}

static void report_done(struct export *x, uint64_t bytes_out)
{
	if (!x->sink->ops->needs_walk) {
		if (x->opts->progress)
			fprintf(stderr, _("Wrote %llu bytes of metadata to "
					  "%s\n"), (unsigned long long) bytes_out,
				x->opts->dest);
		return;
	}
	e2q_progress_end(&x->progress, x->done,
			 x->done * x->view.fs->blocksize, bytes_out);
}

/* "16.0 TiB": sizes of filesystems and of file limits, for messages. */
static void format_size(uint64_t bytes, char *out, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB",
					     "PiB", "EiB" };
	double v = (double) bytes / 1024.0;
	unsigned int u = 0;

	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	snprintf(out, len, "%.1f %s", v, units[u]);
}

/*
 * -r to a file: a raw image is as large as the filesystem, and ext4 stops
 * at 16 TiB a file.  Said before a byte is written, with the way out.
 */
static enum e2q_exit refuse_raw_too_large(struct export *x)
{
	uint64_t size = ext2fs_blocks_count(x->view.fs->super) *
			(uint64_t) x->view.fs->blocksize;
	uint64_t limit;
	char want[32], can[32];

	if (x->opts->action != E2Q_DO_EXPORT_RAW)
		return E2Q_EXIT_OK;
	limit = e2q_output_size_limit(&x->out, size);
	if (!limit)
		return E2Q_EXIT_OK;
	format_size(size, want, sizeof(want));
	format_size(limit, can, sizeof(can));
	return e2q_fail(E2Q_EXIT_OUTPUT, 0, _("%s: a raw image of %s is %s, "
			"but a file there cannot exceed %s; use -Q for a "
			"qcow2 image"), x->opts->dest, x->opts->source, want,
			can);
}

/* Opens the output, runs the sink through it, commits or abandons it. */
static enum e2q_exit write_image(struct export *x,
				 const struct e2q_sink_ops *ops)
{
	uint64_t bytes_out = 0;
	enum e2q_exit rc;

	if (!x->out_open)
		rc = e2q_output_open(x->opts->dest, x->opts->source,
				     x->opts->dst_offset_set, &x->out);
	else
		rc = E2Q_EXIT_OK;
	x->out_open = 0;
	if (!rc) {
		rc = refuse_raw_too_large(x);
		if (rc)
			e2q_output_abort(&x->out);
	}
	if (rc)
		return rc;
	x->view.out = &x->out;
	x->sink = calloc(1, ops->size);
	if (x->sink) {
		x->sink->ops = ops;
		x->sink->x = &x->view;
	}
	rc = x->sink ? run_passes(x, &bytes_out) : write_error(x, ENOMEM);
	if (rc) {
		e2q_output_abort(&x->out);
		return rc;
	}
	rc = e2q_output_commit(&x->out);
	if (!rc)
		report_done(x, bytes_out);
	return rc;
}

/* ---- the whole export ---- */

static enum e2q_exit export_fs(struct export *x,
			       const struct e2q_sink_ops *ops)
{
	enum e2q_exit rc;

	rc = add_transforms(x);
	if (!rc)
		rc = new_report(x);
	if (!rc && ops->needs_walk) {
		e2q_progress_start(&x->progress, x->opts->progress,
				   _("Walking"), x->view.fs->super->s_inodes_count,
				   0);
		rc = walk(x);
	}
	if (!rc)
		rc = prepare_transforms(x);
	if (!rc)
		rc = x->opts->dry_run ? ops->dry_run(&x->view)
				      : write_image(x, ops);
	return rc;
}

static enum e2q_exit finish_transforms(struct export *x, enum e2q_exit rc)
{
	unsigned int i;

	for (i = 0; i < x->ntransforms; i++)
		rc = x->transforms[i]->ops->finish(x->transforms[i], rc);
	return rc;
}

static void close_export(struct export *x)
{
	unsigned int i;

	if (x->out_open)
		e2q_output_abort(&x->out);
	if (x->sink && x->sink->ops->free)
		x->sink->ops->free(x->sink);
	free(x->sink);
	for (i = 0; i < x->ntransforms; i++)
		x->transforms[i]->ops->free(x->transforms[i]);
	e2q_capture_report_free(x->view.report);
	if (x->view.map)
		ext2fs_free_block_bitmap(x->view.map);
	if (x->view.fs)
		ext2fs_close_free(&x->view.fs);
	e2q_release_qcow_source(x->src_fd);
}

/*
 * A qcow SOURCE is an untrusted image: every file is opened first (the
 * image, the output, the scramble map), then the process is confined
 * (sandbox.h), then the image is parsed.
 */
static enum e2q_exit enter_sandbox(struct export *x)
{
	const struct e2q_options *o = x->opts;
	enum e2q_exit rc = E2Q_EXIT_OK;

	if (!o->dry_run) {
		rc = e2q_output_open(o->dest, o->source, o->dst_offset_set,
				     &x->out);
		x->out_open = !rc;
	}
	if (!rc)
		rc = e2q_scramble_map_open_early(o);
	if (!rc)
		rc = e2q_enter_sandbox(o, x->out_open ? &x->out : NULL,
				       x->out_open ? E2Q_SANDBOX_WRITES : 0);
	return rc;
}

/* --freeze: every file written must lie elsewhere than SOURCE's mount */
static enum e2q_exit freeze_source(const struct export *x)
{
	const char *outputs[4] = { NULL, NULL, NULL, NULL };
	char *journal_image = e2q_journal_image_name(x->opts);
	unsigned int n = 0;
	enum e2q_exit rc;

	if (!x->opts->dry_run)
		outputs[n++] = x->opts->dest;
	if (x->opts->scramble_map)
		outputs[n++] = x->opts->scramble_map;
	if (x->opts->journal_device && journal_image && !x->opts->dry_run)
		outputs[n++] = journal_image;
	rc = e2q_freeze_source(x->opts, outputs);
	free(journal_image);
	return rc;
}

/*
 * A journal device as SOURCE is copied whole; -s cannot scramble its log
 * (nor a journal captured beside the image).
 */
static enum e2q_exit refuse_scrambled_journal(const struct export *x,
					      const char *journal_dev)
{
	const struct e2q_options *o = x->opts;

	if (o->scramble &&
	    ext2fs_has_feature_journal_dev(x->view.fs->super))
		return e2q_fail(E2Q_EXIT_USAGE, 0, _("-s cannot scramble the "
				"journal device %s"), o->source);
	if (o->scramble && journal_dev)
		return e2q_fail(E2Q_EXIT_USAGE, 0, _("-s cannot scramble the "
				"journal device %s"), journal_dev);
	return E2Q_EXIT_OK;
}

enum e2q_exit e2q_run_export(const struct e2q_options *opts)
{
	const struct e2q_sink_ops *ops = sink_of(opts->action);
	const char *journal_dev = NULL;
	struct export x;
	enum e2q_exit rc;

	memset(&x, 0, sizeof(x));
	x.opts = x.view.opts = opts;
	x.src_fd = -1;
	x.view.stats = &x.stats;
	x.dest_is_block_device = output_is_block_device(opts->dest);
	rc = e2q_refuse_if_mounted_rw(opts);
	if (!rc)
		rc = freeze_source(&x);
	if (!rc)
		rc = e2q_preopen_qcow_source(opts, &x.src_fd);
	if (!rc && x.src_fd >= 0)
		rc = enter_sandbox(&x);
	if (!rc)
		rc = e2q_open_source_fs(opts, &x.view.fs, &x.superblock);
	if (!rc && ops->needs_walk)
		rc = e2q_find_journal_device(opts, x.view.fs, &journal_dev);
	if (!rc)
		rc = refuse_scrambled_journal(&x, journal_dev);
	if (!rc)
		rc = export_fs(&x, ops);
	/* the external journal, beside the image, in the same frozen state */
	if (!rc && journal_dev && !opts->dry_run)
		rc = e2q_export_journal_device(opts, x.view.fs, journal_dev);
	e2q_thaw_source();	/* the capture is read: SOURCE may change again */
	rc = finish_transforms(&x, rc);
	/* damaged: problems met by the walk, or an unusable primary */
	if (!rc && (x.stats.problems || x.superblock != opts->superblock))
		rc = E2Q_EXIT_DAMAGED;
	close_export(&x);
	return rc;
}
