/*
 * qcowio_compare.c --- opens the same filesystem twice, from a qcow image
 * through e2q_qcow_io_manager and from the raw image through unix_io, and
 * compares what libext2fs sees: superblock, group descriptors, every inode
 * of an inode scan, every directory listing, the block and inode bitmaps.
 *
 *   qcowio_compare IMAGE RAW        exit 0 same, 1 different, 2 error
 *
 * A raw image converted by qemu-img from IMAGE is the reference.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <ext2fs/ext2fs.h>

#include "qcowio/qcow_io.h"
#include "e2q_err.h"

struct digest {
	uLong crc;
	unsigned long long count;
};

static void add(struct digest *d, const void *p, size_t len)
{
	d->crc = crc32(d->crc, p, (uInt) len);
	d->count++;
}

struct dir_walk {
	struct digest *d;
	ext2_ino_t dir;
};

static int dir_entry(ext2_ino_t dir, int entry, struct ext2_dir_entry *de,
		     int offset, int blocksize, char *buf, void *priv)
{
	struct dir_walk *w = priv;

	(void) dir; (void) entry; (void) offset; (void) blocksize; (void) buf;
	add(w->d, &w->dir, sizeof(w->dir));
	add(w->d, &de->inode, sizeof(de->inode));
	add(w->d, de->name, ext2fs_dirent_name_len(de));
	return 0;
}

static errcode_t digest_fs(ext2_filsys fs, struct digest *d)
{
	int isize = EXT2_INODE_SIZE(fs->super);
	struct ext2_inode_large *inode = calloc(1, isize);
	ext2_inode_scan scan;
	ext2_ino_t ino;
	dgrp_t g;
	errcode_t err;

	if (!inode)
		return ENOMEM;
	add(d, fs->super, SUPERBLOCK_SIZE);
	for (g = 0; g < fs->group_desc_count; g++)
		add(d, ext2fs_group_desc(fs, fs->group_desc, g),
		    EXT2_DESC_SIZE(fs->super));
	err = ext2fs_open_inode_scan(fs, 0, &scan);
	if (err) {
		free(inode);
		return err;
	}
	while (!err) {
		err = ext2fs_get_next_inode_full(scan, &ino,
				(struct ext2_inode *) inode, isize);
		if (err || !ino)
			break;
		add(d, &ino, sizeof(ino));
		add(d, inode, isize);
		if (inode->i_links_count && LINUX_S_ISDIR(inode->i_mode)) {
			struct dir_walk w = { d, ino };

			err = ext2fs_dir_iterate2(fs, ino, 0, NULL, dir_entry,
						  &w);
		}
	}
	ext2fs_close_inode_scan(scan);
	if (!err)
		err = ext2fs_read_bitmaps(fs);
	if (!err) {
		unsigned long long b;

		for (b = fs->super->s_first_data_block;
		     b < ext2fs_blocks_count(fs->super); b++)
			if (ext2fs_test_block_bitmap2(fs->block_map, b))
				add(d, &b, sizeof(b));
		for (ino = 1; ino <= fs->super->s_inodes_count; ino++)
			if (ext2fs_test_inode_bitmap2(fs->inode_map, ino))
				add(d, &ino, sizeof(ino));
	}
	free(inode);
	return err;
}

static int open_and_digest(const char *name, io_manager io, struct digest *d)
{
	ext2_filsys fs;
	errcode_t err;
	struct e2q_qcow_problem problem;

	err = ext2fs_open2(name, NULL, EXT2_FLAG_64BITS, 0, 0, io, &fs);
	if (err) {
		if (e2q_qcow_io_last_problem(NULL, &problem))
			fprintf(stderr, "%s: %s at offset %llu: %s\n", name,
				problem.structure,
				(unsigned long long) problem.offset,
				error_message(err));
		else
			fprintf(stderr, "%s: %s\n", name, error_message(err));
		return 2;
	}
	err = digest_fs(fs, d);
	ext2fs_close_free(&fs);
	if (err) {
		fprintf(stderr, "%s: %s\n", name, error_message(err));
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct digest q = { 0, 0 }, r = { 0, 0 };
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: qcowio_compare IMAGE RAW\n");
		return 2;
	}
	add_error_table(&et_ext2_error_table);
	add_error_table(&et_e2q_error_table);
	rc = open_and_digest(argv[1], e2q_qcow_io_manager, &q);
	if (!rc)
		rc = open_and_digest(argv[2], unix_io_manager, &r);
	if (rc)
		return rc;
	printf("%s: %llu items, crc %08lx; %s: %llu items, crc %08lx\n",
	       argv[1], q.count, (unsigned long) q.crc, argv[2], r.count,
	       (unsigned long) r.crc);
	return q.count == r.count && q.crc == r.crc ? 0 : 1;
}
