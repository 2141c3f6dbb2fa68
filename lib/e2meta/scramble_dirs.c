/*
 * scramble_dirs.c --- renames directory entries in directory block
 * buffers; keeps the index of htree directories, or makes them linear.
 *
 * Linear directories: the n-th name of length L made in a directory is n
 * written in base 62 over L characters (a different digit-to-letter shuffle
 * at each position), so names are unique in their directory, deterministic,
 * and never "." or ".." (no dot in the alphabet).  n counts over the
 * directory's blocks in ascending block order: a block's names of length L
 * start where the plan says (scramble_plan.c), an inline directory's at 0.
 * In a casefolded directory the letters are [a-z0-9]: names that differ
 * still differ once folded.
 * htree directories: leaves take the names prepare() chose so that each
 * hashes into its leaf's range (scramble_htree.c); index blocks keep every
 * byte but their unused entry slots, zeroed.  An htree directory prepare()
 * could not read as one is made linear: the index flag is cleared in the
 * inode, the root keeps "." and "..", index blocks become empty leaves.
 * Encrypted directories are left as they are: their names are ciphertext.
 */
#include "config.h"

#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "e2meta/scramble_int.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
#define ALPHABET_SIZE	62
static const char folded_alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
#define FOLDED_SIZE	36
#define DIRENT_HEADER	8
#define DX_INFO_LENGTH_OFFSET	29	/* dx_root_info.info_length */

void e2q_namer_init(struct namer *n, ext2_ino_t dir, struct planner *plan)
{
	n->dir = dir;
	n->plan = plan;
	n->from_counters = 0;
	n->starts = NULL;
	n->nstarts = 0;
	n->casefold = 0;
	n->codes = NULL;
	n->ncodes = n->used = 0;
	n->by_codes = 0;
	n->collect = NULL;
	n->collect_priv = NULL;
	memset(n->begun, 0, sizeof(n->begun));
}

/* Where the names of length len start in the namer's block. */
static uint32_t first_number(struct namer *n, unsigned int len)
{
	size_t i;

	if (n->from_counters)
		return e2q_plan_counter(n->plan, n->dir, len);
	for (i = 0; i < n->nstarts; i++)
		if (n->starts[i].len == len)
			return n->starts[i].next;
	return 0;
}

/* The number of the next name of length len. */
static uint32_t *next_number(struct namer *n, unsigned int len)
{
	if (!(n->begun[len / 8] & (1U << (len % 8)))) {
		n->begun[len / 8] |= (unsigned char) (1U << (len % 8));
		n->next[len] = first_number(n, len);
	}
	return &n->next[len];
}

int e2q_scramble_counter_name(uint32_t n, char *name, unsigned int len,
			      int casefold)
{
	const char *letters = casefold ? folded_alphabet : alphabet;
	unsigned int size = casefold ? FOLDED_SIZE : ALPHABET_SIZE;
	unsigned int i;

	for (i = 0; i < len; i++) {
		name[i] = letters[(n % size + 7 * i + len) % size];
		n /= size;
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

/* The entry's new name in fresh; 0, or -1 when it keeps its name. */
static int new_name(struct namer *n, char *fresh, unsigned int len)
{
	uint32_t *next, code;

	if (n->by_codes) {
		code = n->used < n->ncodes ? n->codes[n->used] : E2Q_HTREE_KEEP;
		n->used++;
		if (code == E2Q_HTREE_KEEP)
			return -1;
		e2q_htree_name(n->dir, len, code, n->casefold, fresh);
		return 0;
	}
	next = next_number(n, len);
	if (e2q_scramble_counter_name(*next, fresh, len, n->casefold))
		return -1;	/* more names of this length than names */
	(*next)++;
	return 0;
}

static void rename_entry(struct scramble_call *c, struct namer *n, char *name,
			 unsigned int len)
{
	char fresh[EXT2_NAME_LEN];

	if (keeps_name(n->dir, name, len))
		return;
	if (n->collect) {
		n->collect(n->collect_priv, name, len);
		return;
	}
	if (new_name(n, fresh, len))
		return;
	if (n->plan) {
		char old[EXT2_NAME_LEN + 1], new[EXT2_NAME_LEN + 1];

		memcpy(old, name, len);
		memcpy(new, fresh, len);
		old[len] = new[len] = 0;
		e2q_plan_report(n->plan, n->dir, old, new, len);
	}
	memcpy(name, fresh, len);
	c->counted.names++;
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

static unsigned int record_length(ext2_filsys fs, struct ext2_dir_entry *de,
				  int block_rec_len)
{
	unsigned int rec_len;

	if (!block_rec_len)
		return ext2fs_le16_to_cpu(de->rec_len);
	if (ext2fs_get_rec_len(fs, de, &rec_len))
		return 0;
	return rec_len;
}

/*
 * Renames the entries of buf[0, len) and zeroes the bytes after each name;
 * block_rec_len: rec_len as in blocks (65536 encoded), not inline data.
 */
void e2q_scramble_dirents(struct scramble_call *c, struct namer *n,
			  char *buf, unsigned int len, int block_rec_len)
{
	unsigned int off = 0;

	while (off + DIRENT_HEADER <= len) {
		struct ext2_dir_entry *de = (struct ext2_dir_entry *) (buf + off);
		unsigned int rec_len = record_length(c->s->fs, de,
						     block_rec_len);
		unsigned int name_len = ext2fs_dirent_name_len(de);

		if (rec_len < DIRENT_HEADER || rec_len % 4 || rec_len > len - off ||
		    name_len + DIRENT_HEADER > rec_len)
			break;
		if (de->inode)
			rename_entry(c, n, de->name, name_len);
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

static int is_dx_root(ext2_filsys fs, char *buf)
{
	struct ext2_dir_entry *dot = (struct ext2_dir_entry *) buf;
	struct ext2_dir_entry *dotdot = (struct ext2_dir_entry *) (buf + 12);
	unsigned int rec_len;

	if (ext2fs_dirent_name_len(dot) != 1 || dot->name[0] != '.' ||
	    ext2fs_le16_to_cpu(dot->rec_len) != 12 ||
	    ext2fs_dirent_name_len(dotdot) != 2 ||
	    memcmp(dotdot->name, "..", 2) != 0 ||
	    ext2fs_get_rec_len(fs, dotdot, &rec_len) ||
	    rec_len != fs->blocksize - 12)
		return 0;
	return *(__u32 *) (buf + 24) == 0 &&
	       (unsigned char) buf[DX_INFO_LENGTH_OFFSET] == 8;
}

static int is_dx_node(ext2_filsys fs, char *buf)
{
	struct ext2_dir_entry *de = (struct ext2_dir_entry *) buf;
	unsigned int rec_len;

	return de->inode == 0 && ext2fs_dirent_name_len(de) == 0 &&
	       !ext2fs_get_rec_len(fs, de, &rec_len) &&
	       rec_len == fs->blocksize;
}

/* Turns an htree root or index block into a leaf block. */
static void make_leaf(ext2_filsys fs, char *buf)
{
	unsigned int bs = fs->blocksize;
	unsigned int tail = ext2fs_has_feature_metadata_csum(fs->super) ?
			    sizeof(struct ext2_dir_entry_tail) : 0;
	unsigned int start;

	if (is_dx_root(fs, buf))
		start = 12;	/* keep ".", ".." spans the rest */
	else if (is_dx_node(fs, buf))
		start = 0;
	else
		return;
	memset(buf + start + DIRENT_HEADER + (start ? 4 : 0), 0,
	       bs - start - DIRENT_HEADER - (start ? 4 : 0));
	ext2fs_set_rec_len(fs, bs - start - tail,
			   (struct ext2_dir_entry *) (buf + start));
	if (tail)
		ext2fs_initialize_dirent_tail(fs, EXT2_DIRENT_TAIL(buf, bs));
}

__u32 e2q_scramble_dir_flags(ext2_filsys fs, ext2_ino_t dir, int *gen_known,
			     __u32 *gen)
{
	struct ext2_inode inode;
	int known = ext2fs_read_inode(fs, dir, &inode) == 0;

	if (gen) {
		*gen_known = known;
		*gen = known ? inode.i_generation : 0;
	}
	if (!known || !LINUX_S_ISDIR(inode.i_mode))
		return 0;
	return inode.i_flags;
}

unsigned int e2q_dir_block_names_len(ext2_filsys fs, char *buf)
{
	if (has_dirent_tail(fs, buf))
		return fs->blocksize - sizeof(struct ext2_dir_entry_tail);
	return fs->blocksize;
}

/*
 * An index block of a kept htree: the entry slots past its count may hold
 * what the block held before (names, in a root that was a leaf): zeroed.
 * The checksum covers the used slots only, and stays.
 */
static void clear_unused_slots(ext2_filsys fs, char *buf)
{
	unsigned int bs = fs->blocksize, off, count, limit;

	if (is_dx_root(fs, buf))
		off = 24 + 8;
	else if (is_dx_node(fs, buf))
		off = 8;
	else
		return;
	limit = ext2fs_le16_to_cpu(*(__u16 *) (buf + off));
	count = ext2fs_le16_to_cpu(*(__u16 *) (buf + off + 2));
	if (limit > (bs - off) / 8)
		limit = (bs - off) / 8;
	if (count < limit)
		memset(buf + off + 8 * count, 0, 8 * (limit - count));
}

/*
 * The checksum of a directory block: scramble_csum.c's for a leaf with a
 * tail (the directory's i_generation known), else libext2fs's, which reads
 * the inode: one thread at a time.
 */
static int dir_csum_verify(const e2q_scrambler *s, const struct role_run *r,
			   char *buf)
{
	int ok = r->dir_gen_known ?
		 e2q_dir_leaf_csum_verify(s->fs, r->ino, r->dir_gen, buf) : -1;

	if (ok < 0) {
		e2q_scramble_lock(s);
		ok = ext2fs_dir_block_csum_verify(s->fs, r->ino,
						  (struct ext2_dir_entry *) buf);
		e2q_scramble_unlock(s);
	}
	return ok;
}

static void dir_csum_set(const e2q_scrambler *s, const struct role_run *r,
			 char *buf)
{
	if (r->dir_gen_known &&
	    e2q_dir_leaf_csum_set(s->fs, r->ino, r->dir_gen, buf) == 0)
		return;
	e2q_scramble_lock(s);
	ext2fs_dir_block_csum_set(s->fs, r->ino, (struct ext2_dir_entry *) buf);
	e2q_scramble_unlock(s);
}

/*
 * In prepare(), the names start from the directory's counters, which the
 * block then advances; after it, from the plan.
 */
void e2q_scramble_dir_block(struct scramble_call *c, const struct role_run *r,
			    blk64_t blk, char *buf)
{
	ext2_filsys fs = c->s->fs;
	ext2_ino_t dir = r->ino;
	int csum = ext2fs_has_feature_metadata_csum(fs->super);
	const struct htree_block *hb;
	int csum_ok;
	struct namer n;
	errcode_t err;

	if (r->dir_flags & EXT4_ENCRYPT_FL)
		return;		/* ciphertext names, hashes stored: kept */
	hb = e2q_htree_block_of(c->s, blk);
	if (hb && hb->kind == E2Q_HTREE_INDEX) {
		if (!c->plan)
			clear_unused_slots(fs, buf);
		return;
	}
	csum_ok = !c->plan && csum && dir_csum_verify(c->s, r, buf);
	e2q_namer_init(&n, dir, c->plan);
	n.casefold = (r->dir_flags & EXT4_CASEFOLD_FL) &&
		     ext2fs_has_feature_casefold(fs->super);
	if (hb) {
		const struct hdir *d;

		err = e2q_naming_wait(c->s, hb->job, &d);
		if (!err && e2q_htree_leaf_codes(d, hb->slot, &n.codes,
						 &n.ncodes))
			err = EXT2_ET_SHORT_READ;	/* unread by naming */
		if (err) {
			memset(buf, 0, fs->blocksize);	/* nothing shows */
			c->err = c->err ? c->err : err;
			return;
		}
		n.by_codes = 1;
	} else if (c->plan) {
		n.from_counters = 1;
	} else {
		n.starts = e2q_plan_starts(c->s, blk, &n.nstarts);
	}
	if ((r->dir_flags & EXT2_INDEX_FL) && e2q_htree_made_linear(c->s, dir))
		make_leaf(fs, buf);
	e2q_scramble_dirents(c, &n, buf, e2q_dir_block_names_len(fs, buf), 1);
	if (csum_ok)
		dir_csum_set(c->s, r, buf);
	if (c->plan) {
		err = e2q_plan_block_done(c->plan, blk, &n);
		if (err && !c->err)
			c->err = err;
	}
}
