/*
 * make_large_fs.c --- populate a freshly made ext4 image for the benchmark.
 *
 * Usage: make_large_fs_populate IMAGE TOPS SUBS FILES BIG BIGFILES FRAG FRAGEXT DATA
 *
 * Fills the filesystem through libext2fs directly (no kernel, no mount):
 *   TOPS top-level directories under the root, each with SUBS subdirectories,
 *   each holding FILES empty regular files;
 *   BIG large directories of BIGFILES files each (htree once e2fsck -D runs);
 *   FRAG fragmented files of FRAGEXT one-block extents each (extent trees
 *   with index blocks);
 *   DATA files of 16 blocks each whose blocks hold a non-zero pattern;
 *   a few slow symlinks.
 * Directory blocks are packed here and written whole (ext2fs_link rescans
 * the directory for every name, which is quadratic).  Directories are spread
 * round-robin over the block groups; their files go to the same group, every
 * other inode (see alloc_inode()).
 * Everything is deterministic: fixed times, fixed names, fixed order.
 *
 * The benchmark's own file: not part of e2qcow.  Errors print and exit 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ext2fs/ext2fs.h>
#include <et/com_err.h>

#define FIXED_TIME	1700000000U
#define DATA_BLOCKS	16
#define INODE_STRIDE	2

static ext2_filsys fs;
static unsigned long next_group;	/* round-robin group for new directories */
static ext2_ino_t *cursor;		/* per group: next inode index to try */

struct dent {
	ext2_ino_t ino;
	int type;			/* EXT2_FT_* */
	char name[32];
};

struct dent_list {
	struct dent *v;
	size_t n, cap;
};

static void die(errcode_t err, const char *what)
{
	com_err("make_large_fs", err, "while %s", what);
	exit(1);
}

static void list_add(struct dent_list *l, ext2_ino_t ino, int type,
		     const char *name)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			die(EXT2_ET_NO_MEMORY, "growing a name list");
	}
	l->v[l->n].ino = ino;
	l->v[l->n].type = type;
	snprintf(l->v[l->n].name, sizeof(l->v[l->n].name), "%s", name);
	l->n++;
}

/*
 * Take every INODE_STRIDE-th free inode of a group, moving on to the next
 * group when it is full: inode tables are used to their end, with holes,
 * as on a filesystem that has lived a while.  ext2fs_new_inode() would pack
 * each group from its start and leave the tails unused.
 */
static ext2_ino_t alloc_inode(unsigned long group, int mode)
{
	ext2_ino_t ipg = fs->super->s_inodes_per_group;
	unsigned long tries;
	ext2_ino_t ino;
	errcode_t err;

	for (tries = 0; tries < fs->group_desc_count; tries++) {
		while (cursor[group] < ipg) {
			ino = group * ipg + cursor[group] + 1;
			cursor[group] += INODE_STRIDE;
			if (ino >= EXT2_FIRST_INO(fs->super) &&
			    !ext2fs_test_inode_bitmap2(fs->inode_map, ino))
				goto found;
		}
		group = (group + 1) % fs->group_desc_count;
	}
	err = ext2fs_new_inode(fs, 0, mode, 0, &ino);
	if (err)
		die(err, "allocating an inode");
found:
	ext2fs_inode_alloc_stats2(fs, ino, +1, LINUX_S_ISDIR(mode));
	return ino;
}

static unsigned long group_of(ext2_ino_t ino)
{
	return (ino - 1) / fs->super->s_inodes_per_group;
}

static void init_inode(struct ext2_inode_large *inode, int mode, int links)
{
	struct ext3_extent_header *eh;

	memset(inode, 0, sizeof(*inode));
	inode->i_mode = mode;
	inode->i_links_count = links;
	inode->i_atime = inode->i_ctime = inode->i_mtime = FIXED_TIME;
	inode->i_crtime = FIXED_TIME;
	inode->i_extra_isize = sizeof(*inode) - EXT2_GOOD_OLD_INODE_SIZE;
	inode->i_flags = EXT4_EXTENTS_FL;
	eh = (struct ext3_extent_header *) inode->i_block;
	eh->eh_magic = ext2fs_cpu_to_le16(EXT3_EXT_MAGIC);
	eh->eh_max = ext2fs_cpu_to_le16((sizeof(inode->i_block) -
					 sizeof(*eh)) /
					sizeof(struct ext3_extent));
}

static void read_inode(ext2_ino_t ino, struct ext2_inode_large *inode)
{
	errcode_t err = ext2fs_read_inode_full(fs, ino,
					(struct ext2_inode *) inode,
					sizeof(*inode));
	if (err)
		die(err, "reading an inode");
}

static void write_inode(ext2_ino_t ino, struct ext2_inode_large *inode)
{
	errcode_t err = ext2fs_write_inode_full(fs, ino,
					(struct ext2_inode *) inode,
					sizeof(*inode));
	if (err)
		die(err, "writing an inode");
}

static void set_size(ext2_ino_t ino, blk64_t blocks)
{
	struct ext2_inode_large inode;
	errcode_t err;

	read_inode(ino, &inode);
	err = ext2fs_inode_size_set(fs, (struct ext2_inode *) &inode,
				    blocks * fs->blocksize);
	if (err)
		die(err, "setting a size");
	write_inode(ino, &inode);
}

static blk64_t map_block(ext2_ino_t ino, blk64_t lblk, int flags)
{
	blk64_t pblk = 0;
	errcode_t err = ext2fs_bmap2(fs, ino, NULL, NULL, flags, lblk,
				     NULL, &pblk);
	if (err)
		die(err, "mapping a block");
	return pblk;
}

/* Pack entries into directory blocks and write them; returns the count. */
static blk64_t write_dir_blocks(ext2_ino_t dir, const struct dent_list *l)
{
	int csum = ext2fs_has_feature_metadata_csum(fs->super) ?
		sizeof(struct ext2_dir_entry_tail) : 0;
	unsigned int limit = fs->blocksize - csum;
	char *buf = calloc(1, fs->blocksize);
	struct ext2_dir_entry *last = NULL;
	unsigned int off = 0;
	blk64_t lblk = 0;
	size_t i;
	errcode_t err;

	if (!buf)
		die(EXT2_ET_NO_MEMORY, "allocating a block");
	for (i = 0; i <= l->n; i++) {
		int len = i < l->n ? strlen(l->v[i].name) : 0;
		unsigned int rec = EXT2_DIR_REC_LEN(len);

		if (last && (i == l->n || off + rec > limit)) {
			/* close the block: the last entry takes the rest */
			ext2fs_set_rec_len(fs, limit - ((char *) last - buf),
					   last);
			if (csum)
				ext2fs_initialize_dirent_tail(fs,
					EXT2_DIRENT_TAIL(buf, fs->blocksize));
			err = ext2fs_fallocate(fs, EXT2_FALLOCATE_FORCE_INIT,
					       dir, NULL, ~0ULL, lblk, 1);
			if (err)
				die(err, "allocating a directory block");
			err = ext2fs_write_dir_block4(fs,
					map_block(dir, lblk, 0), buf, 0, dir);
			if (err)
				die(err, "writing a directory block");
			lblk++;
			memset(buf, 0, fs->blocksize);
			off = 0;
			last = NULL;
		}
		if (i == l->n)
			break;
		last = (struct ext2_dir_entry *) (buf + off);
		last->inode = l->v[i].ino;
		ext2fs_dirent_set_name_len(last, len);
		ext2fs_dirent_set_file_type(last, l->v[i].type);
		memcpy(last->name, l->v[i].name, len);
		ext2fs_set_rec_len(fs, rec, last);
		off += rec;
	}
	free(buf);
	return lblk;
}

static ext2_ino_t make_file(ext2_ino_t dir)
{
	struct ext2_inode_large inode;
	ext2_ino_t ino = alloc_inode(group_of(dir), LINUX_S_IFREG | 0644);

	init_inode(&inode, LINUX_S_IFREG | 0644, 1);
	write_inode(ino, &inode);
	return ino;
}

/* A file whose every other logical block is mapped: one extent each. */
static ext2_ino_t make_fragmented_file(ext2_ino_t dir, blk64_t extents)
{
	ext2_ino_t ino = make_file(dir);
	blk64_t i;

	for (i = 0; i < extents; i++)
		map_block(ino, 2 * i, BMAP_ALLOC);
	set_size(ino, 2 * extents);
	return ino;
}

static ext2_ino_t make_data_file(ext2_ino_t dir, unsigned long seed)
{
	ext2_ino_t ino = make_file(dir);
	char *buf = malloc(fs->blocksize);
	errcode_t err;
	blk64_t i;

	if (!buf)
		die(EXT2_ET_NO_MEMORY, "allocating a block");
	err = ext2fs_fallocate(fs, EXT2_FALLOCATE_FORCE_INIT, ino, NULL,
			       ~0ULL, 0, DATA_BLOCKS);
	if (err)
		die(err, "allocating data blocks");
	for (i = 0; i < DATA_BLOCKS; i++) {
		memset(buf, (int) (1 + (seed + i) % 255), fs->blocksize);
		err = io_channel_write_blk64(fs->io, map_block(ino, i, 0),
					     1, buf);
		if (err)
			die(err, "writing a data block");
	}
	set_size(ino, DATA_BLOCKS);
	free(buf);
	return ino;
}

struct dir_spec {
	unsigned long subs;		/* subdirectories, each a leaf dir */
	unsigned long files;		/* empty files here */
	unsigned long sub_files;	/* empty files in each subdirectory */
	unsigned long frag, frag_ext;	/* fragmented files here */
	unsigned long data;		/* data files here */
};

/* Make a directory with its whole subtree; returns its inode. */
static ext2_ino_t make_dir(ext2_ino_t parent, const struct dir_spec *s)
{
	struct dent_list l = { 0 };
	struct ext2_inode_large inode;
	struct dir_spec leaf = { .files = s->sub_files };
	ext2_ino_t dir = alloc_inode(next_group, LINUX_S_IFDIR | 0755);
	char name[32];
	unsigned long i;

	next_group = (next_group + 1) % fs->group_desc_count;
	init_inode(&inode, LINUX_S_IFDIR | 0755, 2 + s->subs);
	write_inode(dir, &inode);
	list_add(&l, dir, EXT2_FT_DIR, ".");
	list_add(&l, parent, EXT2_FT_DIR, "..");
	for (i = 0; i < s->subs; i++) {
		snprintf(name, sizeof(name), "d%05lu", i);
		list_add(&l, make_dir(dir, &leaf), EXT2_FT_DIR, name);
	}
	for (i = 0; i < s->files; i++) {
		snprintf(name, sizeof(name), "file-%07lu", i);
		list_add(&l, make_file(dir), EXT2_FT_REG_FILE, name);
	}
	for (i = 0; i < s->frag; i++) {
		snprintf(name, sizeof(name), "frag-%04lu", i);
		list_add(&l, make_fragmented_file(dir, s->frag_ext),
			 EXT2_FT_REG_FILE, name);
	}
	for (i = 0; i < s->data; i++) {
		snprintf(name, sizeof(name), "data-%05lu", i);
		list_add(&l, make_data_file(dir, i), EXT2_FT_REG_FILE, name);
	}
	set_size(dir, write_dir_blocks(dir, &l));
	free(l.v);
	return dir;
}

/* Link an entry into the root, expanding it when full. */
static void link_root(const char *name, ext2_ino_t ino, int type)
{
	errcode_t err = ext2fs_link(fs, EXT2_ROOT_INO, name, ino, type);

	if (err == EXT2_ET_DIR_NO_SPACE) {
		err = ext2fs_expand_dir(fs, EXT2_ROOT_INO);
		if (!err)
			err = ext2fs_link(fs, EXT2_ROOT_INO, name, ino, type);
	}
	if (err)
		die(err, "linking into the root");
}

static void add_root_dir(const char *name, const struct dir_spec *s)
{
	struct ext2_inode_large root;

	link_root(name, make_dir(EXT2_ROOT_INO, s), EXT2_FT_DIR);
	read_inode(EXT2_ROOT_INO, &root);
	root.i_links_count++;
	write_inode(EXT2_ROOT_INO, &root);
}

static void add_symlinks(void)
{
	char name[32], target[200];
	errcode_t err;
	int i;

	for (i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "link-%02d", i);
		snprintf(target, sizeof(target),
			 "top%04d/d%05d/a-target-name-long-enough-to-need-"
			 "a-block-of-its-own-%0100d", i, i, i);
		err = ext2fs_symlink(fs, EXT2_ROOT_INO, 0, name, target);
		if (err == EXT2_ET_DIR_NO_SPACE) {
			err = ext2fs_expand_dir(fs, EXT2_ROOT_INO);
			if (!err)
				err = ext2fs_symlink(fs, EXT2_ROOT_INO, 0,
						     name, target);
		}
		if (err)
			die(err, "making a symlink");
	}
}

int main(int argc, char **argv)
{
	unsigned long a[8];
	char name[32];
	errcode_t err;
	int i;

	if (argc != 10) {
		fprintf(stderr, "usage: %s IMAGE TOPS SUBS FILES BIG BIGFILES "
			"FRAG FRAGEXT DATA\n", argv[0]);
		return 1;
	}
	for (i = 0; i < 8; i++)
		a[i] = strtoul(argv[i + 2], NULL, 0);
	add_error_table(&et_ext2_error_table);
	err = ext2fs_open(argv[1], EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0,
			  unix_io_manager, &fs);
	if (err)
		die(err, "opening the image");
	err = ext2fs_read_bitmaps(fs);
	if (err)
		die(err, "reading the bitmaps");
	fs->now = FIXED_TIME;
	cursor = calloc(fs->group_desc_count, sizeof(*cursor));
	if (!cursor)
		die(EXT2_ET_NO_MEMORY, "allocating the group cursors");

	struct dir_spec top = { .subs = a[1], .sub_files = a[2] };
	struct dir_spec big = { .files = a[4] };
	struct dir_spec odd = { .frag = a[5], .frag_ext = a[6],
				.data = a[7] };

	for (i = 0; i < (int) a[0]; i++) {
		snprintf(name, sizeof(name), "top%04d", i);
		add_root_dir(name, &top);
	}
	for (i = 0; i < (int) a[3]; i++) {
		snprintf(name, sizeof(name), "big%02d", i);
		add_root_dir(name, &big);
	}
	add_root_dir("odd", &odd);
	add_symlinks();
	err = ext2fs_close_free(&fs);
	if (err)
		die(err, "closing the image");
	return 0;
}
