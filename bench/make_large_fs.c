/*
 * make_large_fs.c --- populate a freshly made ext4 image for the benchmark.
 *
 * Usage: make_large_fs_populate IMAGE TOPS SUBS FILES BIG BIGFILES FRAG FRAGEXT DATA
 *
 * Fills the filesystem through libext2fs directly (no kernel, no mount):
 *   TOPS top-level directories under the root, each with SUBS subdirectories,
 *   each holding FILES/2 to 3*FILES/2 regular files with long names;
 *   BIG large directories of BIGFILES files each (htree once e2fsck -D runs;
 *   their names stay file-NNNNNNN);
 *   FRAG fragmented files of FRAGEXT one-block extents each (extent trees
 *   with index blocks);
 *   DATA files of 16 blocks each whose blocks hold a non-zero pattern;
 *   a few slow symlinks.
 * Directory blocks are packed here and written whole (ext2fs_link rescans
 * the directory for every name, which is quadratic).  Directories are spread
 * round-robin over the block groups; their files go to the same group, every
 * other inode (see alloc_inode()).
 * Files are as varied as on a filesystem that has lived (see vary_inode()):
 * names in a few styles per directory, sizes of 0 to a few hundred blocks in
 * one to four extents, times with nanoseconds, owners, modes, random
 * generation numbers, in-inode xattrs on some, an xattr block on a few, and
 * deleted inodes left in some holes of the inode tables.
 * Everything is deterministic: one seeded PRNG, a fixed order.
 *
 * The benchmark's own file: not part of e2qcow.  Errors print and exit 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ext2fs/ext2fs.h>
#include <et/com_err.h>

#define FIXED_TIME	1700000000U
#define YEAR		31557600U
#define DATA_BLOCKS	16
#define INODE_STRIDE	2

/*
 * How varied the files are, per mille.  Chosen so that `zstd -1` of the
 * whole e2image -Q image shrinks it about 20 times, as on a held-out real
 * filesystem of 2 million inodes (bench/README.md).
 */
#ifndef PM_EMPTY
#define PM_EMPTY	600	/* files without data blocks */
#endif
#ifndef PM_NSEC
#define PM_NSEC		100	/* ticks with nanoseconds (others: .0) */
#endif
#ifndef PM_SAME_TICK
#define PM_SAME_TICK	995	/* files stamped at the previous file's tick */
#endif
#define PM_EXTRACTED_DIR 200	/* directories unpacked from archives */
#ifndef PM_RANDOM_GEN_DIR
#define PM_RANDOM_GEN_DIR 200	/* directories of random i_generation */
#endif
#ifndef PM_FRAGMENTED
#define PM_FRAGMENTED	50	/* files of 2 or more blocks in 2-4 extents */
#endif
#ifndef PM_UNWRITTEN
#define PM_UNWRITTEN	30	/* files whose extents are unwritten */
#endif
#ifndef PM_URL_XATTR
#define PM_URL_XATTR	10	/* files with a user.xdg.origin.url */
#endif
#ifndef PM_XATTR_BLOCK
#define PM_XATTR_BLOCK	2	/* files whose xattrs need a block */
#endif
#ifndef PM_DELETED
#define PM_DELETED	10	/* holes in the inode tables: deleted inodes */
#endif
#ifndef PM_SELINUX_DIR
#define PM_SELINUX_DIR	250	/* directories whose files are labelled */
#endif

static ext2_filsys fs;
static unsigned long next_group;	/* round-robin group for new directories */
static ext2_ino_t *cursor;		/* per group: next inode index to try */
static blk64_t *bcursor;		/* per group: next block to try */
static uint32_t next_generation = 0x2f1d0000;	/* older kernels' counter */

struct dent {
	ext2_ino_t ino;
	int type;			/* EXT2_FT_* */
	char name[EXT2_NAME_LEN + 1];
};

struct dent_list {
	struct dent *v;
	size_t n, cap;
};

/* splitmix64: one seeded stream, so that two builds give the same bytes */
static uint64_t rng_state = 0x243f6a8885a308d3ULL;

static uint64_t rnd64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 0 .. n - 1 */
static uint32_t rnd(uint32_t n)
{
	return n ? (uint32_t) ((rnd64() >> 32) % n) : 0;
}

static int chance(unsigned int per_mille)
{
	return rnd(1000) < per_mille;
}

static const char *const words[] = {
	"alpha", "annual", "archive", "backup", "budget", "build", "cache",
	"camera", "client", "config", "contract", "copy", "daily", "data",
	"debug", "design", "draft", "driver", "export", "family", "final",
	"finance", "holiday", "image", "import", "index", "invoice", "kernel",
	"letter", "library", "local", "manual", "meeting", "minutes", "module",
	"network", "notes", "old", "parser", "photo", "plan", "presentation",
	"project", "proposal", "quarterly", "receipt", "release", "report",
	"review", "sales", "scan", "schedule", "server", "service", "shared",
	"slides", "source", "spec", "summary", "support", "system", "team",
	"template", "test", "thesis", "travel", "update", "user", "version",
	"video", "web", "weekly", "work", "Berlin", "London", "Paris",
	"Madrid", "Tokyo", "Oslo", "Lisbon", "January", "March", "June",
	"October", "December", "Monday", "Friday", "blue", "green", "red",
	"large", "small", "new", "latest", "fixed", "signed", "scanned",
	"customer", "supplier", "account", "payment", "order", "delivery",
	"garden", "kitchen", "house", "school", "music", "concert", "live",
	"remix", "acoustic", "session", "chapter", "part", "volume", "episode",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static const char *const exts[] = {
	"pdf", "docx", "txt", "xlsx", "odt", "md", "csv", "pptx", "html",
};
static const char *const src_exts[] = {
	"c", "h", "py", "rs", "go", "java", "js", "cpp", "o", "json",
};
static const char *const labels[] = {
	"unconfined_u:object_r:user_home_t:s0",
	"system_u:object_r:usr_t:s0",
	"system_u:object_r:var_log_t:s0",
	"unconfined_u:object_r:httpd_sys_content_t:s0",
};

enum name_style { DOC, SRC, PHOTO, MUSIC, LOG, HASH, NSTYLES };

/* What the files of one directory share, as on a real filesystem. */
struct theme {
	enum name_style style;
	uint32_t uid, gid;
	uint32_t born;			/* the directory's first file */
	uint32_t span;			/* its files' times spread over this */
	uint32_t clock;			/* PHOTO and LOG: the last file's time */
	uint32_t tsec, tnsec;		/* the clock's tick its files get */
	int extracted;			/* its files' mtimes are older */
	int random_gen;			/* written by a kernel of random
					   generation numbers */
	const char *label;		/* security.selinux of its files, or NULL */
	const char *w1, *w2;		/* name prefix, MUSIC: artist */
	const char *ext, *src_ext;	/* most of its files' extension */
	char sep;			/* DOC: between words */
};

static enum name_style pick_style(void)
{
	static const unsigned int weights[NSTYLES] = {
		[DOC] = 36, [SRC] = 20, [PHOTO] = 16, [MUSIC] = 10,
		[LOG] = 15, [HASH] = 3,
	};
	unsigned int r = rnd(100), i;

	for (i = 0; i < NSTYLES - 1 && r >= weights[i]; i++)
		r -= weights[i];
	return (enum name_style) i;
}

static void new_theme(struct theme *t)
{
	static const uint32_t uids[] = { 0, 1000, 1000, 1000, 1001, 1002, 33, 999 };

	t->style = pick_style();
	t->uid = uids[rnd(sizeof(uids) / sizeof(uids[0]))];
	t->gid = t->uid == 33 ? 33 : t->uid ? 100 + rnd(3) * 900 : 0;
	t->span = 3600 + rnd(2 * YEAR);
	t->born = FIXED_TIME - t->span - rnd(8 * YEAR);
	t->clock = t->born;
	t->tsec = 0;
	t->extracted = chance(PM_EXTRACTED_DIR);
	t->random_gen = chance(PM_RANDOM_GEN_DIR);
	t->label = chance(PM_SELINUX_DIR) ?
		labels[rnd(sizeof(labels) / sizeof(labels[0]))] : NULL;
	t->w1 = words[rnd(NWORDS)];
	t->w2 = words[rnd(NWORDS)];
	t->ext = exts[rnd(sizeof(exts) / sizeof(exts[0]))];
	t->src_ext = src_exts[rnd(sizeof(src_exts) / sizeof(src_exts[0]))];
	t->sep = "-_ "[rnd(3)];
}

static const char *word(void)
{
	return words[rnd(NWORDS)];
}

/* Appends 1 to `max` random words joined by `sep`. */
static int put_words(char *out, size_t size, unsigned int min,
		     unsigned int max, char sep)
{
	unsigned int n = min + rnd(max - min + 1), i;
	int len = 0;

	for (i = 0; i < n && len < (int) size; i++)
		len += snprintf(out + len, size - len, "%s%s",
				i ? (char[]) { sep, 0 } : "", word());
	return len;
}

static void date_of(uint32_t t, unsigned int *y, unsigned int *m,
		    unsigned int *d, unsigned int *hms)
{
	time_t tt = t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	*y = tm.tm_year + 1900;
	*m = tm.tm_mon + 1;
	*d = tm.tm_mday;
	*hms = tm.tm_hour * 10000 + tm.tm_min * 100 + tm.tm_sec;
}

/* The i-th name of a directory: unique in it, 10 to about 90 bytes. */
static void file_name(struct theme *t, unsigned long i, char *out, size_t size)
{
	unsigned int y, m, d, hms, k;
	int len;

	switch (t->style) {
	case DOC:
		/* a naming convention per directory: a fixed prefix */
		len = snprintf(out, size, "%s%c%s%c", t->w1, t->sep, t->w2,
			       t->sep);
		len += put_words(out + len, size - len, 1, 1, t->sep);
		snprintf(out + len, size - len, "%c%lu.%s", t->sep, i,
			 chance(900) ? t->ext :
			 exts[rnd(sizeof(exts) / sizeof(exts[0]))]);
		break;
	case SRC:
		len = snprintf(out, size, "%s_", t->w1);
		len += put_words(out + len, size - len, 1, 1, '_');
		snprintf(out + len, size - len, "_%lx.%s", i,
			 chance(900) ? t->src_ext :
			 src_exts[rnd(sizeof(src_exts) / sizeof(src_exts[0]))]);
		break;
	case PHOTO:
		t->clock += 1 + rnd(900);
		date_of(t->clock, &y, &m, &d, &hms);
		snprintf(out, size, "IMG_%04u%02u%02u_%06u%s.jpg", y, m, d, hms,
			 chance(100) ? "_HDR" : "");
		break;
	case MUSIC:
		len = snprintf(out, size, "%02lu - %s %s - ", i + 1, t->w1, t->w2);
		len += put_words(out + len, size - len, 1, 3, ' ');
		snprintf(out + len, size - len, ".%s", chance(700) ? "flac" : "mp3");
		break;
	case LOG:
		t->clock += rnd(86400);
		date_of(t->clock, &y, &m, &d, &hms);
		snprintf(out, size, "%s-%s.%04u-%02u-%02u.%lu.log%s", t->w1,
			 t->w2, y, m, d, i, chance(800) ? ".gz" : "");
		break;
	default:
		for (k = 0, len = 0; k < 5; k++)
			len += snprintf(out + len, size - len, "%08x",
					(unsigned int) rnd64());
		if (chance(300))
			snprintf(out + len, size - len, ".%s",
				 chance(500) ? "pack" : "idx");
		break;
	}
}

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

static void write_deleted_inode(ext2_ino_t ino);

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
	if (ino % ipg && !ext2fs_test_inode_bitmap2(fs->inode_map, ino + 1) &&
	    chance(PM_DELETED))
		write_deleted_inode(ino + 1);
	return ino;
}

static unsigned long group_of(ext2_ino_t ino)
{
	return (ino - 1) / fs->super->s_inodes_per_group;
}

static void set_time(__u32 *sec, __u32 *extra, uint32_t t, uint32_t nsec)
{
	*sec = t;
	*extra = nsec << 2;
}

/*
 * The kernel stamps files with the clock's last tick: files written in a
 * burst share a time.  Moves the directory's clock on, or not.
 */
static void tick(struct theme *t)
{
	if (t->tsec && chance(PM_SAME_TICK))
		return;
	t->tsec = t->tsec ? t->tsec + rnd(1 + rnd(3600)) :
		  t->born + rnd(t->span);
	if (t->tsec > FIXED_TIME)
		t->tsec = FIXED_TIME - rnd(YEAR);
	t->tnsec = chance(PM_NSEC) ? rnd(1000000000) : 0;
}

/* Times, owner, generation: what a file's life leaves in its inode. */
static void vary_inode(struct ext2_inode_large *inode, struct theme *t)
{
	uint32_t mtime, mnsec, atime, ansec;

	tick(t);
	mtime = t->tsec;
	mnsec = t->tnsec;
	if (t->extracted && chance(900)) {
		/* unpacked from an archive that kept the times */
		mtime = t->born - rnd(4 * YEAR);
		mnsec = 0;
	}
	atime = t->tsec;
	ansec = t->tnsec;
	if (chance(200)) {
		atime += rnd(FIXED_TIME - atime);
		ansec = t->tnsec ? rnd(1000000000) : 0;
	}
	set_time(&inode->i_mtime, &inode->i_mtime_extra, mtime, mnsec);
	set_time(&inode->i_crtime, &inode->i_crtime_extra, t->tsec, t->tnsec);
	set_time(&inode->i_ctime, &inode->i_ctime_extra, t->tsec, t->tnsec);
	set_time(&inode->i_atime, &inode->i_atime_extra, atime, ansec);
	/* kernels before 4.14 counted; later ones draw it at random */
	inode->i_generation = t->random_gen ? (__u32) rnd64() :
			      next_generation++;
	inode->i_uid = (__u16) (chance(950) ? t->uid : 0);
	inode->i_gid = (__u16) (inode->i_uid ? t->gid : 0);
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

/* A hole of the inode table that once held a file, since deleted. */
static void write_deleted_inode(ext2_ino_t ino)
{
	static struct theme t;
	struct ext2_inode_large inode;

	if (!t.span || chance(10))
		new_theme(&t);
	init_inode(&inode, LINUX_S_IFREG | 0644, 0);
	vary_inode(&inode, &t);
	inode.i_dtime = inode.i_ctime + rnd(FIXED_TIME - inode.i_ctime + 1);
	write_inode(ino, &inode);
}

/*
 * Up to `want` free blocks near the group's cursor; sets *got.  Now and
 * then leaves a block or two free behind it, as deletions would.
 */
static blk64_t alloc_run(unsigned long group, blk64_t want, blk64_t *got)
{
	blk64_t first = fs->super->s_first_data_block;
	blk64_t last = ext2fs_blocks_count(fs->super) - 1;
	blk64_t start = bcursor[group], b, set;
	int wrapped = 0;

	if (start < first || start > last)
		start = first;
	while (ext2fs_find_first_zero_block_bitmap2(fs->block_map, start,
						    last, &b)) {
		if (wrapped++)
			die(EXT2_ET_BLOCK_ALLOC_FAIL, "allocating data blocks");
		start = first;
	}
	if (want > last - b + 1)
		want = last - b + 1;
	*got = want;
	if (!ext2fs_find_first_set_block_bitmap2(fs->block_map, b,
						 b + want - 1, &set))
		*got = set - b;
	ext2fs_block_alloc_stats_range(fs, b, *got, +1);
	bcursor[group] = b + *got + (chance(200) ? 1 + rnd(3) : 0);
	return b;
}

/* 0 blocks for a fifth of the files, else 1 to 15, a few much larger. */
static blk64_t pick_blocks(void)
{
	if (chance(PM_EMPTY))
		return 0;
	if (chance(1))
		return 64 + rnd(4000);
	return 1 + rnd(1 + rnd(1 + rnd(16)));
}

/* Maps `blocks` data blocks in up to 4 extents in the inode itself. */
static blk64_t set_extents(struct ext2_inode_large *inode,
			   unsigned long group, blk64_t blocks, int unwritten)
{
	struct ext3_extent_header *eh = (void *) inode->i_block;
	struct ext3_extent *ex = (void *) (eh + 1);
	unsigned int n = blocks > 1 && chance(PM_FRAGMENTED) ? 2 + rnd(3) : 1;
	blk64_t lblk = 0, want, got, start;
	unsigned int i;

	for (i = 0; i < 4 && lblk < blocks; i++) {
		want = blocks - lblk;
		if (i + 1 < n && want > 1)
			want = 1 + rnd((uint32_t) want - 1);
		if (want > 32767)
			want = 32767;
		start = alloc_run(group, want, &got);
		ex[i].ee_block = (__u32) lblk;
		ex[i].ee_len = (__u16) (got | (unwritten ? 0x8000 : 0));
		ex[i].ee_start = (__u32) start;
		ex[i].ee_start_hi = (__u16) (start >> 32);
		lblk += got;
	}
	eh->eh_entries = (__u16) i;
	return lblk;
}

static void set_xattr(ext2_ino_t ino, const char *key, const void *value,
		      size_t len)
{
	struct ext2_xattr_handle *h;
	errcode_t err = ext2fs_xattrs_open(fs, ino, &h);

	if (!err)
		err = ext2fs_xattrs_read(h);
	if (!err)
		err = ext2fs_xattr_set(h, key, value, len);
	if (!err)
		err = ext2fs_xattrs_close(&h);
	if (err)
		die(err, "setting an xattr");
}

static void add_xattrs(ext2_ino_t ino, const struct theme *t)
{
	char v[512];
	int len, i;

	if (t->label)
		set_xattr(ino, "security.selinux", t->label,
			  strlen(t->label) + 1);
	if (chance(PM_URL_XATTR)) {
		len = snprintf(v, sizeof(v), "https://%s.%s.example/%s/%08x",
			       word(), word(), word(), (unsigned) rnd64());
		set_xattr(ino, "user.xdg.origin.url", v, len);
	}
	if (chance(PM_XATTR_BLOCK)) {
		for (i = 0, len = 0; len < 400; i++)
			len += snprintf(v + len, sizeof(v) - len, "%s ", word());
		set_xattr(ino, "user.comment", v, len);
	}
}

/* A regular file: varied inode, `data` or no data blocks. */
static ext2_ino_t make_file(ext2_ino_t dir, struct theme *t, int data)
{
	static const int modes[] = { 0644, 0644, 0644, 0644, 0644, 0644,
				     0644, 0755, 0600, 0664 };
	struct ext2_inode_large inode;
	int mode = LINUX_S_IFREG | modes[rnd(10)];
	ext2_ino_t ino = alloc_inode(group_of(dir), mode);
	blk64_t blocks = data ? pick_blocks() : 0;
	int unwritten = chance(PM_UNWRITTEN);
	__u64 size = 0;

	init_inode(&inode, mode, 1);
	vary_inode(&inode, t);
	if (blocks) {
		blocks = set_extents(&inode, group_of(dir), blocks, unwritten);
		size = unwritten ? rnd64() % (blocks * fs->blocksize) :
		       (blocks - 1) * fs->blocksize + 1 + rnd(fs->blocksize);
		inode.i_blocks = (__u32) (blocks * (fs->blocksize / 512));
	}
	inode.i_size = (__u32) size;
	inode.i_size_high = (__u32) (size >> 32);
	write_inode(ino, &inode);
	if (data)
		add_xattrs(ino, t);
	return ino;
}

/* A file whose every other logical block is mapped: one extent each. */
static ext2_ino_t make_fragmented_file(ext2_ino_t dir, blk64_t extents)
{
	static struct theme t;
	ext2_ino_t ino;
	blk64_t i;

	new_theme(&t);
	ino = make_file(dir, &t, 0);
	for (i = 0; i < extents; i++)
		map_block(ino, 2 * i, BMAP_ALLOC);
	set_size(ino, 2 * extents);
	return ino;
}

static ext2_ino_t make_data_file(ext2_ino_t dir, unsigned long seed)
{
	static struct theme t;
	ext2_ino_t ino;
	char *buf = malloc(fs->blocksize);
	errcode_t err;
	blk64_t i;

	if (!buf)
		die(EXT2_ET_NO_MEMORY, "allocating a block");
	new_theme(&t);
	ino = make_file(dir, &t, 0);
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
	unsigned long files;		/* files here, named file-NNNNNNN */
	unsigned long sub_files;	/* mean count of files in each
					   subdirectory, with long names */
	unsigned long frag, frag_ext;	/* fragmented files here */
	unsigned long data;		/* data files here */
};

static void dir_name(unsigned long i, char *out, size_t size)
{
	int len = put_words(out, size, 1, 4, "-_ "[rnd(3)]);

	snprintf(out + len, size - len, "-%05lu", i);
}

/* A new directory's inode, with its "." and ".." in `l`. */
static ext2_ino_t start_dir(ext2_ino_t parent, int links, struct theme *t,
			    struct dent_list *l)
{
	struct ext2_inode_large inode;
	ext2_ino_t dir = alloc_inode(next_group, LINUX_S_IFDIR | 0755);

	new_theme(t);
	next_group = (next_group + 1) % fs->group_desc_count;
	init_inode(&inode, LINUX_S_IFDIR | (chance(900) ? 0755 : 0700), links);
	vary_inode(&inode, t);
	write_inode(dir, &inode);
	list_add(l, dir, EXT2_FT_DIR, ".");
	list_add(l, parent, EXT2_FT_DIR, "..");
	return dir;
}

/* A directory of `files` files with long names in the style of its theme. */
static ext2_ino_t make_leaf_dir(ext2_ino_t parent, unsigned long files)
{
	struct dent_list l = { 0 };
	char name[EXT2_NAME_LEN + 1];
	unsigned long i;
	struct theme t;
	ext2_ino_t dir = start_dir(parent, 2, &t, &l);

	for (i = 0; i < files; i++) {
		file_name(&t, i, name, sizeof(name));
		list_add(&l, make_file(dir, &t, 1), EXT2_FT_REG_FILE, name);
	}
	set_size(dir, write_dir_blocks(dir, &l));
	free(l.v);
	return dir;
}

/* Make a directory with its whole subtree; returns its inode. */
static ext2_ino_t make_dir(ext2_ino_t parent, const struct dir_spec *s)
{
	struct dent_list l = { 0 };
	char name[EXT2_NAME_LEN + 1];
	unsigned long i, named;
	struct theme t;
	ext2_ino_t dir = start_dir(parent, 2 + s->subs, &t, &l);

	for (i = 0; i < s->subs; i++) {
		named = s->sub_files / 2 + rnd((uint32_t) s->sub_files + 1);
		dir_name(i, name, sizeof(name));
		list_add(&l, make_leaf_dir(dir, named), EXT2_FT_DIR, name);
	}
	for (i = 0; i < s->files; i++) {
		snprintf(name, sizeof(name), "file-%07lu", i);
		list_add(&l, make_file(dir, &t, 1), EXT2_FT_REG_FILE, name);
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
	char name[64];
	errcode_t err;
	dgrp_t g;
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
	bcursor = calloc(fs->group_desc_count, sizeof(*bcursor));
	if (!cursor || !bcursor)
		die(EXT2_ET_NO_MEMORY, "allocating the group cursors");
	for (g = 0; g < fs->group_desc_count; g++)
		bcursor[g] = ext2fs_group_first_block2(fs, g);

	struct dir_spec top = { .subs = a[1], .sub_files = a[2] };
	struct dir_spec big = { .files = a[4] };
	struct dir_spec odd = { .frag = a[5], .frag_ext = a[6],
				.data = a[7] };

	for (i = 0; i < (int) a[0]; i++) {
		snprintf(name, sizeof(name), "top%04d-%s-%s", i, word(),
			 word());
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
