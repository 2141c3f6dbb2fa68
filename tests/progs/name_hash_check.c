/*
 * name_hash_check.c --- the -s scrambler's own name hash
 * (lib/e2meta/scramble_hash.c) against libext2fs's ext2fs_dirhash2(), the
 * oracle: every hash version, signed and unsigned, with a zero and a random
 * seed, casefolded or not, for names of every length from 0 to 255 bytes of
 * random bytes, of bytes >= 0x80 only, and of letters and digits; and its
 * hash of up to 8 names at once (e2q_name_hash_many()), for 1 to 8 names
 * of random lengths each.
 *
 * Usage: name_hash_check [ROUNDS]   (names per length and case; default 40)
 * Prints the number of hashes compared; exits 1 at the first difference.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "e2meta/scramble_int.h"

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint32_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t) (rng >> 32);
}

/* kind 0: any byte; 1: bytes >= 0x80; 2: [A-Za-z0-9] */
static void random_name(char *name, unsigned int len, int kind)
{
	static const char alnum[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned int i;

	for (i = 0; i < len; i++) {
		uint32_t r = next_random();

		if (kind == 0)
			name[i] = (char) r;
		else if (kind == 1)
			name[i] = (char) (0x80 | r);
		else
			name[i] = alnum[r % 62];
	}
}

static int check_one(struct struct_ext2_filsys *fs, int version,
		     const struct ext2fs_nls_table *charset, int casefold,
		     const char *name, unsigned int len)
{
	struct name_hasher h;
	ext2_dirhash_t want, minor;
	errcode_t err;
	uint32_t got = 0;
	int rc;

	e2q_name_hasher_init(&h, fs, version, charset, casefold);
	rc = e2q_name_hash(&h, name, len, &got);
	err = ext2fs_dirhash2(version, name, (int) len,
			      casefold ? charset : NULL,
			      casefold ? EXT4_CASEFOLD_FL : 0,
			      fs->super->s_hash_seed, &want, &minor);
	if ((rc != 0) != (err != 0) || (!err && got != want)) {
		printf("differ: version %d, casefold %d, length %u: "
		       "ours %08x (%d), libext2fs %08x (%ld)\n", version,
		       casefold, len, got, rc, want, (long) err);
		return 1;
	}
	return 0;
}

/* n names of random lengths and kinds, hashed at once, one by one. */
static int check_many(struct struct_ext2_filsys *fs, int version,
		      const struct ext2fs_nls_table *charset, int casefold,
		      unsigned int n)
{
	static char store[8][EXT2_NAME_LEN];
	const char *names[8];
	unsigned int lens[8], i;
	uint32_t got[8];
	ext2_dirhash_t want, minor;
	struct name_hasher h;

	for (i = 0; i < n; i++) {
		lens[i] = next_random() % (EXT2_NAME_LEN + 1);
		if (next_random() % 2)
			lens[i] %= 40;	/* most names take one chunk */
		random_name(store[i], lens[i], (int) (next_random() % 3));
		names[i] = store[i];
	}
	e2q_name_hasher_init(&h, fs, version, charset, casefold);
	if (e2q_name_hash_many(&h, names, lens, n, got))
		return casefold ? 0 : 1;	/* invalid UTF-8 may have none */
	for (i = 0; i < n; i++) {
		if (ext2fs_dirhash2(version, names[i], (int) lens[i],
				    casefold ? charset : NULL,
				    casefold ? EXT4_CASEFOLD_FL : 0,
				    fs->super->s_hash_seed, &want, &minor) ||
		    got[i] != want) {
			printf("differ at once: version %d, casefold %d, name "
			       "%u of %u, length %u: ours %08x, libext2fs "
			       "%08x\n", version, casefold, i, n, lens[i],
			       got[i], want);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct struct_ext2_filsys fs;
	struct ext2_super_block sb;
	const struct ext2fs_nls_table *utf8 =
		ext2fs_load_nls_table(EXT4_ENC_UTF8_12_1);
	unsigned long rounds = argc > 1 ? strtoul(argv[1], NULL, 0) : 40;
	unsigned long n = 0, r;
	unsigned int len, seeded;
	int version, kind, cf;
	char name[EXT2_NAME_LEN];

	memset(&fs, 0, sizeof(fs));
	memset(&sb, 0, sizeof(sb));
	fs.super = &sb;
	for (seeded = 0; seeded < 2; seeded++) {
		for (len = 0; len < 4; len++)
			sb.s_hash_seed[len] = seeded ? next_random() : 0;
		for (version = 0; version <= EXT2_HASH_TEA_UNSIGNED; version++)
			for (cf = 0; cf < 2; cf++)
				for (kind = 0; kind < 3; kind++)
					for (len = 0; len <= EXT2_NAME_LEN; len++)
						for (r = 0; r < rounds; r++, n++) {
							random_name(name, len, kind);
							if (check_one(&fs, version, utf8, cf,
								      name, len))
								return 1;
						}
	}
	for (version = 0; version <= EXT2_HASH_TEA_UNSIGNED; version++)
		for (cf = 0; cf < 2; cf++)
			for (r = 0; r < rounds * 200; r++, n++)
				if (check_many(&fs, version, utf8, cf,
					       1 + r % 8))
					return 1;
	printf("%lu hashes (and batches of them) the same as "
	       "ext2fs_dirhash2()\n", n);
	return 0;
}
