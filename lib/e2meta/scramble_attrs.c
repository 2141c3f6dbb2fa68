/*
 * scramble_attrs.c --- zeroes extended attribute values (in xattr blocks and
 * inside inodes) and scrambles symlink targets.
 *
 * A value's hash covers its bytes, so each changed entry gets its hash
 * recomputed (e2fsck checks it), and an xattr block its block hash and,
 * when it was right, its checksum.  system.data holds the second part of
 * inline data: a directory's entries are renamed, a symlink's target
 * replaced, not zeroed; a file's data is kept.  An encrypted inode's
 * context (a nonce and a key identifier, no secret) is kept: e2fsck checks
 * it.  A value held in an EA inode (ea_inode) is zeroed in that inode's
 * blocks: the EA inode's hash (a crc32c of the value) and the entry's hash,
 * which covers it, are recomputed.
 */
#include "config.h"

#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2_ext_attr.h>
#include <ext2fs/ext2fs.h>

#include "e2meta/scramble_int.h"

#define XATTR_INDEX_SYSTEM	7
#define XATTR_INDEX_ENCRYPTION	9	/* "c": an encrypted inode's context */
#define XATTR_ENTRY_HEADER	16	/* struct ext2_ext_attr_entry, no name */
#define INODE_XATTR_MAGIC_BYTES	4

__u32 e2q_zeros_crc32c(__u32 seed, uint64_t len)
{
	static const unsigned char zeros[4096];
	__u32 crc = seed;

	while (len) {
		size_t n = len < sizeof(zeros) ? (size_t) len : sizeof(zeros);

		crc = e2q_crc32c(crc, zeros, n);
		len -= n;
	}
	return crc;
}

void e2q_scramble_target(char *target, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		if (target[i] && target[i] != '/')
			target[i] = 'a' + (char) ((i * 7 + len) % 26);
}

static int is_system_data(const struct ext2_ext_attr_entry *e)
{
	return e->e_name_index == XATTR_INDEX_SYSTEM && e->e_name_len == 4 &&
	       memcmp(e + 1, "data", 4) == 0;
}

/* Changes one value in place; 1 when it changed. */
static int scramble_value(struct scramble_call *c, struct namer *namer,
			  const struct ext2_ext_attr_entry *e, char *value,
			  enum e2q_inline_kind kind)
{
	unsigned int size = ext2fs_le32_to_cpu(e->e_value_size);

	if (is_system_data(e)) {
		if (kind == E2Q_INLINE_DIR)
			e2q_scramble_dirents(c, namer, value, size, 0);
		else if (kind == E2Q_INLINE_SYMLINK)
			e2q_scramble_target(value, size);
		return kind != E2Q_INLINE_NONE;
	}
	if (c->s->opts.keep_xattrs ||
	    e->e_name_index == XATTR_INDEX_ENCRYPTION)
		return 0;
	memset(value, 0, size);
	c->counted.xattr_values++;
	return 1;
}

#define VALUE_HASH_SHIFT	16

static __u32 with_value_hash(__u32 name_hash, __u32 value_hash)
{
	return (name_hash << VALUE_HASH_SHIFT) ^
	       (name_hash >> (32 - VALUE_HASH_SHIFT)) ^ value_hash;
}

/*
 * An entry whose value an EA inode holds: its hash covers the EA inode's
 * hash, which becomes that of zeros.  Changed only where it was right.
 */
static int rehash_ea_inode_entry(struct scramble_call *c,
				 struct ext2_ext_attr_entry *e)
{
	ext2_filsys fs = c->s->fs;
	unsigned int size = ext2fs_le32_to_cpu(e->e_value_size);
	ext2_ino_t ino = ext2fs_le32_to_cpu(e->e_value_inum);
	struct ext2_inode inode;
	__u32 name_hash, hash;

	if (c->s->opts.keep_xattrs || ino < EXT2_FIRST_INODE(fs->super) ||
	    ino > fs->super->s_inodes_count || size > E2Q_EA_VALUE_MAX ||
	    e2q_scramble_read_inode(c->s, ino, &inode))
		return 0;
	name_hash = ext2fs_ext_attr_hash_entry(e, NULL);
	if (ext2fs_le32_to_cpu(e->e_hash) !=
	    with_value_hash(name_hash, ext2fs_get_ea_inode_hash(&inode)))
		return 0;
	hash = with_value_hash(name_hash,
			       e2q_zeros_crc32c(fs->csum_seed, size));
	if (hash == ext2fs_le32_to_cpu(e->e_hash))
		return 0;
	e->e_hash = ext2fs_cpu_to_le32(hash);
	c->counted.xattr_values++;
	return 1;
}

/*
 * Entries from `first` up to `end`; value offsets count from value_base.
 * Returns 1 when something changed.
 */
static int scramble_entries(struct scramble_call *c, struct namer *namer,
			    char *first, char *end, char *value_base,
			    enum e2q_inline_kind kind)
{
	char *p = first;
	int changed = 0;

	while (p + XATTR_ENTRY_HEADER <= end && *(__u32 *) p != 0) {
		struct ext2_ext_attr_entry *e = (struct ext2_ext_attr_entry *) p;
		unsigned int offs = ext2fs_le16_to_cpu(e->e_value_offs);
		unsigned int size = ext2fs_le32_to_cpu(e->e_value_size);
		size_t room = (size_t) (end - value_base);
		char *value;

		if (p + EXT2_EXT_ATTR_LEN(e->e_name_len) > end)
			break;
		if (e->e_value_inum && rehash_ea_inode_entry(c, e))
			changed = 1;
		if (e->e_value_inum || !size || offs > room || size > room - offs) {
			p += EXT2_EXT_ATTR_LEN(e->e_name_len);
			continue;
		}
		value = value_base + offs;
		if (scramble_value(c, namer, e, value, kind)) {
			changed = 1;
			if (e->e_hash)
				e->e_hash = ext2fs_cpu_to_le32(
					ext2fs_ext_attr_hash_entry(e, value));
		}
		p += EXT2_EXT_ATTR_LEN(e->e_name_len);
	}
	return changed;
}

void e2q_scramble_xattr_block(struct scramble_call *c, blk64_t blk,
			      char *buf)
{
	ext2_filsys fs = c->s->fs;
	struct ext2_ext_attr_header *h = (struct ext2_ext_attr_header *) buf;
	char *end = buf + fs->blocksize;
	int csum_ok;

	if (ext2fs_le32_to_cpu(h->h_magic) != EXT2_EXT_ATTR_MAGIC)
		return;
	csum_ok = ext2fs_has_feature_metadata_csum(fs->super) &&
		  e2q_xattr_block_csum_verify(fs, blk, buf);
	if (!scramble_entries(c, NULL, (char *) (h + 1), end, buf,
			      E2Q_INLINE_NONE))
		return;
	if (h->h_hash)
		ext2fs_ext_attr_block_rehash(h, (struct ext2_ext_attr_entry *) end);
	if (csum_ok)
		e2q_xattr_block_csum_set(fs, blk, buf);
}

/* Where the xattrs inside the inode begin (after the magic), or NULL. */
char *e2q_inode_xattrs(ext2_filsys fs, char *inode)
{
	unsigned int isize = EXT2_INODE_SIZE(fs->super);
	struct ext2_inode_large *il = (struct ext2_inode_large *) inode;
	unsigned int start = EXT2_GOOD_OLD_INODE_SIZE;

	if (isize <= EXT2_GOOD_OLD_INODE_SIZE)
		return NULL;
	start += ext2fs_le16_to_cpu(il->i_extra_isize);
	if (start % 4 || start + INODE_XATTR_MAGIC_BYTES + XATTR_ENTRY_HEADER > isize ||
	    ext2fs_le32_to_cpu(*(__u32 *) (inode + start)) != EXT2_EXT_ATTR_MAGIC)
		return NULL;
	return inode + start + INODE_XATTR_MAGIC_BYTES;
}

/* The xattrs after i_extra_isize; 1 when something changed. */
int e2q_scramble_inode_xattrs(struct scramble_call *c, char *inode,
			      enum e2q_inline_kind kind, struct namer *namer)
{
	unsigned int isize = EXT2_INODE_SIZE(c->s->fs->super);
	char *first = e2q_inode_xattrs(c->s->fs, inode);

	if (!first)
		return 0;
	return scramble_entries(c, namer, first, inode + isize, first, kind);
}
