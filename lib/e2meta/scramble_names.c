/*
 * scramble_names.c --- the names an htree directory's entries are given:
 * name number `code` of a length, a pure function of the directory, the
 * length and the number, so that prepare() stores 4 bytes per entry and
 * every pass makes the same bytes.
 *
 * Letters: [A-Za-z0-9], or [a-z0-9] in a casefolded directory (each such
 * name is its own casefolded form, valid UTF-8, so two different names
 * never fold to the same one).  No '/', NUL or '.': never "." or "..".
 * Where the names of a length are few (at most SMALL_SPACE), the numbers
 * go through every name once, in an order shuffled per directory; above
 * that, each number is a pseudo-random name: different numbers make
 * different names from E2Q_HTREE_DISTINCT_LEN letters on, and below that
 * the planner skips repeats.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "e2meta/scramble_int.h"

static const char mixed[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
static const char folded[] = "abcdefghijklmnopqrstuvwxyz0123456789";
#define MIXED_SIZE	62U
#define FOLDED_SIZE	36U
#define SMALL_SPACE	(1U << 22)
/* a prime that divides no power of 62 or 36: a step through them all */
#define SPACE_STEP	1000003ULL

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* A bijection of 32-bit numbers that mixes their bits. */
static uint32_t perm32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	return x ^ (x >> 16);
}

uint32_t e2q_htree_name_space(unsigned int len, int casefold)
{
	uint64_t space = 1, n = casefold ? FOLDED_SIZE : MIXED_SIZE;
	unsigned int i;

	for (i = 0; i < len; i++) {
		space *= n;
		if (space > SMALL_SPACE)
			return 0;
	}
	return (uint32_t) space;
}

/*
 * Letter pairs, filled once: high[d] holds the letters of the two digits
 * of d < n * n in base n, the high one first; low[d] the low one first.
 */
struct letter_pairs {
	char (*high)[2], (*low)[2];
};
static char mixed_high[MIXED_SIZE * MIXED_SIZE][2];
static char mixed_low[MIXED_SIZE * MIXED_SIZE][2];
static char folded_high[FOLDED_SIZE * FOLDED_SIZE][2];
static char folded_low[FOLDED_SIZE * FOLDED_SIZE][2];
static const struct letter_pairs mixed_pairs = { mixed_high, mixed_low };
static const struct letter_pairs folded_pairs = { folded_high, folded_low };
static pthread_once_t pairs_once = PTHREAD_ONCE_INIT;

static void fill_pairs(const struct letter_pairs *p, const char *letters,
		       uint32_t n)
{
	uint32_t d;

	for (d = 0; d < n * n; d++) {
		p->high[d][0] = p->low[d][1] = letters[d / n];
		p->high[d][1] = p->low[d][0] = letters[d % n];
	}
}

static void fill_all_pairs(void)
{
	fill_pairs(&mixed_pairs, mixed, MIXED_SIZE);
	fill_pairs(&folded_pairs, folded, FOLDED_SIZE);
}

/*
 * count letters from the 64 random bits x: each the high word of x * n, x
 * the low word after it.  Two at a time: the high word of x * n^2 is the
 * first letter's digit times n plus the second's, and the low word is x
 * after both.
 */
static inline void put_random(const char *letters, const char (*high)[2],
			      uint32_t n, uint64_t x, unsigned int count,
			      char *name)
{
	unsigned __int128 m;
	unsigned int i;

	for (i = 0; i + 1 < count; i += 2) {
		m = (unsigned __int128) x * (n * n);
		memcpy(name + i, high[(unsigned int) (m >> 64)], 2);
		x = (uint64_t) m;
	}
	if (i < count) {
		m = (unsigned __int128) x * n;
		name[i] = letters[(unsigned int) (m >> 64)];
	}
}

/* count letters of y in base n, lowest first, two per division. */
static inline void put_digits(const char *letters, const char (*low)[2],
			      uint32_t n, uint32_t y, unsigned int count,
			      char *name)
{
	unsigned int i;

	for (i = 0; i + 1 < count; i += 2) {
		memcpy(name + i, low[y % (n * n)], 2);
		y /= n * n;
	}
	if (i < count)
		name[i] = letters[y % n];
}

/* The name, in letters[0..n) (a constant once inlined: no divisions). */
static inline void make_name(const char *letters,
			     const struct letter_pairs *pairs, uint32_t n,
			     uint64_t seed, uint32_t space, unsigned int len,
			     uint32_t code, char *name)
{
	uint32_t y;
	unsigned int i;

	if (space) {
		y = (uint32_t) ((seed % space + code * SPACE_STEP) % space);
		for (i = 0; i < len; i++) {
			name[i] = letters[y % n];
			y /= n;
		}
		return;
	}
	/*
	 * Long names: the first E2Q_HTREE_DISTINCT_LEN letters write a
	 * bijection of code in base n (n^7 > 2^32), so different numbers make
	 * different names; 64 random bits make the next 10 letters each.
	 */
	i = len < E2Q_HTREE_DISTINCT_LEN ? len : E2Q_HTREE_DISTINCT_LEN;
	put_digits(letters, (const char (*)[2]) pairs->low, n,
		   perm32(code ^ (uint32_t) seed), i, name);
	for (; i < len; i += 10)
		put_random(letters, (const char (*)[2]) pairs->high, n,
			   mix64(seed ^ (((uint64_t) code << 8) | i)),
			   len - i < 10 ? len - i : 10, name + i);
}

void e2q_htree_name(ext2_ino_t dir, unsigned int len, uint32_t code,
		    int casefold, char *name)
{
	uint64_t seed = mix64(((uint64_t) dir << 16) ^ (len << 1) ^
			      (casefold ? 1 : 0));
	uint32_t space = len < 5 ? e2q_htree_name_space(len, casefold) : 0;

	pthread_once(&pairs_once, fill_all_pairs);
	if (casefold)
		make_name(folded, &folded_pairs, FOLDED_SIZE, seed, space, len,
			  code, name);
	else
		make_name(mixed, &mixed_pairs, MIXED_SIZE, seed, space, len,
			  code, name);
}
