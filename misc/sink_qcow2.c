/*
 * sink_qcow2.c --- the qcow2 sink (-Q): lib/qcow's writer owns the format,
 * its encoder the compression (-z, on -j threads); this file owns the order
 * of their calls.
 *
 * A file takes one pass: the clusters are planned from the walk's marks,
 * then the data follows and the tables are written at the end.  A stream
 * (standard output, a pipe) is written front to back, so every table
 * precedes the data: a first pass ("Measuring") learns which clusters are
 * zero and how long each compressed one is; the data then comes from the
 * writer's spool when the measured pieces fit in it (a "Copying" pass that
 * reads nothing), or from a second pass from the source that must give the
 * same pieces.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nls-enable.h"
#include "qcow/qcow_encoder.h"
#include "qcow/qcow_layout.h"
#include "qcow/qcow_format.h"
#include "qcow/qcow_writer.h"
#include "e2q_err.h"
#include "misc/capture_report.h"
#include "misc/export.h"

/*
 * A compressed stream keeps the pieces of its measuring pass when they fit
 * in this (E2QCOW_STREAM_SPOOL overrides it, for tests); else it reads
 * again.  Plain pieces would rarely fit: those streams always read twice.
 */
#define STREAM_SPOOL_BYTES	(64ULL << 20)

struct qcow2_sink {
	struct e2q_sink base;
	e2q_qcow_writer *w;
	e2q_qcow_encoder *enc;	/* blocks to pieces; NULL: plain put() */
	unsigned int cluster_bits, block_bits;
	uint64_t plan_end;	/* clusters below are planned */
	enum { WRITING, MEASURING, SPOOLED } pass;	/* under way */
};

/*
 * A compressed image's cluster size: lib/qcow's choice for the bytes to
 * store, or E2QCOW_COMPRESSED_CLUSTER_BITS (for tests: qemu's largest
 * compressed clusters on a small filesystem), from a block to 2 MiB.
 */
static unsigned int compressed_cluster_bits(const struct qcow2_sink *q)
{
	const struct e2q_export_view *x = q->base.x;
	const char *force = getenv("E2QCOW_COMPRESSED_CLUSTER_BITS");
	unsigned long bits = force ? strtoul(force, NULL, 10) : 0;

	if (bits >= q->block_bits && bits <= E2Q_QCOW2_MAX_CLUSTER_BITS)
		return (unsigned int) bits;
	return e2q_preferred_compressed_cluster_bits(x->opts->compress_type,
			q->block_bits,
			(uint64_t) x->stats->marked_blocks << q->block_bits,
			ext2fs_blocks_count(x->fs->super) * x->fs->blocksize);
}

/*
 * E2QCOW_LAYOUT_TRACE set: every candidate's cost on stderr, one line each
 * (for tests and benchmarks; not translated, not a stable format).
 */
static void trace_layout(const e2q_qcow_layout *l, unsigned int from)
{
	struct e2q_qcow_layout_cost c;
	unsigned int bits;

	if (!getenv("E2QCOW_LAYOUT_TRACE"))
		return;
	for (bits = from; e2q_qcow_layout_cost(l, bits, &c) == 0; bits++)
		fprintf(stderr, "layout: cluster %u data %llu l2 %llu l1 %llu "
			"refblocks %llu reftable %llu tables %llu data_bytes %llu "
			"bytes %llu%s\n", 1U << bits,
			(unsigned long long) c.data_clusters,
			(unsigned long long) c.l2_tables,
			(unsigned long long) c.l1_entries,
			(unsigned long long) c.refcount_blocks,
			(unsigned long long) c.reftable_clusters,
			(unsigned long long) c.table_bytes,
			(unsigned long long) c.data_bytes,
			(unsigned long long) c.bytes, c.fits ? "" : " too large");
}

static errcode_t layout_run(blk64_t first, blk64_t count, void *priv)
{
	return e2q_qcow_layout_add(priv, first, count);
}

/*
 * The cluster size: the layout planner weighs every candidate on the
 * marked runs (lib/qcow/qcow_layout.h).
 */
static errcode_t choose_cluster_bits(struct qcow2_sink *q)
{
	const struct e2q_export_view *x = q->base.x;
	struct e2q_qcow_layout_params p;
	struct e2q_qcow_layout_cost chosen;
	e2q_qcow_layout *l;
	errcode_t err;

	memset(&p, 0, sizeof(p));
	p.virtual_size = ext2fs_blocks_count(x->fs->super) * x->fs->blocksize;
	p.block_bits = q->block_bits;
	p.compressed = x->opts->compression != NULL;
	p.min_cluster_bits = p.compressed ? compressed_cluster_bits(q) : 0;
	err = e2q_qcow_layout_new(&p, &l);
	if (err)
		return err;
	err = e2q_meta_for_each_run(x->fs, x->map, ~(blk64_t) 0, layout_run, l);
	if (!err) {
		trace_layout(l, p.compressed ? p.min_cluster_bits :
				     q->block_bits);
		err = e2q_qcow_layout_choose(l, &chosen);
	}
	if (!err)
		q->cluster_bits = chosen.cluster_bits;
	e2q_qcow_layout_free(l);
	return err;
}

static errcode_t new_writer(struct qcow2_sink *q)
{
	const struct e2q_export_view *x = q->base.x;
	struct e2q_qcow_writer_params p;
	const char *spool = getenv("E2QCOW_STREAM_SPOOL");
	errcode_t err;

	q->block_bits = (unsigned int) EXT2_BLOCK_SIZE_BITS(x->fs->super);
	err = choose_cluster_bits(q);
	if (err)
		return err;
	memset(&p, 0, sizeof(p));
	p.virtual_size = e2q_export_image_blocks(x) * x->fs->blocksize;
	p.cluster_bits = q->cluster_bits;
	p.compression_type = (unsigned int) x->opts->compress_type;
	p.stream = x->out->is_stream;
	p.spool_limit = spool ? strtoull(spool, NULL, 0) :
			x->opts->compression ? STREAM_SPOOL_BYTES : 0;
	return e2q_qcow_writer_new(&p, &q->w);
}

/* Plans the clusters that hold a run of blocks. */
static errcode_t plan_run(blk64_t first, blk64_t count, void *priv)
{
	struct qcow2_sink *q = priv;
	unsigned int shift = q->cluster_bits - q->block_bits;
	uint64_t c = first >> shift, end = ((first + count - 1) >> shift) + 1;

	if (c < q->plan_end)
		c = q->plan_end;
	q->plan_end = end;
	return c < end ? e2q_qcow_writer_plan(q->w, c, end - c) : 0;
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

static errcode_t new_encoder(struct qcow2_sink *q, e2q_qcow_pieces_fn fn)
{
	const struct e2q_options *o = q->base.x->opts;
	struct e2q_qcow_encoder_params p;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(&p, 0, sizeof(p));
	p.cluster_bits = q->cluster_bits;
	p.block_bits = q->block_bits;
	p.type = o->compression ? o->compress_type : E2Q_QCOW_CODEC_NONE;
	p.level = o->compress_level;
	p.threads = o->jobs ? o->jobs : cpus > 0 ? (unsigned) cpus : 1;
	return e2q_qcow_encoder_new(&p, fn, q->w, &q->enc);
}

/* Fixes the layout: a stream gets its header and tables here. */
static errcode_t start_writing(struct qcow2_sink *q)
{
	const struct e2q_export_view *x = q->base.x;
	errcode_t err = e2q_qcow_writer_start(q->w, x->out->fd);

	if (err || e2q_qcow_writer_spooled(q->w))
		return err;
	/* the encoder gathers blocks into larger clusters too */
	if (x->opts->compression || x->out->is_stream ||
	    q->cluster_bits != q->block_bits)
		return new_encoder(q, put_pieces);
	return 0;
}

static errcode_t qcow2_plan(struct e2q_sink *s, struct e2q_pass *first)
{
	struct qcow2_sink *q = (struct qcow2_sink *) s;
	errcode_t err = new_writer(q);

	if (!err)
		err = e2q_meta_for_each_run(s->x->fs, s->x->map, ~(blk64_t) 0,
					    plan_run, q);
	/* too large for the first cluster even without its problems: the
	 * image goes without it rather than not at all */
	if (!err && s->x->report)
		err = e2q_capture_report_attach(s->x->report, q->w);
	if (err == E2Q_ET_QCOW_REPORT_TOO_LARGE)
		err = 0;
	if (err)
		return err;
	if (!s->x->out->is_stream) {
		*first = (struct e2q_pass) { _("Copying"), 1 };
		return start_writing(q);
	}
	q->pass = MEASURING;
	*first = (struct e2q_pass) { _("Measuring"), 1 };
	return new_encoder(q, measure_pieces);
}

static errcode_t qcow2_put(struct e2q_sink *s, blk64_t first, blk64_t count,
			   const void *data)
{
	struct qcow2_sink *q = (struct qcow2_sink *) s;

	if (q->enc)
		return e2q_qcow_encoder_add(q->enc, first, count, data);
	return e2q_qcow_writer_put(q->w, first, count, data);
}

static errcode_t qcow2_end_pass(struct e2q_sink *s, struct e2q_pass *next)
{
	struct qcow2_sink *q = (struct qcow2_sink *) s;
	errcode_t err = q->enc ? e2q_qcow_encoder_finish(q->enc) : 0;

	if (q->enc)
		e2q_qcow_encoder_free(q->enc);
	q->enc = NULL;
	next->name = NULL;
	if (!err && q->pass == SPOOLED)
		err = e2q_qcow_writer_put_spooled(q->w);
	if (err || q->pass != MEASURING)
		return err;
	err = start_writing(q);
	q->pass = e2q_qcow_writer_spooled(q->w) ? SPOOLED : WRITING;
	*next = (struct e2q_pass) { _("Copying"), q->pass == WRITING };
	return err;
}

static errcode_t qcow2_finish(struct e2q_sink *s, uint64_t *bytes_out)
{
	struct qcow2_sink *q = (struct qcow2_sink *) s;
	struct e2q_qcow_writer_stats st;
	errcode_t err = e2q_qcow_writer_finish(q->w);

	e2q_qcow_writer_get_stats(q->w, &st);
	*bytes_out = st.file_size;
	return err;
}

static void qcow2_free(struct e2q_sink *s)
{
	struct qcow2_sink *q = (struct qcow2_sink *) s;

	if (q->enc)
		e2q_qcow_encoder_free(q->enc);
	if (q->w)
		e2q_qcow_writer_free(q->w);
}

const struct e2q_sink_ops e2q_sink_qcow2_ops = {
	.needs_walk = 1,
	.dry_run = e2q_print_walk_dry_run,
	.size = sizeof(struct qcow2_sink),
	.plan = qcow2_plan,
	.put = qcow2_put,
	.end_pass = qcow2_end_pass,
	.finish = qcow2_finish,
	.free = qcow2_free,
};
