/*
 * e2i_write.c --- writes an open filesystem as an "Ext2 Image 1.0" file,
 * byte for byte the layout of e2image 1.47's normal image (see e2i_image.h).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2fs.h>

#include "e2q_err.h"
#include "support/raw_output.h"
#include "e2copy/e2i_image.h"


/* Offsets of the header fields (struct ext2_image_hdr in e2fsprogs). */
#define HDR_MAGIC		0
#define HDR_DESCRIPTOR		4
#define HDR_HOSTNAME		20
#define HDR_FS_DEVICE		120
#define HDR_DEVICE_NAME		124
#define HDR_UUID		188
#define HDR_BLOCKSIZE		204
#define HDR_IMAGE_DEVICE	240
#define HDR_IMAGE_INODE		244
#define HDR_IMAGE_TIME		248
#define HDR_OFFSET_SUPER	284
#define HDR_OFFSET_INODE	288
#define HDR_OFFSET_INODEMAP	292
#define HDR_OFFSET_BLOCKMAP	296

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char) v;
	p[1] = (unsigned char) (v >> 8);
	p[2] = (unsigned char) (v >> 16);
	p[3] = (unsigned char) (v >> 24);
}

static int host_is_big_endian(void)
{
	const uint16_t one = 1;

	return *(const unsigned char *) &one == 0;
}

static uint64_t round_up(uint64_t n, uint64_t to)
{
	return (n + to - 1) / to * to;
}

errcode_t e2q_e2i_plan(ext2_filsys fs, struct e2q_e2i_layout *l)
{
	uint64_t bs = fs->blocksize, groups = fs->group_desc_count;

	memset(l, 0, sizeof(*l));
	l->super = bs;
	l->inode = bs * (2 + (uint64_t) fs->desc_blocks);
	l->blockmap = l->inode + groups * fs->inode_blocks_per_group * bs;
	l->blockmap_bytes = EXT2_GROUPS_TO_CLUSTERS(fs->super, groups) / 8;
	l->inodemap = l->blockmap + round_up(l->blockmap_bytes, bs);
	l->inodemap_bytes = groups * EXT2_INODES_PER_GROUP(fs->super) / 8;
	l->size = l->inodemap + round_up(l->inodemap_bytes, bs);
	if (l->inodemap > UINT32_MAX)
		return E2Q_ET_E2I_TOO_LARGE;
	return 0;
}

static void fill_header(ext2_filsys fs, const struct e2q_e2i_identity *id,
			const struct e2q_e2i_layout *l, unsigned char *h)
{
	put_le32(h + HDR_MAGIC, (uint32_t) EXT2_ET_MAGIC_E2IMAGE);
	memcpy(h + HDR_DESCRIPTOR, E2Q_E2I_DESCRIPTOR,
	       sizeof(E2Q_E2I_DESCRIPTOR));
	memcpy(h + HDR_HOSTNAME, id->hostname, sizeof(id->hostname));
	h[HDR_HOSTNAME + sizeof(id->hostname) - 1] = 0;
	put_le32(h + HDR_FS_DEVICE, id->fs_device);
	memcpy(h + HDR_DEVICE_NAME, id->device_name, sizeof(id->device_name));
	h[HDR_DEVICE_NAME + sizeof(id->device_name) - 1] = 0;
	memcpy(h + HDR_UUID, fs->super->s_uuid, 16);
	put_le32(h + HDR_BLOCKSIZE, fs->blocksize);
	put_le32(h + HDR_IMAGE_DEVICE, id->image_device);
	put_le32(h + HDR_IMAGE_INODE, id->image_inode);
	put_le32(h + HDR_IMAGE_TIME, id->image_time);
	put_le32(h + HDR_OFFSET_SUPER, (uint32_t) l->super);
	put_le32(h + HDR_OFFSET_INODE, (uint32_t) l->inode);
	put_le32(h + HDR_OFFSET_INODEMAP, (uint32_t) l->inodemap);
	put_le32(h + HDR_OFFSET_BLOCKMAP, (uint32_t) l->blockmap);
}

/* The group descriptor blocks, little-endian, at `offset`. */
static errcode_t write_descriptors(ext2_filsys fs, e2q_raw_output *out,
				   uint64_t offset)
{
	size_t bytes = (size_t) fs->desc_blocks * fs->blocksize;
	dgrp_t j, n = EXT2_DESC_PER_BLOCK(fs->super) * (dgrp_t) fs->desc_blocks;
	void *gd;
	errcode_t err;

	if (!host_is_big_endian())
		return e2q_raw_output_write(out, offset, fs->group_desc, bytes);
	gd = malloc(bytes);
	if (!gd)
		return ENOMEM;
	memcpy(gd, fs->group_desc, bytes);
	for (j = 0; j < n; j++)
		ext2fs_swap_group_desc2(fs, ext2fs_group_desc(fs, gd, j));
	err = e2q_raw_output_write(out, offset, gd, bytes);
	free(gd);
	return err;
}

/* The superblock, zero-padded to a block, then the descriptors. */
static errcode_t write_super_and_descriptors(ext2_filsys fs,
					     e2q_raw_output *out,
					     const struct e2q_e2i_layout *l,
					     unsigned char *buf)
{
	errcode_t err;

	memset(buf, 0, fs->blocksize);
	memcpy(buf, fs->super, SUPERBLOCK_SIZE);
	if (host_is_big_endian())
		ext2fs_swap_super((struct ext2_super_block *) buf);
	err = e2q_raw_output_write(out, l->super, buf, fs->blocksize);
	if (!err)
		err = write_descriptors(fs, out, l->super + fs->blocksize);
	return err;
}

errcode_t e2q_e2i_for_each_itable_run(ext2_filsys fs, uint64_t offset,
				      blk64_t max_blocks, e2q_e2i_run_fn fn,
				      void *priv)
{
	blk64_t run_disk = 0, run_count = 0, loc, left, n;
	errcode_t err;
	dgrp_t g;

	for (g = 0; g < fs->group_desc_count; g++) {
		loc = ext2fs_inode_table_loc(fs, g);
		if (!loc)
			return EXT2_ET_MISSING_INODE_TABLE;
		for (left = fs->inode_blocks_per_group; left; left -= n) {
			n = left < max_blocks ? left : max_blocks;
			if (run_count && (run_disk + run_count != loc ||
					  run_count + n > max_blocks)) {
				err = fn(run_disk, run_count, offset, priv);
				if (err)
					return err;
				offset += run_count * fs->blocksize;
				run_count = 0;
			}
			if (!run_count)
				run_disk = loc;
			run_count += n;
			loc += n;
		}
	}
	return run_count ? fn(run_disk, run_count, offset, priv) : 0;
}

struct itable_copy {
	ext2_filsys fs;
	e2q_raw_output *out;
	unsigned char *buf;
};

static errcode_t copy_itable_run(blk64_t disk, blk64_t count,
				 uint64_t offset, void *priv)
{
	struct itable_copy *c = priv;
	errcode_t err;

	err = io_channel_read_blk64(c->fs->io, disk, (int) count, c->buf);
	if (!err)
		err = e2q_raw_output_write(c->out, offset, c->buf,
					   count * c->fs->blocksize);
	return err;
}

/* Every group's whole inode table, read in runs of up to a batch. */
static errcode_t write_inode_tables(ext2_filsys fs, e2q_raw_output *out,
				    const struct e2q_e2i_layout *l,
				    unsigned char *buf)
{
	struct itable_copy c = { fs, out, buf };

	return e2q_e2i_for_each_itable_run(fs, l->inode,
					   E2Q_E2I_BATCH_BYTES / fs->blocksize,
					   copy_itable_run, &c);
}

/* `bits` bits of a bitmap from `first`, as one bit array at `offset`. */
static errcode_t write_bitmap(ext2fs_generic_bitmap map, __u64 first,
			      uint64_t bits, uint64_t offset,
			      e2q_raw_output *out, unsigned char *buf)
{
	uint64_t chunk_bits = (uint64_t) E2Q_E2I_BATCH_BYTES * 8, n;
	errcode_t err;

	while (bits) {
		n = bits < chunk_bits ? bits : chunk_bits;
		err = ext2fs_get_generic_bmap_range(map, first,
						    (unsigned int) n, buf);
		if (!err)
			err = e2q_raw_output_write(out, offset, buf, n / 8);
		if (err)
			return err;
		first += n;
		bits -= n;
		offset += n / 8;
	}
	return 0;
}

static errcode_t write_bitmaps(ext2_filsys fs, e2q_raw_output *out,
			       const struct e2q_e2i_layout *l,
			       unsigned char *buf)
{
	errcode_t err = 0;

	if (!fs->block_map || !fs->inode_map)
		err = ext2fs_read_bitmaps(fs);
	if (!err)
		err = write_bitmap(fs->block_map, fs->super->s_first_data_block,
				   l->blockmap_bytes * 8, l->blockmap, out, buf);
	if (!err)
		err = write_bitmap(fs->inode_map, 1, l->inodemap_bytes * 8,
				   l->inodemap, out, buf);
	return err;
}

static errcode_t write_parts(ext2_filsys fs, e2q_raw_output *out,
			     const struct e2q_e2i_identity *id,
			     const struct e2q_e2i_layout *l,
			     unsigned char *buf)
{
	errcode_t err;

	memset(buf, 0, fs->blocksize);
	fill_header(fs, id, l, buf);
	err = e2q_raw_output_write(out, 0, buf, fs->blocksize);
	if (!err)
		err = write_super_and_descriptors(fs, out, l, buf);
	if (!err)
		err = write_inode_tables(fs, out, l, buf);
	if (!err)
		err = write_bitmaps(fs, out, l, buf);
	if (!err)
		err = e2q_raw_output_finish(out);
	return err;
}

errcode_t e2q_e2i_write(ext2_filsys fs, int fd, int is_stream,
			const struct e2q_e2i_identity *id,
			uint64_t *bytes_written)
{
	struct e2q_e2i_layout l;
	e2q_raw_output *out = NULL;
	unsigned char *buf;
	errcode_t err;

	if (fs->group_desc == NULL)
		return EXT2_ET_NO_GDESC;
	err = e2q_e2i_plan(fs, &l);
	if (err)
		return err;
	buf = malloc(E2Q_E2I_BATCH_BYTES > fs->blocksize ?
		     E2Q_E2I_BATCH_BYTES : fs->blocksize);
	if (!buf)
		return ENOMEM;
	err = e2q_raw_output_new(fd, 0, l.size, fs->blocksize,
				 is_stream ? E2Q_RAW_STREAM : 0, &out);
	if (!err)
		err = write_parts(fs, out, id, &l, buf);
	if (bytes_written)
		*bytes_written = out ? e2q_raw_output_bytes_written(out) : 0;
	e2q_raw_output_free(out);
	free(buf);
	return err;
}
