/*
 * scramble_dirs.c --- renames directory entries, and makes htree
 * directories linear, in directory block buffers.
 *
 * New names: the n-th name of length L made in a directory is n written in
 * base 62 over L characters (a different digit-to-letter shuffle at each
 * position), so names are unique in their directory, deterministic, and
 * never "." or ".." (no dot in the alphabet).  A linear directory needs no
 * hash order, which is why htree directories are made linear rather than
 * keeping an index whose hashes would no longer match the names.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "e2meta/scramble_int.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
#define ALPHABET_SIZE	62
#define DIRENT_HEADER	8
#define DX_INFO_LENGTH_OFFSET	29	/* dx_root_info.info_length */

static uint64_t hash_key(uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	return key ^ (key >> 33);
}

static int grow_counters(e2q_scrambler *s)
{
	size_t i, cap = s->counters_cap ? s->counters_cap * 2 : 1024;
	struct name_counter *old = s->counters, *t = calloc(cap, sizeof(*t));

	if (!t)
		return -1;
	for (i = 0; i < s->counters_cap; i++) {
		size_t j = hash_key(old[i].key) & (cap - 1);

		if (!old[i].key)
			continue;
		while (t[j].key)
			j = (j + 1) & (cap - 1);
		t[j] = old[i];
	}
	free(old);
	s->counters = t;
	s->counters_cap = cap;
	return 0;
}

/* The counter of names of length len in dir; NULL when out of memory. */
static struct name_counter *counter_of(e2q_scrambler *s, ext2_ino_t dir,
				       unsigned int len)
{
	uint64_t key = ((uint64_t) dir << 8) | len;
	size_t j;

	if (2 * (s->ncounters + 1) > s->counters_cap && grow_counters(s))
		return NULL;
	j = hash_key(key) & (s->counters_cap - 1);
	while (s->counters[j].key && s->counters[j].key != key)
		j = (j + 1) & (s->counters_cap - 1);
	if (!s->counters[j].key) {
		s->counters[j].key = key;
		s->ncounters++;
	}
	return &s->counters[j];
}

void e2q_scramble_name_counters_free(e2q_scrambler *s)
{
	free(s->counters);
	s->counters = NULL;
	s->counters_cap = s->ncounters = 0;
}

/* Writes name number n of length len; 0, or -1 when n does not fit. */
static int make_name(uint32_t n, char *name, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++) {
		name[i] = alphabet[(n % ALPHABET_SIZE + 7 * i + len) %
				   ALPHABET_SIZE];
		n /= ALPHABET_SIZE;
	}
	return n ? -1 : 0;
}

static int keeps_name(ext2_ino_t dir, const char *name, unsigned int len)
{
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return 1;
	return dir == EXT2_ROOT_INO && len == 10 &&
	       memcmp(name, "lost+found", 10) == 0;
}

static void rename_entry(e2q_scrambler *s, ext2_ino_t dir, char *name,
			 unsigned int len)
{
	struct name_counter *c;
	char fresh[EXT2_NAME_LEN];

	if (keeps_name(dir, name, len))
		return;
	c = counter_of(s, dir, len);
	if (!c) {
		s->err = ENOMEM;
		return;
	}
	if (make_name(c->next, fresh, len))
		return;		/* more names of this length than names */
	c->next++;
	if (s->opts.renamed && s->pass == 0) {
		char old[EXT2_NAME_LEN + 1], new[EXT2_NAME_LEN + 1];

		memcpy(old, name, len);
		memcpy(new, fresh, len);
		old[len] = new[len] = 0;
		s->opts.renamed(s->opts.priv, dir, old, new, len);
	}
	memcpy(name, fresh, len);
	s->stats.names++;
}

/* Unparseable bytes of a garbled directory: letters and digits replaced. */
static void scrub_bytes(char *p, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		if ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
		    (p[i] >= '0' && p[i] <= '9'))
			p[i] = 'x';
}

static unsigned int record_length(e2q_scrambler *s, struct ext2_dir_entry *de,
				  int block_rec_len)
{
	unsigned int rec_len;

	if (!block_rec_len)
		return ext2fs_le16_to_cpu(de->rec_len);
	if (ext2fs_get_rec_len(s->fs, de, &rec_len))
		return 0;
	return rec_len;
}

/*
 * Renames the entries of buf[0, len) and zeroes the bytes after each name;
 * block_rec_len: rec_len as in blocks (65536 encoded), not inline data.
 */
void e2q_scramble_dirents(e2q_scrambler *s, ext2_ino_t dir, char *buf,
			 unsigned int len, int block_rec_len)
{
	unsigned int off = 0;

	while (off + DIRENT_HEADER <= len) {
		struct ext2_dir_entry *de = (struct ext2_dir_entry *) (buf + off);
		unsigned int rec_len = record_length(s, de, block_rec_len);
		unsigned int name_len = ext2fs_dirent_name_len(de);

		if (rec_len < DIRENT_HEADER || rec_len % 4 || rec_len > len - off ||
		    name_len + DIRENT_HEADER > rec_len)
			break;
		if (de->inode)
			rename_entry(s, dir, de->name, name_len);
		else
			memset(de->name, 0, name_len);
		memset(de->name + name_len, 0, rec_len - DIRENT_HEADER - name_len);
		off += rec_len;
	}
	scrub_bytes(buf + off, len - off);
}

static int has_dirent_tail(ext2_filsys fs, char *buf)
{
	struct ext2_dir_entry_tail *t = EXT2_DIRENT_TAIL(buf, fs->blocksize);

	return ext2fs_has_feature_metadata_csum(fs->super) &&
	       t->det_reserved_zero1 == 0 &&
	       ext2fs_le16_to_cpu(t->det_rec_len) == sizeof(*t) &&
	       ext2fs_le16_to_cpu(t->det_reserved_name_len) == EXT2_DIR_NAME_LEN_CSUM;
}

static int is_dx_root(e2q_scrambler *s, char *buf)
{
	struct ext2_dir_entry *dot = (struct ext2_dir_entry *) buf;
	struct ext2_dir_entry *dotdot = (struct ext2_dir_entry *) (buf + 12);
	unsigned int rec_len;

	if (ext2fs_dirent_name_len(dot) != 1 || dot->name[0] != '.' ||
	    ext2fs_le16_to_cpu(dot->rec_len) != 12 ||
	    ext2fs_dirent_name_len(dotdot) != 2 ||
	    memcmp(dotdot->name, "..", 2) != 0 ||
	    ext2fs_get_rec_len(s->fs, dotdot, &rec_len) ||
	    rec_len != s->fs->blocksize - 12)
		return 0;
	return *(__u32 *) (buf + 24) == 0 &&
	       (unsigned char) buf[DX_INFO_LENGTH_OFFSET] == 8;
}

static int is_dx_node(e2q_scrambler *s, char *buf)
{
	struct ext2_dir_entry *de = (struct ext2_dir_entry *) buf;
	unsigned int rec_len;

	return de->inode == 0 && ext2fs_dirent_name_len(de) == 0 &&
	       !ext2fs_get_rec_len(s->fs, de, &rec_len) &&
	       rec_len == s->fs->blocksize;
}

/* Turns an htree root or index block into a leaf block. */
static void make_leaf(e2q_scrambler *s, char *buf)
{
	unsigned int bs = s->fs->blocksize;
	unsigned int tail = ext2fs_has_feature_metadata_csum(s->fs->super) ?
			    sizeof(struct ext2_dir_entry_tail) : 0;
	unsigned int start;

	if (is_dx_root(s, buf))
		start = 12;	/* keep ".", ".." spans the rest */
	else if (is_dx_node(s, buf))
		start = 0;
	else
		return;
	memset(buf + start + DIRENT_HEADER + (start ? 4 : 0), 0,
	       bs - start - DIRENT_HEADER - (start ? 4 : 0));
	ext2fs_set_rec_len(s->fs, bs - start - tail,
			   (struct ext2_dir_entry *) (buf + start));
	if (tail)
		ext2fs_initialize_dirent_tail(s->fs, EXT2_DIRENT_TAIL(buf, bs));
}

static int dir_is_indexed(e2q_scrambler *s, ext2_ino_t dir)
{
	struct ext2_inode inode;

	return ext2fs_read_inode(s->fs, dir, &inode) == 0 &&
	       LINUX_S_ISDIR(inode.i_mode) && (inode.i_flags & EXT2_INDEX_FL);
}

void e2q_scramble_dir_block(e2q_scrambler *s, ext2_ino_t dir, char *buf)
{
	ext2_filsys fs = s->fs;
	int csum = ext2fs_has_feature_metadata_csum(fs->super);
	int csum_ok = csum && ext2fs_dir_block_csum_verify(fs, dir,
						(struct ext2_dir_entry *) buf);
	unsigned int len = fs->blocksize;

	if (dir_is_indexed(s, dir))
		make_leaf(s, buf);
	if (has_dirent_tail(fs, buf))
		len -= sizeof(struct ext2_dir_entry_tail);
	e2q_scramble_dirents(s, dir, buf, len, 1);
	if (csum_ok)
		ext2fs_dir_block_csum_set(fs, dir, (struct ext2_dir_entry *) buf);
}
