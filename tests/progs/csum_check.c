/*
 * csum_check.c --- the -s scrambler's own metadata_csum checksums
 * (lib/e2meta/scramble_csum.c) against libext2fs, the oracle, on a real
 * metadata_csum filesystem FS (opened read-only):
 *  - e2q_crc32c() against ext2fs_crc32c_le(), random seeds and lengths;
 *  - inodes: every inode of the first groups as stored, then mutated (random
 *    bytes, i_extra_isize of 0 to 32, zeroed): verify gives the same answer
 *    as ext2fs_inode_csum_verify(), set the same bytes as
 *    ext2fs_inode_csum_set();
 *  - directory blocks: leaves with a checksum tail built from random
 *    entries, then damaged (a rec_len changed, the tail changed, random
 *    bytes), and htree index blocks, for the root directory: the same as
 *    ext2fs_dir_block_csum_verify() and _set();
 *  - xattr blocks of random bytes: the same as ext2fs_ext_attr_block_csum_*.
 *
 * Usage: csum_check FS [ROUNDS]   Exits 1 at the first difference.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "e2meta/scramble_int.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static unsigned long compared;

static uint32_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t) (rng >> 32);
}

static void random_bytes(void *p, size_t n)
{
	unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		c[i] = (unsigned char) next_random();
}

static int differ(const char *what, long a, long b)
{
	compared++;
	if (a == b)
		return 0;
	printf("differ: %s: ours %ld, libext2fs %ld\n", what, a, b);
	return 1;
}

static int check_crc(unsigned long rounds)
{
	unsigned char buf[5000];
	unsigned long r;

	for (r = 0; r < rounds * 50; r++) {
		size_t len = next_random() % sizeof(buf), off = next_random() % 8;
		__u32 seed = next_random();

		random_bytes(buf, sizeof(buf));
		if (len + off > sizeof(buf))
			len = sizeof(buf) - off;
		if (differ("crc32c", e2q_crc32c(seed, buf + off, len),
			   ext2fs_crc32c_le(seed, buf + off, len)))
			return 1;
	}
	return 0;
}

static int check_inode(ext2_filsys fs, ext2_ino_t ino, char *raw)
{
	unsigned int isize = EXT2_INODE_SIZE(fs->super);
	char a[4096], b[4096];

	if (differ("inode verify",
		   e2q_inode_csum_verify(fs, ino, (struct ext2_inode_large *) raw),
		   ext2fs_inode_csum_verify(fs, ino,
					    (struct ext2_inode_large *) raw)))
		return 1;
	memcpy(a, raw, isize);
	memcpy(b, raw, isize);
	e2q_inode_csum_set(fs, ino, (struct ext2_inode_large *) a);
	ext2fs_inode_csum_set(fs, ino, (struct ext2_inode_large *) b);
	return differ("inode set", memcmp(a, b, isize), 0);
}

/* Every inode of the first groups, as stored and mutated. */
static int check_inodes(ext2_filsys fs, unsigned long rounds)
{
	unsigned int isize = EXT2_INODE_SIZE(fs->super);
	ext2_ino_t ino, last = fs->super->s_inodes_per_group * 2;
	char raw[4096];
	unsigned long r;

	if (last > fs->super->s_inodes_count)
		last = fs->super->s_inodes_count;
	if (isize > sizeof(raw))
		return 1;
	for (ino = 1; ino <= last; ino++) {
		if (ext2fs_read_inode_full(fs, ino, (struct ext2_inode *) raw,
					   isize) ||
		    check_inode(fs, ino, raw))
			return 1;
		for (r = 0; r < rounds / 8 + 1; r++) {
			struct ext2_inode_large *in = (struct ext2_inode_large *) raw;

			raw[next_random() % isize] = (char) next_random();
			if (isize > EXT2_GOOD_OLD_INODE_SIZE && r % 2)
				in->i_extra_isize = ext2fs_cpu_to_le16(
					(__u16) (next_random() % 33));
			if (check_inode(fs, ino, raw))
				return 1;
		}
		memset(raw, 0, sizeof(raw));
		if (check_inode(fs, ino, raw))
			return 1;
	}
	return 0;
}

/* A leaf of random entries, with a checksum tail when tail. */
static void make_leaf(ext2_filsys fs, char *buf, int tail)
{
	unsigned int bs = fs->blocksize, end = bs - (tail ? 12 : 0), off = 0;

	random_bytes(buf, bs);
	while (off < end) {
		struct ext2_dir_entry *de = (struct ext2_dir_entry *) (buf + off);
		unsigned int len = 12 + 4 * (next_random() % 40);

		if (len > end - off || end - off - len < 12)
			len = end - off;
		ext2fs_set_rec_len(fs, len, de);
		ext2fs_dirent_set_name_len(de, next_random() % (len - 7));
		off += len;
	}
	if (tail)
		ext2fs_initialize_dirent_tail(fs, EXT2_DIRENT_TAIL(buf, bs));
}

/* An htree node: an empty entry over the block, then count/limit. */
static void make_dx_node(ext2_filsys fs, char *buf)
{
	unsigned int bs = fs->blocksize;
	__u16 limit = (__u16) ((bs - 8 - 8) / 8), count = (__u16) (next_random() % limit);

	random_bytes(buf, bs);
	memset(buf, 0, 8);
	ext2fs_set_rec_len(fs, bs, (struct ext2_dir_entry *) buf);
	limit = ext2fs_cpu_to_le16(limit);
	count = ext2fs_cpu_to_le16(count);
	memcpy(buf + 8, &limit, 2);
	memcpy(buf + 10, &count, 2);
}

/* The scrambler's: its own for a leaf with a tail, else libext2fs's. */
static int dir_verify(ext2_filsys fs, ext2_ino_t dir, __u32 gen, char *buf)
{
	int ok = e2q_dir_leaf_csum_verify(fs, dir, gen, buf);

	return ok >= 0 ? ok : ext2fs_dir_block_csum_verify(fs, dir,
					(struct ext2_dir_entry *) buf);
}

static void dir_set(ext2_filsys fs, ext2_ino_t dir, __u32 gen, char *buf)
{
	if (e2q_dir_leaf_csum_set(fs, dir, gen, buf) < 0)
		ext2fs_dir_block_csum_set(fs, dir, (struct ext2_dir_entry *) buf);
}

static int check_dir_block(ext2_filsys fs, ext2_ino_t dir, __u32 gen,
			   char *buf)
{
	unsigned int bs = fs->blocksize;
	char *a = malloc(bs), *b = malloc(bs);
	int rc;

	rc = !a || !b ||
	     differ("dir verify", dir_verify(fs, dir, gen, buf),
		    ext2fs_dir_block_csum_verify(fs, dir,
						 (struct ext2_dir_entry *) buf));
	if (!rc) {
		memcpy(a, buf, bs);
		memcpy(b, buf, bs);
		dir_set(fs, dir, gen, a);
		ext2fs_dir_block_csum_set(fs, dir, (struct ext2_dir_entry *) b);
		rc = differ("dir set", memcmp(a, b, bs), 0);
	}
	free(a);
	free(b);
	return rc;
}

static int check_dirs(ext2_filsys fs, unsigned long rounds)
{
	unsigned int bs = fs->blocksize;
	char *buf = malloc(bs);
	struct ext2_inode inode;
	unsigned long r;
	int rc = 0;

	if (!buf || ext2fs_read_inode(fs, EXT2_ROOT_INO, &inode))
		return 1;
	for (r = 0; r < rounds * 20 && !rc; r++) {
		unsigned int kind = r % 5;

		if (kind == 4)
			make_dx_node(fs, buf);
		else
			make_leaf(fs, buf, kind != 3);
		if (kind == 1)		/* a rec_len changed */
			buf[4 + 12 * (next_random() % 4)] ^= (char) (1 << (next_random() % 8));
		if (kind == 2)		/* a byte anywhere */
			buf[next_random() % bs] = (char) next_random();
		/* the checksum right, then as it came */
		ext2fs_dir_block_csum_set(fs, EXT2_ROOT_INO,
					  (struct ext2_dir_entry *) buf);
		rc = check_dir_block(fs, EXT2_ROOT_INO, inode.i_generation, buf);
		buf[next_random() % bs] ^= 1;
		rc = rc || check_dir_block(fs, EXT2_ROOT_INO,
					   inode.i_generation, buf);
	}
	free(buf);
	return rc;
}

static int check_xattr_blocks(ext2_filsys fs, unsigned long rounds)
{
	unsigned int bs = fs->blocksize;
	char *a = malloc(bs), *b = malloc(bs);
	unsigned long r;
	int rc = !a || !b;

	for (r = 0; r < rounds * 20 && !rc; r++) {
		blk64_t blk = ((blk64_t) next_random() << 16) ^ next_random();

		random_bytes(a, bs);
		if (r % 2)
			ext2fs_ext_attr_block_csum_set(fs, 0, blk,
					(struct ext2_ext_attr_header *) a);
		rc = differ("xattr verify", e2q_xattr_block_csum_verify(fs, blk, a),
			    ext2fs_ext_attr_block_csum_verify(fs, 0, blk,
					(struct ext2_ext_attr_header *) a));
		memcpy(b, a, bs);
		e2q_xattr_block_csum_set(fs, blk, a);
		ext2fs_ext_attr_block_csum_set(fs, 0, blk,
					       (struct ext2_ext_attr_header *) b);
		rc = rc || differ("xattr set", memcmp(a, b, bs), 0);
	}
	free(a);
	free(b);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned long rounds = argc > 2 ? strtoul(argv[2], NULL, 0) : 20;
	ext2_filsys fs;

	if (argc < 2 || ext2fs_open(argv[1], EXT2_FLAG_64BITS, 0, 0,
				    unix_io_manager, &fs)) {
		fprintf(stderr, "usage: csum_check FS [ROUNDS]\n");
		return 2;
	}
	if (!ext2fs_has_feature_metadata_csum(fs->super)) {
		fprintf(stderr, "csum_check: %s has no metadata_csum\n", argv[1]);
		return 2;
	}
	if (check_crc(rounds) || check_inodes(fs, rounds) ||
	    check_dirs(fs, rounds) || check_xattr_blocks(fs, rounds))
		return 1;
	printf("%lu checksums and answers the same as libext2fs's\n", compared);
	ext2fs_close_free(&fs);
	return 0;
}
