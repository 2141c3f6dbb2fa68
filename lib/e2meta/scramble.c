/*
 * scramble.c --- the scrambler: learns the role of blocks from the walk,
 * then hands each block of a run to the transformation its role calls for
 * (see scramble.h).  Inode table blocks are found from the group
 * descriptors; the primary superblock from its byte offset.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "e2meta/group_desc.h"
#include "e2meta/scramble_int.h"

#define JBD2_MAGIC		0xc03b3998U
#define JBD2_SUPERBLOCK_V1	3
#define JBD2_SUPERBLOCK_V2	4
#define SUPERBLOCK_OFFSET	1024

errcode_t e2q_scrambler_new(ext2_filsys fs,
			    const struct e2q_scramble_options *opts,
			    e2q_scrambler **ret)
{
	e2q_scrambler *s = calloc(1, sizeof(*s));

	if (!s)
		return ENOMEM;
	s->fs = fs;
	s->opts = *opts;
	*ret = s;
	return 0;
}

void e2q_scrambler_free(e2q_scrambler *s)
{
	if (!s)
		return;
	e2q_pass_helper_stop(s);
	e2q_naming_stop(s);
	free(s->runs);
	free(s->itables);
	free(s->planned);
	free(s->starts);
	free(s->hblocks);
	free(s->linear_dirs);
	free(s);
}

void e2q_scrambler_note_role(void *scrambler, blk64_t first, blk64_t count,
			     enum e2q_meta_role role, ext2_ino_t ino)
{
	e2q_scrambler *s = scrambler;
	struct role_run *last = s->nruns ? &s->runs[s->nruns - 1] : NULL;

	if (role == E2Q_META_TREE || role == E2Q_META_FILE_DATA || s->err)
		return;		/* nothing in them to hide */
	if (last && last->ino == ino && last->role == role &&
	    last->first + last->count == first) {
		last->count += count;
		return;
	}
	if (s->nruns == s->runs_cap) {
		size_t cap = s->runs_cap ? 2 * s->runs_cap : 1024;
		struct role_run *t = realloc(s->runs, cap * sizeof(*t));

		if (!t) {
			s->err = ENOMEM;
			return;
		}
		s->runs = t;
		s->runs_cap = cap;
	}
	s->runs[s->nruns++] = (struct role_run) { first, count, ino, role, 0, 0, 0 };
}

/*
 * Both tables (role runs, inode tables) begin each entry with its first
 * block, and are sorted and searched by it.
 */
_Static_assert(offsetof(struct role_run, first) == 0, "first leads");
_Static_assert(offsetof(struct itable_run, first) == 0, "first leads");

static blk64_t first_of(const void *entry)
{
	return *(const blk64_t *) entry;
}

static int by_first(const void *a, const void *b)
{
	blk64_t x = first_of(a), y = first_of(b);

	return x < y ? -1 : x > y;
}

/* How many of the n entries, `stride` bytes apart, start at or before blk. */
static size_t count_starting_by(const void *table, size_t n, size_t stride,
				blk64_t blk)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (first_of((const char *) table + mid * stride) <= blk)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Each directory run's inode flags (htree, casefolded, encrypted): read once
 * per run here, not once per block in every pass (a read of the inode table
 * each time).
 */
static void note_dir_flags(e2q_scrambler *s)
{
	ext2_ino_t last = 0;
	__u32 flags = 0, gen = 0;
	int gen_known = 0;
	size_t i;

	for (i = 0; i < s->nruns; i++) {
		struct role_run *r = &s->runs[i];

		if (r->role != E2Q_META_DIR)
			continue;
		if (r->ino != last)
			flags = e2q_scramble_dir_flags(s->fs, r->ino, &gen_known,
						       &gen);
		last = r->ino;
		r->dir_flags = flags;
		r->dir_gen = gen;
		r->dir_gen_known = gen_known;
	}
}

/* Appends the inode table of group g, or extends the last run with it. */
static errcode_t add_itable(e2q_scrambler *s, size_t *cap, blk64_t loc,
			    dgrp_t g)
{
	blk64_t ipg = s->fs->inode_blocks_per_group;
	struct itable_run *last = s->nitables ? &s->itables[s->nitables - 1]
					      : NULL;

	if (last && last->group + last->ngroups == g &&
	    last->first + (blk64_t) last->ngroups * ipg == loc) {
		last->ngroups++;
		return 0;
	}
	if (s->nitables == *cap) {
		size_t n = *cap ? 2 * *cap : 64;
		struct itable_run *t = realloc(s->itables, n * sizeof(*t));

		if (!t)
			return ENOMEM;
		s->itables = t;
		*cap = n;
	}
	s->itables[s->nitables++] = (struct itable_run) { loc, g, 1 };
	return 0;
}

static errcode_t list_itables(e2q_scrambler *s)
{
	ext2_filsys fs = s->fs;
	struct e2q_group_reader gr;
	struct e2q_group_info gi;
	size_t cap = 0;
	errcode_t err;
	dgrp_t g;

	free(s->itables);
	s->itables = NULL;
	s->nitables = 0;
	err = e2q_group_reader_open(fs, &gr);
	for (g = 0; !err && g < fs->group_desc_count; g++) {
		err = e2q_group_reader_get(&gr, g, &gi);
		if (!err && gi.inode_table)
			err = add_itable(s, &cap, gi.inode_table, g);
	}
	e2q_group_reader_close(&gr);
	if (!err && s->nitables)
		qsort(s->itables, s->nitables, sizeof(*s->itables), by_first);
	return err;
}

errcode_t e2q_scramble_index_blocks(e2q_scrambler *s)
{
	errcode_t err;

	if (s->err)
		return s->err;
	/* A walk may note no role (runs NULL): qsort's pointer must not be */
	if (s->nruns)
		qsort(s->runs, s->nruns, sizeof(*s->runs), by_first);
	err = list_itables(s);
	if (!err)
		note_dir_flags(s);
	return err;
}

const struct role_run *e2q_scramble_role_of(const e2q_scrambler *s,
					    blk64_t blk)
{
	size_t n = count_starting_by(s->runs, s->nruns, sizeof(*s->runs), blk);

	if (n && blk - s->runs[n - 1].first < s->runs[n - 1].count)
		return &s->runs[n - 1];
	return NULL;
}

blk64_t e2q_scramble_itable_run_end(const e2q_scrambler *s,
				    const struct itable_run *r)
{
	return r->first + (blk64_t) r->ngroups * s->fs->inode_blocks_per_group;
}

/* The group whose inode table holds blk, or -1. */
static long itable_group_of(const e2q_scrambler *s, blk64_t blk,
			    blk64_t *index)
{
	blk64_t ipg = s->fs->inode_blocks_per_group;
	size_t n = count_starting_by(s->itables, s->nitables,
				     sizeof(*s->itables), blk);
	const struct itable_run *r = n ? &s->itables[n - 1] : NULL;

	if (!r || ipg == 0 || blk >= e2q_scramble_itable_run_end(s, r))
		return -1;
	*index = (blk - r->first) % ipg;
	return (long) (r->group + (blk - r->first) / ipg);
}

/* blk is in an inode table, and no role sends it elsewhere. */
int e2q_scramble_in_itable(const e2q_scrambler *s, blk64_t blk)
{
	const struct role_run *r = e2q_scramble_role_of(s, blk);
	blk64_t index;

	if (r && (r->role == E2Q_META_DIR || r->role == E2Q_META_SYMLINK ||
		  r->role == E2Q_META_XATTR || r->role == E2Q_META_JOURNAL ||
		  r->role == E2Q_META_EA_VALUE))
		return 0;
	return itable_group_of(s, blk, &index) >= 0;
}

static enum e2q_inline_kind inline_kind(__u16 mode, __u32 flags)
{
	if (!(flags & EXT4_INLINE_DATA_FL))
		return E2Q_INLINE_NONE;
	if (LINUX_S_ISDIR(mode))
		return E2Q_INLINE_DIR;
	return LINUX_S_ISLNK(mode) ? E2Q_INLINE_SYMLINK : E2Q_INLINE_NONE;
}

/*
 * A symlink whose target is in i_block.  ext2fs_is_fast_symlink() goes by
 * the size alone; a short target that an old kernel put in a block must
 * keep its block numbers, so a mapped inode is not fast.
 */
static int target_in_inode(struct ext2_inode *inode, __u32 flags)
{
	if (flags & EXT4_INLINE_DATA_FL)
		return 1;
	return ext2fs_is_fast_symlink(inode) && !(flags & EXT4_EXTENTS_FL) &&
	       (inode->i_blocks == 0 || inode->i_file_acl != 0);
}

/*
 * One inode in its on-disk form; returns 1 when it changed.  An inline
 * directory's names (in i_block, then in system.data) are numbered from 0:
 * the directory has no blocks that could have made names before.
 */
/*
 * An EA inode holds one xattr value: zeroed (its blocks, by their role),
 * so its stored hash becomes that of as many zero bytes.
 */
static int rehash_ea_inode(struct scramble_call *c, struct ext2_inode *inode)
{
	uint64_t size = EXT2_I_SIZE(inode);
	__u32 hash;

	if (c->s->opts.keep_xattrs || size > E2Q_EA_VALUE_MAX)
		return 0;
	hash = e2q_zeros_crc32c(c->s->fs->csum_seed, size);
	if (ext2fs_get_ea_inode_hash(inode) == hash)
		return 0;
	ext2fs_set_ea_inode_hash(inode, hash);
	return 1;
}

/*
 * One inode in its on-disk form; returns 1 when it changed.  An inline
 * directory's names (in i_block, then in system.data) are numbered from 0:
 * the directory has no blocks that could have made names before.  An
 * encrypted inode keeps its names and target (ciphertext).
 */
static int scramble_inode_fields(struct scramble_call *c, ext2_ino_t ino,
				 char *raw)
{
	struct ext2_inode *inode = (struct ext2_inode *) raw;
	__u16 mode = ext2fs_le16_to_cpu(inode->i_mode);
	__u32 flags = ext2fs_le32_to_cpu(inode->i_flags);
	int encrypted = (flags & EXT4_ENCRYPT_FL) != 0;
	enum e2q_inline_kind kind = encrypted ? E2Q_INLINE_NONE :
				    inline_kind(mode, flags);
	struct namer namer, *n = NULL;
	int changed = 0;

	if (kind == E2Q_INLINE_DIR) {
		e2q_namer_init(&namer, ino, c->plan);
		namer.casefold = (flags & EXT4_CASEFOLD_FL) &&
				 ext2fs_has_feature_casefold(c->s->fs->super);
		n = &namer;
	}
	if (LINUX_S_ISLNK(mode) && !encrypted && target_in_inode(inode, flags)) {
		unsigned int size = EXT2_I_SIZE(inode);

		e2q_scramble_target((char *) inode->i_block,
				    size < sizeof(inode->i_block) ? size :
				    sizeof(inode->i_block));
		c->counted.symlinks++;
		changed = 1;
	}
	if (LINUX_S_ISDIR(mode) && inode->i_links_count &&
	    (flags & EXT2_INDEX_FL) && e2q_htree_made_linear(c->s, ino)) {
		inode->i_flags = ext2fs_cpu_to_le32(flags & ~EXT2_INDEX_FL);
		c->counted.htree_dirs++;
		changed = 1;
	}
	if ((flags & EXT4_EA_INODE_FL) && inode->i_links_count &&
	    rehash_ea_inode(c, inode))
		changed = 1;
	if (kind == E2Q_INLINE_DIR && inode->i_links_count) {
		/* i_block: the parent's inode number, then entries */
		e2q_scramble_dirents(c, n, (char *) inode->i_block + 4,
				     sizeof(inode->i_block) - 4, 0);
		changed = 1;
	}
	if (e2q_scramble_inode_xattrs(c, raw, kind, n))
		changed = 1;
	return changed;
}

/*
 * Whether scramble_inode_fields() may change the inode: most inodes (files
 * without xattrs) it leaves alone, and they cost no checksum.
 */
static int may_change(ext2_filsys fs, char *raw)
{
	struct ext2_inode *inode = (struct ext2_inode *) raw;
	__u16 mode = ext2fs_le16_to_cpu(inode->i_mode);
	__u32 flags = ext2fs_le32_to_cpu(inode->i_flags);

	return LINUX_S_ISLNK(mode) || LINUX_S_ISDIR(mode) ||
	       (flags & (EXT4_EA_INODE_FL | EXT4_INLINE_DATA_FL)) ||
	       e2q_inode_xattrs(fs, raw) != NULL;
}

static void scramble_inode_block(struct scramble_call *c, dgrp_t group,
				 blk64_t index, char *buf)
{
	ext2_filsys fs = c->s->fs;
	unsigned int isize = EXT2_INODE_SIZE(fs->super);
	unsigned int i, per_block = fs->blocksize / isize;
	int csum = !c->plan && ext2fs_has_feature_metadata_csum(fs->super);
	char orig[1024] __attribute__((aligned(8)));

	for (i = 0; i < per_block; i++) {
		ext2_ino_t ino = group * fs->super->s_inodes_per_group +
				 (ext2_ino_t) index * per_block + i + 1;
		struct ext2_inode_large *inode =
			(struct ext2_inode_large *) (buf + i * isize);
		int csum_ok;

		if (index * per_block + i >= fs->super->s_inodes_per_group ||
		    ino > fs->super->s_inodes_count)
			break;
		if (!may_change(fs, (char *) inode))
			continue;
		/* the checksum is verified, on a copy, only when it changed */
		if (csum && isize <= sizeof(orig))
			memcpy(orig, inode, isize);
		csum_ok = csum && isize > sizeof(orig) &&
			  e2q_inode_csum_verify(fs, ino, inode);
		if (!scramble_inode_fields(c, ino, (char *) inode) || !csum)
			continue;
		if (csum_ok || (isize <= sizeof(orig) &&
				e2q_inode_csum_verify(fs, ino,
					(struct ext2_inode_large *) orig)))
			e2q_inode_csum_set(fs, ino, inode);
	}
}

static void scramble_symlink_block(struct scramble_call *c, ext2_ino_t ino,
				   char *buf)
{
	struct ext2_inode inode;
	unsigned int bs = c->s->fs->blocksize, size;

	if (e2q_scramble_read_inode(c->s, ino, &inode))
		size = bs;	/* unknown length: scramble it all */
	else if (inode.i_flags & EXT4_ENCRYPT_FL)
		return;		/* ciphertext: kept */
	else
		size = EXT2_I_SIZE(&inode) < bs ? EXT2_I_SIZE(&inode) : bs;
	e2q_scramble_target(buf, size);
	memset(buf + size, 0, bs - size);
	c->counted.symlinks++;
}

/*
 * memcmp() against itself shifted by a byte: glibc's vector compare, where
 * a loop over words cost 7 instructions per word (a 512 MiB journal of
 * zeroes: 0.9 G instructions, more than the rest of a pass).
 */
static int is_zero_block(const char *buf, unsigned int len)
{
	return buf[0] == 0 && memcmp(buf, buf + 1, len - 1) == 0;
}

static void zero_journal_block(struct scramble_call *c, char *buf)
{
	unsigned int bs = c->s->fs->blocksize;
	const __u32 *h = (const __u32 *) buf;
	__u32 type = ext2fs_be32_to_cpu(h[1]);

	if (ext2fs_be32_to_cpu(h[0]) == JBD2_MAGIC &&
	    (type == JBD2_SUPERBLOCK_V1 || type == JBD2_SUPERBLOCK_V2))
		return;
	if (is_zero_block(buf, bs))
		return;		/* already zero: nothing to hide */
	memset(buf, 0, bs);
	c->counted.journal_blocks++;
}

static void scramble_string(char *p, unsigned int max)
{
	e2q_scramble_target(p, (unsigned int) strnlen(p, max));
}

static void scramble_superblock(const e2q_scrambler *s, char *raw)
{
	struct ext2_super_block *sb = (struct ext2_super_block *) raw;
	int csum_ok;

	if (ext2fs_le16_to_cpu(sb->s_magic) != EXT2_SUPER_MAGIC)
		return;
	csum_ok = ext2fs_has_feature_metadata_csum(s->fs->super) &&
		  ext2fs_superblock_csum_verify(s->fs, sb);
	scramble_string((char *) sb->s_last_mounted, sizeof(sb->s_last_mounted));
	scramble_string((char *) sb->s_volume_name, sizeof(sb->s_volume_name));
	if (csum_ok)
		ext2fs_superblock_csum_set(s->fs, sb);
}

/* The MMP block names the host and the device that last had the fs open. */
static void scramble_mmp(const e2q_scrambler *s, char *raw)
{
	struct mmp_struct *mmp = (struct mmp_struct *) raw;
	int csum_ok;

	if (ext2fs_le32_to_cpu(mmp->mmp_magic) != EXT4_MMP_MAGIC)
		return;
	csum_ok = ext2fs_has_feature_metadata_csum(s->fs->super) &&
		  ext2fs_mmp_csum_verify(s->fs, mmp);
	scramble_string((char *) mmp->mmp_nodename, sizeof(mmp->mmp_nodename));
	scramble_string((char *) mmp->mmp_bdevname, sizeof(mmp->mmp_bdevname));
	if (csum_ok)
		ext2fs_mmp_csum_set(s->fs, mmp);
}

static int is_mmp_block(ext2_filsys fs, blk64_t blk)
{
	return ext2fs_has_feature_mmp(fs->super) && fs->super->s_mmp_block &&
	       blk == fs->super->s_mmp_block;
}

static int is_backup_superblock(ext2_filsys fs, blk64_t blk, const char *buf)
{
	const struct ext2_super_block *sb = (const struct ext2_super_block *) buf;

	return blk > fs->super->s_first_data_block &&
	       blk == ext2fs_group_first_block2(fs, ext2fs_group_of_blk2(fs, blk)) &&
	       ext2fs_le16_to_cpu(sb->s_magic) == EXT2_SUPER_MAGIC;
}

/*
 * The primary superblock and group descriptors (and their reserve): on a
 * damaged filesystem an inode may claim them; they keep their own handling.
 */
static int is_group0_header(ext2_filsys fs, blk64_t blk)
{
	blk64_t descs = fs->desc_blocks;

	/* with meta_bg, only the first s_first_meta_bg follow the superblock */
	if (ext2fs_has_feature_meta_bg(fs->super) &&
	    fs->super->s_first_meta_bg < descs)
		descs = fs->super->s_first_meta_bg;
	return blk <= fs->super->s_first_data_block + descs +
		      fs->super->s_reserved_gdt_blocks;
}

void e2q_scramble_one_block(struct scramble_call *c, blk64_t blk, char *buf)
{
	const e2q_scrambler *s = c->s;
	const struct role_run *r = e2q_scramble_role_of(s, blk);
	blk64_t index;
	long group;

	if (r && (is_group0_header(s->fs, blk) ||
		  itable_group_of(s, blk, &index) >= 0))
		r = NULL;	/* claimed by a damaged inode: not its role */
	if (r) {
		switch (r->role) {
		case E2Q_META_DIR:
			e2q_scramble_dir_block(c, r, blk, buf);
			return;
		case E2Q_META_SYMLINK:
			scramble_symlink_block(c, r->ino, buf);
			return;
		case E2Q_META_XATTR:
			e2q_scramble_xattr_block(c, blk, buf);
			return;
		case E2Q_META_JOURNAL:
			zero_journal_block(c, buf);
			return;
		case E2Q_META_EA_VALUE:
			if (!s->opts.keep_xattrs)
				memset(buf, 0, s->fs->blocksize);
			return;
		default:
			break;
		}
	}
	group = itable_group_of(s, blk, &index);
	if (group >= 0)
		scramble_inode_block(c, (dgrp_t) group, index, buf);
	else if (is_mmp_block(s->fs, blk))
		scramble_mmp(s, buf);
	else if (is_backup_superblock(s->fs, blk, buf))
		scramble_superblock(s, buf);	/* copied with -b */
}

void e2q_scramble_add_stats(struct e2q_scramble_stats *to,
			    const struct e2q_scramble_stats *from)
{
	to->names += from->names;
	to->symlinks += from->symlinks;
	to->xattr_values += from->xattr_values;
	to->htree_dirs += from->htree_dirs;
	to->journal_blocks += from->journal_blocks;
}

errcode_t e2q_scramble_blocks(const e2q_scrambler *s, blk64_t first,
			      blk64_t count, void *data,
			      struct e2q_scramble_stats *tally)
{
	struct scramble_call c = { .s = s };
	unsigned int bs = s->fs->blocksize;
	char *buf = data;
	blk64_t i;

	if (!s->prepared)
		return EINVAL;
	if (first * bs <= SUPERBLOCK_OFFSET &&
	    (first + count) * bs >= SUPERBLOCK_OFFSET + SUPERBLOCK_OFFSET)
		scramble_superblock(s, buf + SUPERBLOCK_OFFSET - first * bs);
	if (e2q_pass_helper_run(s, first, count, buf, &c) < 0)
		for (i = 0; i < count; i++)
			e2q_scramble_one_block(&c, first + i, buf + i * bs);
	if (tally)
		e2q_scramble_add_stats(tally, &c.counted);
	return c.err;
}
