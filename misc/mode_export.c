/*
 * mode_export.c --- -Q and -r from an ext2/3/4 filesystem: mark the
 * metadata blocks, read them in large runs, write them as qcow2 or raw.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "nls-enable.h"
#include "e2q_err.h"
#include "e2meta/e2meta.h"
#include "qcow/qcow_encoder.h"
#include "qcow/qcow_format.h"
#include "qcow/qcow_writer.h"
#include "support/raw_output.h"
#include "misc/e2qcow.h"
#include "misc/output_file.h"
#include "misc/progress.h"
#include "misc/sandbox.h"
#include "misc/scramble_map.h"

#define READ_BATCH_BYTES	(1U << 20)

/* Compressed clusters are 64 KiB (or a block): better ratio, fewer tables. */
#define COMPRESSED_CLUSTER_BITS	16
/*
 * A compressed stream keeps the pieces of its measuring pass when they fit
 * in this (E2QCOW_STREAM_SPOOL overrides it, for tests); else it reads
 * again.  Plain pieces would rarely fit: those streams always read twice.
 */
#define STREAM_SPOOL_BYTES	(64ULL << 20)

struct export {
	const struct e2q_options *opts;
	ext2_filsys fs;
	ext2fs_block_bitmap map;
	struct e2q_meta_stats stats;
	struct e2q_output out;
	int out_open;		/* opened before the sandbox, not yet closed */
	int dest_is_block_device;
	e2q_qcow_writer *qcow;
	e2q_qcow_encoder *enc;	/* blocks to pieces; NULL: plain put() */
	unsigned int cluster_bits;
	uint64_t plan_end;	/* clusters below are planned */
	e2q_raw_output *raw;
	struct e2q_progress progress;
	blk64_t done;
	errcode_t write_err;	/* set when the output side failed */
	struct e2q_scramble_ctx *scramble;	/* -s; NULL without */
	/* the walk's role callback that the progress bar wraps */
	void (*inner_role)(void *priv, blk64_t first, blk64_t count,
			   enum e2q_meta_role role, ext2_ino_t ino);
	void *inner_role_priv;
};

static void report_problem(void *priv, errcode_t code, ext2_ino_t ino,
			   dgrp_t group)
{
	struct export *x = priv;
	const char *source = x->opts->source;

	e2q_progress_clear(&x->progress);	/* the message on its own line */
	e2q_report_walk_problem((void *) source, code, ino, group);
}

static int output_is_block_device(const char *path)
{
	struct stat st;

	return strcmp(path, "-") != 0 && stat(path, &st) == 0 &&
	       S_ISBLK(st.st_mode);
}

/* Walk progress: the inode owning each marked run, of all the inodes. */
static void note_walk(void *priv, blk64_t first, blk64_t count,
		      enum e2q_meta_role role, ext2_ino_t ino)
{
	struct export *x = priv;

	if (x->inner_role)
		x->inner_role(x->inner_role_priv, first, count, role, ino);
	e2q_progress_update(&x->progress, ino);
}

static void start_walk_progress(struct export *x, struct e2q_meta_options *mo)
{
	e2q_progress_start(&x->progress, x->opts->progress, _("Walking"),
			   x->fs->super->s_inodes_count, 0);
	if (!x->progress.on_terminal)
		return;
	x->inner_role = mo->role;
	x->inner_role_priv = mo->role_priv;
	mo->role = note_walk;
	mo->role_priv = x;
}

static int mark_metadata(struct export *x)
{
	struct e2q_meta_options mo;
	errcode_t err;
	int rc;

	memset(&mo, 0, sizeof(mo));
	mo.all_data = x->opts->all_data;
	mo.whole_inode_tables = x->dest_is_block_device;
	mo.superblock = x->opts->superblock;
	mo.problem = report_problem;
	mo.priv = x;
	rc = e2q_scramble_start(x->opts, x->fs, &mo, &x->scramble);
	if (rc)
		return rc;
	start_walk_progress(x, &mo);
	err = ext2fs_allocate_block_bitmap(x->fs, "metadata blocks", &x->map);
	if (!err)
		err = e2q_meta_mark(x->fs, &mo, x->map, &x->stats);
	e2q_progress_clear(&x->progress);
	if (err) {
		com_err(e2q_program_name, err, _("while walking %s"),
			x->opts->source);
		return err == ENOMEM ? E2Q_EXIT_INTERNAL : E2Q_EXIT_SOURCE;
	}
	return e2q_scramble_ready(x->scramble);
}

/* Plans the clusters that hold a run of blocks. */
static errcode_t plan_run(blk64_t first, blk64_t count, void *priv)
{
	struct export *x = priv;
	unsigned int shift = x->cluster_bits - EXT2_BLOCK_SIZE_BITS(x->fs->super);
	uint64_t c = first >> shift, end = ((first + count - 1) >> shift) + 1;

	if (c < x->plan_end)
		c = x->plan_end;
	x->plan_end = end;
	return c < end ? e2q_qcow_writer_plan(x->qcow, c, end - c) : 0;
}

static errcode_t measure_pieces(uint64_t first, uint64_t count,
				const struct e2q_qcow_piece *pieces, void *priv)
{
	return e2q_qcow_writer_measure(priv, first, count, pieces);
}

static errcode_t put_pieces(uint64_t first, uint64_t count,
			    const struct e2q_qcow_piece *pieces, void *priv)
{
	return e2q_qcow_writer_put_pieces(priv, first, count, pieces);
}

static errcode_t new_encoder(struct export *x, e2q_qcow_pieces_fn fn)
{
	struct e2q_qcow_encoder_params p;

	memset(&p, 0, sizeof(p));
	p.cluster_bits = x->cluster_bits;
	p.block_bits = (unsigned int) EXT2_BLOCK_SIZE_BITS(x->fs->super);
	p.type = x->opts->compression ? x->opts->compress_type :
		 E2Q_QCOW_CODEC_NONE;
	p.level = x->opts->compress_level;
	p.threads = x->opts->jobs;	/* set by options.c: never 0 */
	return e2q_qcow_encoder_new(&p, fn, x->qcow, &x->enc);
}

static errcode_t store_run(blk64_t first, blk64_t count, const void *data,
			   void *priv)
{
	struct export *x = priv;
	unsigned int bs = x->fs->blocksize;
	errcode_t err;

	if (x->scramble) {
		err = e2q_scramble_run(x->scramble, first, count, data);
		if (err)
			return err;
	}
	if (x->enc)
		err = e2q_qcow_encoder_add(x->enc, first, count, data);
	else if (x->qcow)
		err = e2q_qcow_writer_put(x->qcow, first, count, data);
	else
		err = e2q_raw_output_write(x->raw, first * bs, data, count * bs);
	if (err) {
		x->write_err = err;
		return err;
	}
	x->done += count;
	e2q_progress_update(&x->progress, x->done);
	return 0;
}

static errcode_t new_qcow(struct export *x)
{
	struct e2q_qcow_writer_params p;
	unsigned int bits = (unsigned int) EXT2_BLOCK_SIZE_BITS(x->fs->super);
	const char *spool;

	if (x->opts->compression && bits < COMPRESSED_CLUSTER_BITS)
		bits = COMPRESSED_CLUSTER_BITS;
	x->cluster_bits = bits;
	memset(&p, 0, sizeof(p));
	p.virtual_size = ext2fs_blocks_count(x->fs->super) * x->fs->blocksize;
	p.cluster_bits = bits;
	p.compression_type = x->opts->compress_type == E2Q_QCOW_CODEC_ZSTD ?
			     E2Q_QCOW2_COMPRESSION_ZSTD :
			     E2Q_QCOW2_COMPRESSION_ZLIB;
	p.stream = x->out.is_stream;
	spool = getenv("E2QCOW_STREAM_SPOOL");
	p.spool_limit = spool ? strtoull(spool, NULL, 0) :
			x->opts->compression ? STREAM_SPOOL_BYTES : 0;
	return e2q_qcow_writer_new(&p, &x->qcow);
}

/* Reads every marked block and hands it to store_run; an exit code. */
static int read_pass(struct export *x, const char *what)
{
	unsigned int bs = x->fs->blocksize;
	errcode_t err;

	x->done = 0;
	e2q_progress_phase(&x->progress, what, x->stats.marked_blocks, bs);
	err = e2q_meta_read_runs(x->fs, x->map, READ_BATCH_BYTES / bs,
				 store_run, x);
	if (!err && x->enc)
		err = x->write_err = e2q_qcow_encoder_finish(x->enc);
	if (err)
		e2q_progress_clear(&x->progress);
	if (err && !x->write_err) {
		com_err(e2q_program_name, err, _("while reading %s"),
			x->opts->source);
		return E2Q_EXIT_SOURCE;
	}
	if (err) {
		com_err(e2q_program_name, err, _("while writing %s"),
			x->opts->dest);
		return err == ENOMEM ? E2Q_EXIT_INTERNAL : E2Q_EXIT_OUTPUT;
	}
	return E2Q_EXIT_OK;
}

/*
 * A stream is written front to back: a first pass learns which clusters are
 * zero and how long each compressed one is, so that every table can be
 * written before the data.
 */
static int measure_stream(struct export *x)
{
	int rc;
	errcode_t err = new_encoder(x, measure_pieces);

	if (err) {
		com_err(e2q_program_name, err, _("while writing %s"),
			x->opts->dest);
		return E2Q_EXIT_INTERNAL;
	}
	rc = read_pass(x, _("Measuring"));
	e2q_qcow_encoder_free(x->enc);
	x->enc = NULL;
	return rc;
}

static errcode_t plan_qcow(struct export *x)
{
	errcode_t err = new_qcow(x);

	if (!err)
		err = e2q_meta_for_each_run(x->fs, x->map, ~(blk64_t) 0,
					    plan_run, x);
	return err;
}

static errcode_t start_qcow(struct export *x)
{
	errcode_t err = e2q_qcow_writer_start(x->qcow, x->out.fd);

	if (!err && e2q_qcow_writer_spooled(x->qcow))
		return 0;	/* the data is in the writer already */
	if (!err && (x->opts->compression || x->out.is_stream))
		err = new_encoder(x, put_pieces);
	return err;
}

static errcode_t start_raw(struct export *x)
{
	int flags = 0;

	if (x->out.is_stream)
		flags |= E2Q_RAW_STREAM;
	if (x->out.in_place && !x->out.is_stream)
		flags |= E2Q_RAW_KEEP_ZEROS;
	return e2q_raw_output_new(x->out.fd, x->opts->dst_offset,
				  ext2fs_blocks_count(x->fs->super) *
				  x->fs->blocksize, x->fs->blocksize, flags,
				  &x->raw);
}

static errcode_t finish_output(struct export *x, uint64_t *bytes_out)
{
	struct e2q_qcow_writer_stats st;
	errcode_t err;

	if (x->qcow) {
		err = e2q_qcow_writer_finish(x->qcow);
		e2q_qcow_writer_get_stats(x->qcow, &st);
		*bytes_out = st.file_size;
	} else {
		err = e2q_raw_output_finish(x->raw);
		*bytes_out = e2q_raw_output_bytes_written(x->raw);
	}
	return err;
}

static int report_write_error(struct export *x, errcode_t err)
{
	com_err(e2q_program_name, err, _("while writing %s"), x->opts->dest);
	return err == ENOMEM ? E2Q_EXIT_INTERNAL : E2Q_EXIT_OUTPUT;
}

/* Sets up the qcow2 writer or the raw output; an exit code. */
static int open_writer(struct export *x)
{
	errcode_t err;
	int rc;

	if (x->opts->mode != E2Q_MODE_QCOW2) {
		err = start_raw(x);
		return err ? report_write_error(x, err) : E2Q_EXIT_OK;
	}
	err = plan_qcow(x);
	if (err)
		return report_write_error(x, err);
	if (x->out.is_stream) {
		rc = measure_stream(x);
		if (rc)
			return rc;
	}
	err = start_qcow(x);
	return err ? report_write_error(x, err) : E2Q_EXIT_OK;
}

/* Copies the marked blocks; the output is open, and aborted on failure. */
static int copy_blocks(struct export *x)
{
	uint64_t bytes_out = 0;
	errcode_t err;
	int rc;

	e2q_progress_phase(&x->progress, _("Copying"), x->stats.marked_blocks,
			   x->fs->blocksize);
	rc = open_writer(x);
	if (!rc && x->qcow && e2q_qcow_writer_spooled(x->qcow)) {
		/* after the measuring pass: copying starts over */
		e2q_progress_phase(&x->progress, _("Copying"),
				   x->stats.marked_blocks, x->fs->blocksize);
		err = e2q_qcow_writer_put_spooled(x->qcow);
		if (err)
			return report_write_error(x, err);
	} else if (!rc) {
		rc = read_pass(x, _("Copying"));
	}
	if (rc)
		return rc;
	err = finish_output(x, &bytes_out);
	if (err) {
		e2q_progress_clear(&x->progress);
		return report_write_error(x, err);
	}
	e2q_progress_end(&x->progress, x->done, x->done * x->fs->blocksize,
			 bytes_out);
	return E2Q_EXIT_OK;
}

static int write_image(struct export *x)
{
	int rc;

	if (!x->out_open)
		rc = e2q_output_open(x->opts->dest, x->opts->source,
				     x->opts->dst_offset_set, &x->out);
	else
		rc = E2Q_EXIT_OK;
	x->out_open = 0;
	if (rc)
		return rc;
	rc = copy_blocks(x);
	if (rc) {
		e2q_output_abort(&x->out);
		return rc;
	}
	return e2q_output_commit(&x->out);
}

static void print_dry_run(const struct export *x)
{
	printf(_("%s: %llu metadata blocks of %u bytes (%.1f MiB) in %u "
		 "inodes would be copied\n"), x->opts->source,
	       (unsigned long long) x->stats.marked_blocks, x->fs->blocksize,
	       (double) x->stats.marked_blocks * x->fs->blocksize / 1048576.0,
	       x->stats.inodes_in_use);
}

/*
 * A qcow SOURCE is an untrusted image: every file is opened first, then the
 * process is confined (sandbox.h), then the image is parsed.
 */
static int enter_sandbox(struct export *x)
{
	const struct e2q_options *o = x->opts;
	int rc = E2Q_EXIT_OK;

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

static void close_export(struct export *x)
{
	if (x->out_open)
		e2q_output_abort(&x->out);
	if (x->enc)
		e2q_qcow_encoder_free(x->enc);
	if (x->qcow)
		e2q_qcow_writer_free(x->qcow);
	if (x->raw)
		e2q_raw_output_free(x->raw);
	if (x->map)
		ext2fs_free_block_bitmap(x->map);
	if (x->fs)
		ext2fs_close_free(&x->fs);
}

int e2q_mode_export(const struct e2q_options *opts)
{
	struct export x;
	int rc, src_fd = -1;

	memset(&x, 0, sizeof(x));
	x.opts = opts;
	x.dest_is_block_device = output_is_block_device(opts->dest);
	rc = e2q_refuse_if_mounted_rw(opts);
	if (!rc)
		rc = e2q_preopen_qcow_source(opts, &src_fd);
	/* sandbox: a qcow SOURCE is parsed confined, its files opened first */
	if (!rc && src_fd >= 0)
		rc = enter_sandbox(&x);
	if (!rc)
		rc = e2q_open_source_fs(opts, &x.fs);
	if (!rc)
		rc = mark_metadata(&x);
	if (!rc && opts->dry_run)
		print_dry_run(&x);
	else if (!rc)
		rc = write_image(&x);
	rc = e2q_scramble_end(x.scramble, rc);
	if (!rc && x.stats.problems)
		rc = E2Q_EXIT_DAMAGED;
	close_export(&x);
	e2q_release_qcow_source(src_fd);
	return rc;
}
