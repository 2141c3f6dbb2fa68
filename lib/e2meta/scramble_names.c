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

/* Two letters of a name: the digits of d < n * n, d / n first. */
static inline void put_pair(const char *letters, uint32_t n, uint32_t d,
			    char *at)
{
	at[0] = letters[d / n];
	at[1] = letters[d % n];
}

/*
 * The first letters of a long name: y in base n, its lowest digit first,
 * two digits per division.
 */
static inline void put_low_first(const char *letters, uint32_t n, uint32_t y,
				 unsigned int count, char *name)
{
	unsigned int i;

	for (i = 0; i + 1 < count; i += 2) {
		uint32_t d = y % (n * n);

		y /= n * n;
		name[i] = letters[d % n];
		name[i + 1] = letters[d / n];
	}
	if (i < count)
		name[i] = letters[y % n];
}

/*
 * count (at most 10) letters from the 64 random bits x: each letter is the
 * high word of x * n, x the low word after it, so that the count letters
 * are the digits in base n, highest first, of the high word of
 * x * n^count (n^10 < 2^64); written from the last, two at a time.
 */
static inline void put_random(const char *letters, uint32_t n, uint64_t x,
			      unsigned int count, char *name)
{
	uint64_t pow = 1, h;
	unsigned int i;

	for (i = 0; i < count; i++)
		pow *= n;
	h = (uint64_t) (((unsigned __int128) x * pow) >> 64);
	for (i = count; i >= 2; i -= 2) {
		put_pair(letters, n, (uint32_t) (h % (n * n)), name + i - 2);
		h /= n * n;
	}
	if (i)
		name[0] = letters[h];
}

/* The name, in letters[0..n) (a constant once inlined: no divisions). */
static inline void make_name(const char *letters, uint32_t n, uint64_t seed,
			     uint32_t space, unsigned int len, uint32_t code,
			     char *name)
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
	y = perm32(code ^ (uint32_t) seed);
	i = len < E2Q_HTREE_DISTINCT_LEN ? len : E2Q_HTREE_DISTINCT_LEN;
	put_low_first(letters, n, y, i, name);
	for (; i < len; i += 10)
		put_random(letters, n,
			   mix64(seed ^ (((uint64_t) code << 8) | i)),
			   len - i < 10 ? len - i : 10, name + i);
}

void e2q_htree_name(ext2_ino_t dir, unsigned int len, uint32_t code,
		    int casefold, char *name)
{
	uint64_t seed = mix64(((uint64_t) dir << 16) ^ (len << 1) ^
			      (casefold ? 1 : 0));
	uint32_t space = len < 5 ? e2q_htree_name_space(len, casefold) : 0;

	if (casefold)
		make_name(folded, FOLDED_SIZE, seed, space, len, code, name);
	else
		make_name(mixed, MIXED_SIZE, seed, space, len, code, name);
}
