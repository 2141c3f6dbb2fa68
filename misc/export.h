/*
 * export.h --- the export pipeline (-Q, -r, .e2i) and the two kinds of
 * stage it drives.  Read top to bottom, an export is:
 *
 *   source      open_source.c     SOURCE opened through libext2fs (a device,
 *                                 or a qcow image through lib/qcowio)
 *   walk        export.c          lib/e2meta marks the metadata blocks; each
 *                                 marked run's role goes to every transform
 *   transforms  transform_*.c     change a run's bytes in place (-s)
 *   sink        sink_*.c          plan / put / end_pass / finish: one format
 *                                 each (raw, qcow2, .e2i), file or stream
 *
 * export.c owns the order: it walks once, lets every transform prepare
 * once, asks the sink to plan, then reads every marked run in ascending
 * order, once per pass the sink asks for, hands each run through the
 * transforms (in list order) to the sink, and finishes the sink.  Progress
 * observes the driver; no stage wraps another's callback.
 *
 * Stages print nothing on their own but the dry-run line and return
 * errcode_t; export.c reports every failure through e2q_fail().
 */
#ifndef E2Q_EXPORT_H
#define E2Q_EXPORT_H

#include <ext2fs/ext2fs.h>

#include "e2meta/e2meta.h"
#include "misc/e2qcow.h"
#include "misc/output_file.h"

/* What every stage may read of the export under way. */
struct e2q_export_view {
	const struct e2q_options *opts;
	ext2_filsys fs;			/* the source, open */
	ext2fs_block_bitmap map;	/* the walk's marks; NULL without a walk */
	const struct e2q_meta_stats *stats;	/* the walk's counts */
	const struct e2q_output *out;	/* the output, open before plan() */
	/* -Q: what the capture report says (misc/capture_report.h), its
	 * stats and problems filled in by the walk; else NULL */
	struct e2q_capture_report *report;
};

/*
 * How many blocks long the image is: the filesystem's, or the device's when
 * the walk found it shorter (so that e2fsck on the image sees that size).
 */
static inline blk64_t e2q_export_image_blocks(const struct e2q_export_view *x)
{
	if (x->stats && x->stats->device_blocks)
		return x->stats->device_blocks;
	return ext2fs_blocks_count(x->fs->super);
}

/*
 * A sink writes one image format, in a struct that begins with struct
 * e2q_sink and is `size` bytes long: the driver allocates it zeroed once the
 * output is open and calls plan() once; plan() and each end_pass()
 * describe the pass that follows, or set its name to NULL when no (further)
 * pass is needed.  In a pass from the source, the driver calls put() with
 * every marked run in ascending order, then end_pass(); a pass not from the
 * source is work the sink does inside the end_pass() that closes it (named,
 * for progress).  finish() completes the image; free() is called always,
 * also after a failure.
 */
struct e2q_pass {
	const char *name;	/* "Copying", for progress; NULL: no pass */
	int from_source;	/* the marked runs are read and put() */
};
struct e2q_sink;
struct e2q_sink_ops {
	int needs_walk;		/* 0: the sink reads the filesystem itself */
	enum e2q_exit (*dry_run)(const struct e2q_export_view *x); /* -n */
	size_t size;		/* of the sink's struct */
	errcode_t (*plan)(struct e2q_sink *s, struct e2q_pass *first);
	errcode_t (*put)(struct e2q_sink *s, blk64_t first, blk64_t count,
			 const void *data);
	errcode_t (*end_pass)(struct e2q_sink *s, struct e2q_pass *next);
	errcode_t (*finish)(struct e2q_sink *s, uint64_t *bytes_out);
	void (*free)(struct e2q_sink *s);	/* its members; may be NULL */
};
struct e2q_sink {
	const struct e2q_sink_ops *ops;
	const struct e2q_export_view *x;
};

extern const struct e2q_sink_ops e2q_sink_raw_ops;	/* sink_raw.c: -r */
extern const struct e2q_sink_ops e2q_sink_qcow2_ops;	/* sink_qcow2.c: -Q */
extern const struct e2q_sink_ops e2q_sink_e2i_ops;	/* sink_e2i.c: .e2i */
/* The dry-run line of the sinks that copy the walk's blocks (export.c). */
enum e2q_exit e2q_print_walk_dry_run(const struct e2q_export_view *x);

/*
 * A transform changes the bytes of marked runs between the read and the
 * sink.  note_role() sees every role the walk reports; prepare() is called
 * once after the walk, before any pass; apply() must give the same bytes
 * for the same run in every pass (it is a function of the bytes and of
 * what prepare() fixed), and counts what it changed in pass 0 only;
 * finish() runs after the sink, with the exit code so far, and returns it
 * or its own failure.
 */
struct e2q_transform;
struct e2q_transform_ops {
	void (*note_role)(struct e2q_transform *t, blk64_t first, blk64_t count,
			  enum e2q_meta_role role, ext2_ino_t ino);
	errcode_t (*prepare)(struct e2q_transform *t, ext2fs_block_bitmap map);
	errcode_t (*apply)(struct e2q_transform *t, blk64_t first,
			   blk64_t count, void *data, unsigned int pass);
	enum e2q_exit (*finish)(struct e2q_transform *t, enum e2q_exit rc);
	void (*free)(struct e2q_transform *t);
};
struct e2q_transform {
	const struct e2q_transform_ops *ops;
};

/* transform_scramble.c: -s; *ret stays NULL without -s. */
enum e2q_exit e2q_scramble_transform_new(const struct e2q_options *opts,
					 ext2_filsys fs,
					 struct e2q_transform **ret);
/* transform_scramble.c: before a sandbox (sandbox.h), creates the
 * --scramble-map file now, for e2q_scramble_transform_new() to write. */
enum e2q_exit e2q_scramble_map_open_early(const struct e2q_options *opts);

#endif /* E2Q_EXPORT_H */
