/*
 * set_encrypted.c --- makes inodes of a test filesystem look encrypted
 * (fscrypt), for s_htree: no kernel key is needed to test what e2qcow -s
 * keeps.
 *
 * Usage: set_encrypted IMAGE INO...
 *
 * Each inode gets EXT4_ENCRYPT_FL and a v2 encryption context (xattr index
 * 9, name "c", in the inode: it must have no in-inode xattrs yet), all with
 * one master key identifier and a nonce made from the inode number.  A
 * symlink's target gets its first two bytes replaced by its length - 2,
 * as an encrypted target starts (the rest stands for the ciphertext).
 * Errors print and exit 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ext2fs/ext2fs.h>
#include <ext2fs/ext2_ext_attr.h>
#include <et/com_err.h>

#define CONTEXT_SIZE	40
#define INDEX_ENCRYPTION 9

static ext2_filsys fs;

static void check(errcode_t err, const char *what)
{
	if (err) {
		com_err("set_encrypted", err, "while %s", what);
		exit(1);
	}
}

static void make_context(ext2_ino_t ino, unsigned char *ctx)
{
	int i;

	memset(ctx, 0, CONTEXT_SIZE);
	ctx[0] = 2;		/* v2 */
	ctx[1] = 1;		/* contents: AES-256-XTS */
	ctx[2] = 4;		/* filenames: AES-256-CTS */
	ctx[3] = 2;		/* flags: padding 16 */
	for (i = 0; i < 16; i++) {
		ctx[8 + i] = (unsigned char) (0xa0 + i);	/* key id */
		ctx[24 + i] = (unsigned char) (ino * 7 + i);	/* nonce */
	}
}

static void add_context(ext2_ino_t ino, char *raw, unsigned int isize)
{
	struct ext2_inode_large *in = (struct ext2_inode_large *) raw;
	unsigned int start = EXT2_GOOD_OLD_INODE_SIZE + in->i_extra_isize;
	struct ext2_ext_attr_entry *e;
	unsigned int room, value_offs;
	__u32 magic = EXT2_EXT_ATTR_MAGIC;

	if (start + 4 + 20 + 4 + CONTEXT_SIZE > isize ||
	    *(__u32 *) (raw + start) == EXT2_EXT_ATTR_MAGIC) {
		fprintf(stderr, "set_encrypted: no room in inode %u\n", ino);
		exit(1);
	}
	memset(raw + start, 0, isize - start);
	memcpy(raw + start, &magic, 4);
	room = isize - start - 4;
	value_offs = room - CONTEXT_SIZE;
	e = (struct ext2_ext_attr_entry *) (raw + start + 4);
	e->e_name_len = 1;
	e->e_name_index = INDEX_ENCRYPTION;
	e->e_value_offs = (__u16) value_offs;
	e->e_value_size = CONTEXT_SIZE;
	memcpy((char *) (e + 1), "c", 1);
	make_context(ino, (unsigned char *) raw + start + 4 + value_offs);
}

static void mark_symlink_target(ext2_ino_t ino, struct ext2_inode *inode)
{
	unsigned int size = EXT2_I_SIZE(inode);
	char *buf;
	blk64_t blk;

	if (size < 3)
		return;
	if (ext2fs_is_fast_symlink(inode)) {
		((unsigned char *) inode->i_block)[0] = (unsigned char) (size - 2);
		((unsigned char *) inode->i_block)[1] = 0;
		return;
	}
	buf = malloc(fs->blocksize);
	check(buf ? 0 : EXT2_ET_NO_MEMORY, "allocating a block");
	check(ext2fs_bmap2(fs, ino, inode, NULL, 0, 0, NULL, &blk),
	      "mapping a symlink");
	check(io_channel_read_blk64(fs->io, blk, 1, buf), "reading a symlink");
	buf[0] = (char) ((size - 2) & 0xff);
	buf[1] = (char) ((size - 2) >> 8);
	check(io_channel_write_blk64(fs->io, blk, 1, buf), "writing a symlink");
	free(buf);
}

int main(int argc, char **argv)
{
	unsigned int isize;
	char *raw;
	int i;

	if (argc < 3) {
		fprintf(stderr, "usage: %s IMAGE INO...\n", argv[0]);
		return 1;
	}
	add_error_table(&et_ext2_error_table);
	check(ext2fs_open(argv[1], EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0,
			  unix_io_manager, &fs), "opening the image");
	isize = EXT2_INODE_SIZE(fs->super);
	raw = calloc(1, isize);
	check(raw ? 0 : EXT2_ET_NO_MEMORY, "allocating an inode");
	for (i = 2; i < argc; i++) {
		ext2_ino_t ino = (ext2_ino_t) strtoul(argv[i], NULL, 0);
		struct ext2_inode *inode = (struct ext2_inode *) raw;

		check(ext2fs_read_inode_full(fs, ino, inode, isize),
		      "reading an inode");
		if (LINUX_S_ISLNK(inode->i_mode))
			mark_symlink_target(ino, inode);
		inode->i_flags |= EXT4_ENCRYPT_FL;
		add_context(ino, raw, isize);
		check(ext2fs_write_inode_full(fs, ino, inode, isize),
		      "writing an inode");
	}
	free(raw);
	check(ext2fs_close_free(&fs), "closing the image");
	return 0;
}
