/*
 * visit_runs.c --- visits the marked blocks of a map in ascending runs, and
 * reads them with one read per run.
 *
 * Blocks below s_first_data_block (block 0, the boot block, of a 1 KiB-block
 * filesystem) lie outside libext2fs's block bitmaps; they are always visited,
 * merged with the primary superblock's run that follows them.
 */
#include "config.h"

#include <errno.h>

#include <ext2fs/ext2fs.h>

#include "e2q_err.h"
#include "e2meta/e2meta.h"

/* Next run at or after `from`: sets *first and *count; ENOENT when none. */
static errcode_t next_run(ext2fs_block_bitmap map, blk64_t from, blk64_t end,
			  blk64_t *first, blk64_t *count)
{
	blk64_t set, clear;
	errcode_t err;

	if (from > end)
		return ENOENT;
	err = ext2fs_find_first_set_block_bitmap2(map, from, end, &set);
	if (err)
		return err;
	err = ext2fs_find_first_zero_block_bitmap2(map, set, end, &clear);
	if (err == ENOENT)
		clear = end + 1;
	else if (err)
		return err;
	*first = set;
	*count = clear - set;
	return 0;
}

static errcode_t emit_split(blk64_t first, blk64_t count, blk64_t max_run,
			    e2q_meta_run_fn fn, void *priv)
{
	errcode_t err = 0;

	while (count > 0 && !err) {
		blk64_t n = count < max_run ? count : max_run;

		err = fn(first, n, priv);
		first += n;
		count -= n;
	}
	return err;
}

errcode_t e2q_meta_for_each_run(ext2_filsys fs, ext2fs_block_bitmap map,
				blk64_t max_run, e2q_meta_run_fn fn, void *priv)
{
	blk64_t lead = fs->super->s_first_data_block;
	blk64_t end = ext2fs_blocks_count(fs->super) - 1;
	blk64_t pos = lead, first, count;
	errcode_t err;

	if (max_run == 0)
		return E2Q_ET_RANGE;
	for (;;) {
		err = next_run(map, pos, end, &first, &count);
		if (err == ENOENT)
			break;
		if (err)
			return err;
		if (lead && first == pos) {
			/* the boot block joins the superblock's run */
			first = 0;
			count += lead;
		} else if (lead) {
			err = emit_split(0, lead, max_run, fn, priv);
			if (err)
				return err;
		}
		lead = 0;
		err = emit_split(first, count, max_run, fn, priv);
		if (err)
			return err;
		pos = first + count;
	}
	return lead ? emit_split(0, lead, max_run, fn, priv) : 0;
}

struct read_ctx {
	ext2_filsys fs;
	char *buf;
	e2q_meta_data_fn fn;
	void *priv;
};

static errcode_t read_one_run(blk64_t first, blk64_t count, void *priv)
{
	struct read_ctx *ctx = priv;
	errcode_t err;

	err = io_channel_read_blk64(ctx->fs->io, first, (int) count, ctx->buf);
	if (err)
		return err;
	return ctx->fn(first, count, ctx->buf, ctx->priv);
}

errcode_t e2q_meta_read_runs(ext2_filsys fs, ext2fs_block_bitmap map,
			     blk64_t buf_blocks, e2q_meta_data_fn fn, void *priv)
{
	struct read_ctx ctx = { fs, NULL, fn, priv };
	errcode_t err;

	if (buf_blocks == 0 || buf_blocks > (1U << 30) / fs->blocksize)
		return E2Q_ET_RANGE;
	err = ext2fs_get_array(buf_blocks, fs->blocksize, &ctx.buf);
	if (err)
		return err;
	err = e2q_meta_for_each_run(fs, map, buf_blocks, read_one_run, &ctx);
	ext2fs_free_mem(&ctx.buf);
	return err;
}
