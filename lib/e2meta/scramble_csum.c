/*
 * scramble_csum.c --- the metadata_csum checksums that -s verifies on the
 * original bytes and sets on the scrambled ones, per inode, directory leaf
 * and xattr block: the same values as libext2fs's ext2fs_*_csum_verify()
 * and ext2fs_*_csum_set(), with the crc32c computed by the CPU's crc32
 * instruction where it has one (SSE 4.2).  libext2fs's table-driven crc32c
 * was 14% of the instructions of -Q -s on the benchmark's filesystem
 * (two checksums of 4 KiB per directory block, two of 256 bytes per inode
 * that changes).
 *
 * The layouts (ext4's on-disk format):
 *  - inode: crc32c from the filesystem's seed over the inode number (le32),
 *    the inode's i_generation as stored, then the inode_size bytes of the
 *    inode with i_checksum_lo, and i_checksum_hi when i_extra_isize covers
 *    it, taken as zero; the low 16 bits are stored when there is no
 *    i_checksum_hi.  An inode whose first 128 bytes are zero verifies.
 *  - directory leaf with a checksum tail (the 12 bytes at the end of the
 *    block, found by following rec_len from the first entry): over the
 *    directory's inode number and i_generation (le32), then the block up
 *    to the tail; stored in the tail.  Other directory blocks (htree index
 *    blocks, blocks without a tail) go to libext2fs.
 *  - xattr block: over the block number (le64), then the block with
 *    h_checksum taken as zero.
 */
#include "config.h"

#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "e2meta/scramble_int.h"

#define DIR_TAIL_SIZE		12
#define DIR_TAIL_NAME_LEN	0xde00	/* EXT2_DIR_NAME_LEN_CSUM */
#define CSUM_HI_EXTRA_END	4	/* i_extra_isize that holds _hi */

/* ------------------------------------------------------------------ */
/* crc32c */

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_CRC32_INSN 1

__attribute__((target("sse4.2")))
static __u32 crc32c_insn(__u32 crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;

	for (; len >= 8; len -= 8, p += 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	crc = (__u32) c;
	for (; len; len--, p++)
		crc = __builtin_ia32_crc32qi(crc, *p);
	return crc;
}

static int crc32_insn;		/* set once: the CPU has SSE 4.2 */
static pthread_once_t crc32_once = PTHREAD_ONCE_INIT;

static void probe_crc32_insn(void)
{
	__builtin_cpu_init();
	crc32_insn = __builtin_cpu_supports("sse4.2") != 0;
}

static int has_crc32_insn(void)
{
	pthread_once(&crc32_once, probe_crc32_insn);
	return crc32_insn;
}
#endif

/* ext2fs_crc32c_le(): crc32c (Castagnoli) from crc, no final inversion. */
__u32 e2q_crc32c(__u32 crc, const void *buf, size_t len)
{
#ifdef HAVE_CRC32_INSN
	if (has_crc32_insn())
		return crc32c_insn(crc, buf, len);
#endif
	return ext2fs_crc32c_le(crc, buf, len);
}

static __u32 crc32c_le32(__u32 crc, __u32 v)
{
	__u32 le = ext2fs_cpu_to_le32(v);

	return e2q_crc32c(crc, &le, sizeof(le));
}

/* crc over buf[from, to) with the 2 bytes at hole (when from <= hole) as 0 */
static __u32 crc32c_holed(__u32 crc, const char *buf, size_t from, size_t to,
			  size_t hole)
{
	static const unsigned char zero[2];

	if (hole < from || hole + 2 > to)
		return e2q_crc32c(crc, buf + from, to - from);
	crc = e2q_crc32c(crc, buf + from, hole - from);
	crc = e2q_crc32c(crc, zero, 2);
	return e2q_crc32c(crc, buf + hole + 2, to - hole - 2);
}

/* ------------------------------------------------------------------ */
/* inodes */

static int inode_has_csum_hi(ext2_filsys fs, const struct ext2_inode_large *in)
{
	return EXT2_INODE_SIZE(fs->super) > EXT2_GOOD_OLD_INODE_SIZE &&
	       ext2fs_le16_to_cpu(in->i_extra_isize) >= CSUM_HI_EXTRA_END;
}

/*
 * Over a copy with the checksum fields zeroed, in one pass; inodes larger
 * than the copy (up to a block) in pieces around the fields.
 */
static __u32 inode_csum(ext2_filsys fs, ext2_ino_t ino,
			const struct ext2_inode_large *in, int has_hi)
{
	const char *raw = (const char *) in;
	size_t size = EXT2_INODE_SIZE(fs->super);
	size_t lo = offsetof(struct ext2_inode_large, i_checksum_lo);
	size_t hi = offsetof(struct ext2_inode_large, i_checksum_hi);
	union {
		struct ext2_inode_large in;
		char raw[1024];
	} copy;
	__u32 crc;

	crc = crc32c_le32(fs->csum_seed, ino);
	crc = e2q_crc32c(crc, &in->i_generation, sizeof(in->i_generation));
	if (size <= sizeof(copy)) {
		memcpy(copy.raw, in, size);
		copy.in.i_checksum_lo = 0;
		if (has_hi)
			copy.in.i_checksum_hi = 0;
		return e2q_crc32c(crc, copy.raw, size);
	}
	crc = crc32c_holed(crc, raw, 0, lo + 2, lo);
	return crc32c_holed(crc, raw, lo + 2, size, has_hi ? hi : size);
}

int e2q_inode_csum_verify(ext2_filsys fs, ext2_ino_t ino,
			  const struct ext2_inode_large *in)
{
	int has_hi = inode_has_csum_hi(fs, in);
	__u32 want = ext2fs_le16_to_cpu(in->i_checksum_lo);
	__u32 got = inode_csum(fs, ino, in, has_hi);
	const char *raw = (const char *) in;
	size_t i;

	if (has_hi)
		want |= (__u32) ext2fs_le16_to_cpu(in->i_checksum_hi) << 16;
	else
		got &= 0xffff;
	if (want == got)
		return 1;
	for (i = 0; i < sizeof(struct ext2_inode); i++)
		if (raw[i])
			return 0;
	return 1;		/* a zeroed inode */
}

void e2q_inode_csum_set(ext2_filsys fs, ext2_ino_t ino,
			struct ext2_inode_large *in)
{
	int has_hi = inode_has_csum_hi(fs, in);
	__u32 crc = inode_csum(fs, ino, in, has_hi);

	in->i_checksum_lo = ext2fs_cpu_to_le16(crc & 0xffff);
	if (has_hi)
		in->i_checksum_hi = ext2fs_cpu_to_le16(crc >> 16);
}

/* ------------------------------------------------------------------ */
/* directory leaves */

static unsigned int get_le16(const char *p)
{
	__u16 v;

	memcpy(&v, p, 2);
	return ext2fs_le16_to_cpu(v);
}

/*
 * Where the checksum tail of a leaf is, following rec_len (as stored) from
 * the first entry: it must start exactly bs - 12 bytes in and look like a
 * tail.  0 when the block has none.
 */
static unsigned int dir_tail(ext2_filsys fs, const char *buf)
{
	unsigned int bs = fs->blocksize, top = bs - DIR_TAIL_SIZE, off = 0;
	__u32 zero1;

	while (off < top) {
		unsigned int rec_len = get_le16(buf + off + 4);

		if (rec_len < 8 || rec_len % 4)
			return 0;
		off += rec_len;
	}
	if (off != top)
		return 0;
	memcpy(&zero1, buf + top, 4);
	if (zero1 || get_le16(buf + top + 4) != DIR_TAIL_SIZE ||
	    get_le16(buf + top + 6) != DIR_TAIL_NAME_LEN)
		return 0;
	return top;
}

static __u32 dir_leaf_csum(ext2_filsys fs, ext2_ino_t dir, __u32 gen,
			   const char *buf, unsigned int tail)
{
	__u32 crc = crc32c_le32(fs->csum_seed, dir);

	crc = crc32c_le32(crc, gen);
	return e2q_crc32c(crc, buf, tail);
}

int e2q_dir_leaf_csum_verify(ext2_filsys fs, ext2_ino_t dir, __u32 gen,
			     const char *buf)
{
	unsigned int tail = dir_tail(fs, buf);
	__u32 stored;

	if (!tail)
		return -1;
	memcpy(&stored, buf + tail + 8, 4);
	return ext2fs_le32_to_cpu(stored) ==
	       dir_leaf_csum(fs, dir, gen, buf, tail);
}

int e2q_dir_leaf_csum_set(ext2_filsys fs, ext2_ino_t dir, __u32 gen,
			  char *buf)
{
	unsigned int tail = dir_tail(fs, buf);
	__u32 crc;

	if (!tail)
		return -1;
	crc = ext2fs_cpu_to_le32(dir_leaf_csum(fs, dir, gen, buf, tail));
	memcpy(buf + tail + 8, &crc, 4);
	return 0;
}

/* ------------------------------------------------------------------ */
/* xattr blocks */

static __u32 xattr_block_csum(ext2_filsys fs, blk64_t blk, const char *buf)
{
	size_t at = offsetof(struct ext2_ext_attr_header, h_checksum);
	uint64_t le = ext2fs_cpu_to_le64(blk);
	static const unsigned char zero[4];
	__u32 crc;

	crc = e2q_crc32c(fs->csum_seed, &le, sizeof(le));
	crc = e2q_crc32c(crc, buf, at);
	crc = e2q_crc32c(crc, zero, sizeof(zero));
	return e2q_crc32c(crc, buf + at + 4, fs->blocksize - at - 4);
}

int e2q_xattr_block_csum_verify(ext2_filsys fs, blk64_t blk, const char *buf)
{
	const struct ext2_ext_attr_header *h =
		(const struct ext2_ext_attr_header *) buf;

	return ext2fs_le32_to_cpu(h->h_checksum) ==
	       xattr_block_csum(fs, blk, buf);
}

void e2q_xattr_block_csum_set(ext2_filsys fs, blk64_t blk, char *buf)
{
	struct ext2_ext_attr_header *h = (struct ext2_ext_attr_header *) buf;

	h->h_checksum = ext2fs_cpu_to_le32(xattr_block_csum(fs, blk, buf));
}
