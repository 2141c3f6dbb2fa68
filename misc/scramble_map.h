/*
 * scramble_map.h --- -s, --keep-xattrs and --scramble-map for the export
 * modes: creates the scrambler of lib/e2meta/scramble.h, writes the name
 * map (mode 0600), and tells the user what was hidden and how.
 *
 * Functions returning int return an exit code (E2Q_EXIT_*) after printing
 * their own message.
 */
#ifndef E2Q_SCRAMBLE_MAP_H
#define E2Q_SCRAMBLE_MAP_H

#include <ext2fs/ext2fs.h>

#include "e2meta/e2meta.h"
#include "misc/e2qcow.h"

struct e2q_scramble_ctx;

/* Before the walk: plugs the scrambler into mo; *ret is NULL without -s. */
int e2q_scramble_start(const struct e2q_options *o, ext2_filsys fs,
		       struct e2q_meta_options *mo,
		       struct e2q_scramble_ctx **ret);
/* Before a sandbox (sandbox.h): creates the --scramble-map file now, for
 * e2q_scramble_start to write. */
int e2q_scramble_map_open_early(const struct e2q_options *o);
/* After the walk, before the first block is scrambled. */
int e2q_scramble_ready(struct e2q_scramble_ctx *c);
/* Scrambles a run read by e2q_meta_read_runs, in its buffer. */
errcode_t e2q_scramble_run(struct e2q_scramble_ctx *c, blk64_t first,
			   blk64_t count, const void *data);
/* Closes the map; returns rc, or an output error when rc was 0. */
int e2q_scramble_end(struct e2q_scramble_ctx *c, int rc);

#endif /* E2Q_SCRAMBLE_MAP_H */
