/*
 * make_big_dir.c --- adds a directory of many names to a test filesystem,
 * fast and deterministically, for the htree tests (s_htree).
 *
 * Usage: make_big_dir IMAGE DIRNAME COUNT NAMELEN
 *
 * Creates /DIRNAME holding COUNT hard links (at most 65000) to one new
 * empty file, named "nNNNNNN_" followed by a fixed pattern up to NAMELEN
 * characters (8 <= NAMELEN <= 255).  The entries are packed into linear
 * directory blocks written whole (ext2fs_link rescans the directory for
 * each name, which is quadratic); `e2fsck -fyD` then builds the htree.
 * Errors print and exit 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ext2fs/ext2fs.h>
#include <et/com_err.h>

static ext2_filsys fs;

static void check(errcode_t err, const char *what)
{
	if (err) {
		com_err("make_big_dir", err, "while %s", what);
		exit(1);
	}
}

static void make_name(unsigned long i, unsigned int len, char *name)
{
	static const char pattern[] = "abcdefghijklmnopqrstuvwxyz";
	unsigned int k;

	snprintf(name, 10, "n%06lu_", i);
	for (k = 8; k < len; k++)
		name[k] = pattern[(k + i) % 26];
	name[len] = 0;
}

/* Writes the dirents of names [first, count) into lblk on; returns lblk. */
static blk64_t write_entries(ext2_ino_t dir, ext2_ino_t file,
			     unsigned long count, unsigned int len,
			     blk64_t lblk)
{
	unsigned int csum = ext2fs_has_feature_metadata_csum(fs->super) ?
			    sizeof(struct ext2_dir_entry_tail) : 0;
	unsigned int limit = fs->blocksize - csum, off = 0;
	unsigned int rec = EXT2_DIR_REC_LEN(len);
	struct ext2_dir_entry *last = NULL;
	char *buf = calloc(1, fs->blocksize), name[256];
	unsigned long i;
	blk64_t pblk;

	for (i = 0; i <= count; i++) {
		if (last && (i == count || off + rec > limit)) {
			ext2fs_set_rec_len(fs, limit - ((char *) last - buf), last);
			if (csum)
				ext2fs_initialize_dirent_tail(fs,
					EXT2_DIRENT_TAIL(buf, fs->blocksize));
			check(ext2fs_fallocate(fs, EXT2_FALLOCATE_FORCE_INIT,
					       dir, NULL, ~0ULL, lblk, 1),
			      "allocating a directory block");
			check(ext2fs_bmap2(fs, dir, NULL, NULL, 0, lblk, NULL,
					   &pblk), "mapping a block");
			check(ext2fs_write_dir_block4(fs, pblk, buf, 0, dir),
			      "writing a directory block");
			lblk++;
			memset(buf, 0, fs->blocksize);
			off = 0;
			last = NULL;
		}
		if (i == count)
			break;
		make_name(i, len, name);
		last = (struct ext2_dir_entry *) (buf + off);
		last->inode = file;
		ext2fs_dirent_set_name_len(last, (int) len);
		ext2fs_dirent_set_file_type(last, EXT2_FT_REG_FILE);
		memcpy(last->name, name, len);
		ext2fs_set_rec_len(fs, rec, last);
		off += rec;
	}
	free(buf);
	return lblk;
}

int main(int argc, char **argv)
{
	struct ext2_inode inode;
	ext2_ino_t dir, file;
	unsigned long count;
	unsigned int len;
	blk64_t blocks;

	if (argc != 5) {
		fprintf(stderr, "usage: %s IMAGE DIRNAME COUNT NAMELEN\n", argv[0]);
		return 1;
	}
	count = strtoul(argv[3], NULL, 0);
	len = (unsigned int) strtoul(argv[4], NULL, 0);
	if (count > 65000 || len < 8 || len > 255) {
		fprintf(stderr, "make_big_dir: COUNT <= 65000, 8 <= NAMELEN <= 255\n");
		return 1;
	}
	add_error_table(&et_ext2_error_table);
	check(ext2fs_open(argv[1], EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0,
			  unix_io_manager, &fs), "opening the image");
	check(ext2fs_read_bitmaps(fs), "reading the bitmaps");
	check(ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, argv[2]), "making the directory");
	check(ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, argv[2], &dir),
	      "finding the directory");
	check(ext2fs_new_inode(fs, dir, LINUX_S_IFREG | 0644, NULL, &file),
	      "allocating an inode");
	memset(&inode, 0, sizeof(inode));
	inode.i_mode = LINUX_S_IFREG | 0644;
	inode.i_links_count = (__u16) count;
	inode.i_atime = inode.i_ctime = inode.i_mtime = fs->now ? fs->now : 1700000000;
	check(ext2fs_write_new_inode(fs, file, &inode), "writing the file");
	ext2fs_inode_alloc_stats2(fs, file, +1, 0);
	blocks = write_entries(dir, file, count, len, 1);
	check(ext2fs_read_inode(fs, dir, &inode), "reading the directory");
	check(ext2fs_inode_size_set(fs, &inode, blocks * fs->blocksize),
	      "setting the directory size");
	check(ext2fs_write_inode(fs, dir, &inode), "writing the directory");
	check(ext2fs_close_free(&fs), "closing the image");
	return 0;
}
