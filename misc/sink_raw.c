/*
 * sink_raw.c --- the raw sink (-r, and -ra to a stream): the marked blocks
 * at their own offsets in a sparse file, zeros written out on a stream,
 * explicit zero blocks on a device or a file written in place (-O).
 * lib/support/raw_output.c owns the format; one pass.
 */
#include "config.h"


#include "nls-enable.h"
#include "support/raw_output.h"
#include "misc/export.h"

struct raw_sink {
	struct e2q_sink base;
	e2q_raw_output *raw;
};

static errcode_t raw_plan(struct e2q_sink *s, struct e2q_pass *first)
{
	struct raw_sink *r = (struct raw_sink *) s;
	const struct e2q_export_view *x = s->x;
	int flags = 0;

	if (x->out->is_stream)
		flags |= E2Q_RAW_STREAM;
	if (x->out->in_place && !x->out->is_stream)
		flags |= E2Q_RAW_KEEP_ZEROS;
	*first = (struct e2q_pass) { _("Copying"), 1 };
	return e2q_raw_output_new(x->out->fd, x->opts->dst_offset,
				  e2q_export_image_blocks(x) *
				  x->fs->blocksize, x->fs->blocksize, flags,
				  &r->raw);
}

static errcode_t raw_put(struct e2q_sink *s, blk64_t first, blk64_t count,
			 const void *data)
{
	struct raw_sink *r = (struct raw_sink *) s;
	unsigned int bs = s->x->fs->blocksize;

	return e2q_raw_output_write(r->raw, first * bs, data, count * bs);
}

static errcode_t raw_end_pass(struct e2q_sink *s, struct e2q_pass *next)
{
	(void) s;
	next->name = NULL;
	return 0;
}

static errcode_t raw_finish(struct e2q_sink *s, uint64_t *bytes_out)
{
	struct raw_sink *r = (struct raw_sink *) s;
	errcode_t err = e2q_raw_output_finish(r->raw);

	*bytes_out = e2q_raw_output_bytes_written(r->raw);
	return err;
}

static void raw_free(struct e2q_sink *s)
{
	struct raw_sink *r = (struct raw_sink *) s;

	if (r->raw)
		e2q_raw_output_free(r->raw);
}

const struct e2q_sink_ops e2q_sink_raw_ops = {
	.needs_walk = 1,
	.dry_run = e2q_print_walk_dry_run,
	.size = sizeof(struct raw_sink),
	.plan = raw_plan,
	.put = raw_put,
	.end_pass = raw_end_pass,
	.finish = raw_finish,
	.free = raw_free,
};
