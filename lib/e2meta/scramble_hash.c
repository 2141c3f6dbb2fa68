/*
 * scramble_hash.c --- the hash of a directory entry name, as
 * ext2fs_dirhash2() computes it, for prepare()'s trials (scramble_htree.c):
 * the original name of every htree entry and each name tried, 5 million
 * hashes on the benchmark's filesystem.
 *
 * The half-MD4 hash (the default of mke2fs), signed or unsigned, of a name
 * that is not casefolded is computed here; every other case (legacy, TEA,
 * casefolded names) goes to libext2fs.  libext2fs packs the name into words
 * one byte at a time, through a function call per 32 bytes, and that cost
 * more than the MD4 rounds; here a word of 4 bytes is one load.
 *
 * The half-MD4 hash of a name of len bytes: a state of four words, the
 * filesystem's hash seed (MD4's initial words if the seed is zero), goes
 * through one cut-down MD4 transform per 32 bytes of the name.  The 8 words
 * of a transform are the bytes big-endian, 4 to a word (as signed chars,
 * sign-extended, for the signed hash), from the chunk's first byte; a word
 * the chunk ends in is filled on the left with the padding word, and the
 * words after it are the padding word: each of its bytes is the number of
 * bytes of the name left from the chunk on (low 8 bits).  The hash is the
 * second word of the state, its low bit cleared.
 *
 * e2q_name_hash_many() hashes up to 8 names at once, one in each lane of
 * 8-word vectors (GCC's vector extension; AVX2 when the CPU has it): the
 * 24 steps of a transform depend on each other, and 8 independent chains
 * go through them in about the time of one.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "e2meta/scramble_int.h"

#define MD4_CHUNK	32
#define ROOT2		0x5a827999U	/* sqrt(2), MD4's second round */
#define ROOT3		0x6ed9eba1U	/* sqrt(3), its third */

void e2q_name_hasher_init(struct name_hasher *h, ext2_filsys fs, int version,
			  const struct ext2fs_nls_table *charset, int casefold)
{
	static const __u32 md4_init[4] = {
		0x67452301U, 0xefcdab89U, 0x98badcfeU, 0x10325476U };
	const __u32 *seed = fs->super->s_hash_seed;

	memset(h, 0, sizeof(*h));
	h->version = version;
	h->seed = seed;
	h->charset = casefold ? charset : NULL;
	h->casefold = casefold;
	h->ours = !casefold && (version == EXT2_HASH_HALF_MD4 ||
				version == EXT2_HASH_HALF_MD4_UNSIGNED);
	h->unsigned_chars = version == EXT2_HASH_HALF_MD4_UNSIGNED;
	if (seed[0] || seed[1] || seed[2] || seed[3])
		memcpy(h->init, seed, sizeof(h->init));
	else
		memcpy(h->init, md4_init, sizeof(h->init));
}

static inline __u32 rotl(__u32 x, unsigned int s)
{
	return (x << s) | (x >> (32 - s));
}

#define CHOICE(x, y, z)		((z) ^ ((x) & ((y) ^ (z))))
#define MAJORITY(x, y, z)	(((x) & (y)) | ((z) & ((x) | (y))))
#define PARITY(x, y, z)		((x) ^ (y) ^ (z))
/* a step of MD4 (RFC 1320): a = (a + f(b, c, d) + word) <<< s */
#define STEP(f, a, b, c, d, word, s)	((a) = rotl((a) + f(b, c, d) + (word), s))

/*
 * The cut-down MD4 transform of one chunk's 8 words, with step() on words
 * or on lanes: MD4's three rounds over 8 words, not 16 (words in the order
 * 0-7, then 1 3 5 7 0 2 4 6, then 3 7 2 6 1 5 0 4).
 */
#define HALF_MD4_STEPS(step, a, b, c, d, w) do { \
	step(CHOICE, a, b, c, d, w[0], 3); \
	step(CHOICE, d, a, b, c, w[1], 7); \
	step(CHOICE, c, d, a, b, w[2], 11); \
	step(CHOICE, b, c, d, a, w[3], 19); \
	step(CHOICE, a, b, c, d, w[4], 3); \
	step(CHOICE, d, a, b, c, w[5], 7); \
	step(CHOICE, c, d, a, b, w[6], 11); \
	step(CHOICE, b, c, d, a, w[7], 19); \
	step(MAJORITY, a, b, c, d, w[1] + ROOT2, 3); \
	step(MAJORITY, d, a, b, c, w[3] + ROOT2, 5); \
	step(MAJORITY, c, d, a, b, w[5] + ROOT2, 9); \
	step(MAJORITY, b, c, d, a, w[7] + ROOT2, 13); \
	step(MAJORITY, a, b, c, d, w[0] + ROOT2, 3); \
	step(MAJORITY, d, a, b, c, w[2] + ROOT2, 5); \
	step(MAJORITY, c, d, a, b, w[4] + ROOT2, 9); \
	step(MAJORITY, b, c, d, a, w[6] + ROOT2, 13); \
	step(PARITY, a, b, c, d, w[3] + ROOT3, 3); \
	step(PARITY, d, a, b, c, w[7] + ROOT3, 9); \
	step(PARITY, c, d, a, b, w[2] + ROOT3, 11); \
	step(PARITY, b, c, d, a, w[6] + ROOT3, 15); \
	step(PARITY, a, b, c, d, w[1] + ROOT3, 3); \
	step(PARITY, d, a, b, c, w[5] + ROOT3, 9); \
	step(PARITY, c, d, a, b, w[0] + ROOT3, 11); \
	step(PARITY, b, c, d, a, w[4] + ROOT3, 15); \
} while (0)

static void half_md4(__u32 st[4], const __u32 w[8])
{
	__u32 a = st[0], b = st[1], c = st[2], d = st[3];

	HALF_MD4_STEPS(STEP, a, b, c, d, w);

	st[0] += a;
	st[1] += b;
	st[2] += c;
	st[3] += d;
}

static inline __u32 load_be32(const unsigned char *p)
{
	__u32 v;

	memcpy(&v, p, 4);
	return ext2fs_be32_to_cpu(v);
}

/* n (up to 4) bytes, big-endian, after `into` shifted left by 8n. */
static __u32 pack_bytes(__u32 into, const unsigned char *p, unsigned int n,
			int unsigned_chars)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		__u32 c = unsigned_chars ? p[i] : (__u32) (int) (signed char) p[i];

		into = (into << 8) + c;
	}
	return into;
}

/*
 * The 8 words of the chunk at p, left bytes of the name from p on.  A word
 * of 4 bytes is one load; under the signed hash, a word with a byte >= 0x80
 * (its sign carries into the bytes before it) is packed again byte by byte.
 */
static void chunk_words(const unsigned char *p, unsigned int left,
			int unsigned_chars, __u32 w[8])
{
	__u32 pad = left | (left << 8), high = 0;
	unsigned int n = left < MD4_CHUNK ? left : MD4_CHUNK, k;

	pad |= pad << 16;
	if (n == MD4_CHUNK) {
		w[0] = load_be32(p);
		w[1] = load_be32(p + 4);
		w[2] = load_be32(p + 8);
		w[3] = load_be32(p + 12);
		w[4] = load_be32(p + 16);
		w[5] = load_be32(p + 20);
		w[6] = load_be32(p + 24);
		w[7] = load_be32(p + 28);
		high = w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7];
	} else {
		for (k = 0; k < n / 4; k++) {
			w[k] = load_be32(p + 4 * k);
			high |= w[k];
		}
		w[k++] = pack_bytes(pad, p + 4 * (n / 4), n % 4, unsigned_chars);
		for (; k < 8; k++)
			w[k] = pad;
	}
	if (unsigned_chars || !(high & 0x80808080U))
		return;
	for (k = 0; k < n / 4; k++)
		if (w[k] & 0x80808080U)
			w[k] = pack_bytes(0, p + 4 * k, 4, 0);
}

typedef __u32 lanes8 __attribute__((vector_size(32)));

/* half_md4() in 8 lanes, where `active`; the others keep their state. */
static inline __attribute__((always_inline))
void half_md4_lanes(lanes8 st[4], const lanes8 w[8], const lanes8 *active)
{
	lanes8 a = st[0], b = st[1], c = st[2], d = st[3];

#define ROTL_LANES(x, s)	(((x) << (s)) | ((x) >> (32 - (s))))
#define STEP_LANES(f, a, b, c, d, word, s) \
	((a) = ROTL_LANES((a) + f(b, c, d) + (word), s))
	HALF_MD4_STEPS(STEP_LANES, a, b, c, d, w);
#undef STEP_LANES
#undef ROTL_LANES

	st[0] += a & *active;
	st[1] += b & *active;
	st[2] += c & *active;
	st[3] += d & *active;
}

/*
 * One chunk of each name still going: its words, lane by lane; `active`
 * marks the lanes whose names reach this far.
 */
static inline __attribute__((always_inline))
void gather_chunk(const struct name_hasher *h, const char *const names[],
		  const unsigned int lens[], unsigned int n, unsigned int from,
		  lanes8 w[8], lanes8 *active)
{
	__u32 words[8][8];
	unsigned int i, k;

	for (i = 0; i < 8; i++) {
		int on = i < n && lens[i] > from;

		(*active)[i] = on ? ~0U : 0;
		if (on)
			chunk_words((const unsigned char *) names[i] + from,
				    lens[i] - from, h->unsigned_chars,
				    words[i]);
		else
			memset(words[i], 0, sizeof(words[i]));
	}
	for (k = 0; k < 8; k++)
		for (i = 0; i < 8; i++)
			w[k][i] = words[i][k];
}

static inline __attribute__((always_inline)) void hash_lanes(const struct name_hasher *h,
			      const char *const names[],
			      const unsigned int lens[], unsigned int n,
			      uint32_t *hashes)
{
	unsigned int i, from, longest = 0;
	lanes8 st[4], w[8], active;

	for (i = 0; i < 4; i++)
		st[i] = (lanes8) { 0 } + h->init[i];
	for (i = 0; i < n; i++)
		longest = lens[i] > longest ? lens[i] : longest;
	for (from = 0; from < longest; from += MD4_CHUNK) {
		gather_chunk(h, names, lens, n, from, w, &active);
		half_md4_lanes(st, w, &active);
	}
	for (i = 0; i < n; i++)
		hashes[i] = st[1][i] & ~1U;
}

__attribute__((target("avx2")))
static void hash_lanes_avx2(const struct name_hasher *h,
			    const char *const names[],
			    const unsigned int lens[], unsigned int n,
			    uint32_t *hashes)
{
	hash_lanes(h, names, lens, n, hashes);
}

static void hash_lanes_sse2(const struct name_hasher *h,
			    const char *const names[],
			    const unsigned int lens[], unsigned int n,
			    uint32_t *hashes)
{
	hash_lanes(h, names, lens, n, hashes);
}

static int avx2;		/* set once: the CPU has AVX2 */
static pthread_once_t avx2_once = PTHREAD_ONCE_INIT;

/* E2QCOW_NO_AVX2 set: the other path, for the tests (s_name_hash) */
static void probe_avx2(void)
{
	__builtin_cpu_init();
	avx2 = __builtin_cpu_supports("avx2") != 0 && !getenv("E2QCOW_NO_AVX2");
}

int e2q_name_hash_many(const struct name_hasher *h, const char *const names[],
		       const unsigned int lens[], unsigned int n,
		       uint32_t *hashes)
{
	unsigned int i;

	if (n > 8)
		return -1;
	if (!h->ours) {
		for (i = 0; i < n; i++)
			if (e2q_name_hash(h, names[i], lens[i], &hashes[i]))
				return -1;
		return 0;
	}
	pthread_once(&avx2_once, probe_avx2);
	if (avx2)
		hash_lanes_avx2(h, names, lens, n, hashes);
	else
		hash_lanes_sse2(h, names, lens, n, hashes);
	return 0;
}

int e2q_name_hash(const struct name_hasher *h, const char *name,
		  unsigned int len, uint32_t *hash)
{
	const unsigned char *p = (const unsigned char *) name;
	ext2_dirhash_t major, minor;
	__u32 st[4], w[8];
	unsigned int left;

	if (!h->ours) {
		if (ext2fs_dirhash2(h->version, name, (int) len, h->charset,
				    h->casefold ? EXT4_CASEFOLD_FL : 0,
				    h->seed, &major, &minor))
			return -1;
		*hash = major;
		return 0;
	}
	memcpy(st, h->init, sizeof(st));
	for (left = len; left > 0; left -= left < MD4_CHUNK ? left : MD4_CHUNK) {
		chunk_words(p, left, h->unsigned_chars, w);
		half_md4(st, w);
		p += MD4_CHUNK;
	}
	*hash = st[1] & ~1U;
	return 0;
}
