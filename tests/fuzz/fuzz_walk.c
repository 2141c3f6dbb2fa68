/*
 * fuzz_walk.c --- fuzz target for the metadata walk and the scrambler
 * (lib/e2meta), in process: thousands of mutated filesystems a second.
 *
 * An input is a list of 5-byte patches (4-byte little-endian offset, taken
 * modulo the size of a base filesystem image, and a byte to XOR there)
 * applied to the base image named by $FUZZ_WALK_BASE.  $FUZZ_WALK_BASE may
 * name up to four bases separated by colons: then the input's first byte
 * (modulo their number) picks the base and the patches follow it; with one
 * base, the patches start at the first byte.  The result is opened
 * with libext2fs, walked by e2q_meta_mark() (with the scrambler's role
 * callback) and every marked block read and scrambled, as e2qcow -s -Q does.
 * A crash, a sanitizer report, or a walk that does not end is a bug; so is
 * a run that scrambles to other bytes in a second read pass (exports read
 * some filesystems twice: the scrambler must be a pure function).
 *
 * Built two ways (see tests/fuzz/build.sh):
 *  - with clang -fsanitize=fuzzer: a libFuzzer target;
 *  - without: a driver, `fuzz_walk BASE ITERATIONS SEED` mutating BASE at
 *    random ITERATIONS times (seed SEED), or `fuzz_walk BASE -r FILE...`
 *    replaying saved inputs (a regression run).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "e2q_err.h"
#include "e2meta/e2meta.h"
#include "e2meta/scramble.h"

#define MAX_BASES	4

struct base_image {
	char *bytes;
	size_t size;
	int fd;
	char path[32];		/* /proc/self/fd/N of its work copy */
};

static struct base_image bases[MAX_BASES];
static unsigned int nbases;
/* The base of the current input */
static char *base;
static size_t base_size;
static int work_fd = -1;
static const char *work_path;
/* Inputs whose filesystem opened, and whose walk completed: the replay's
 * proof that it went past ext2fs_open2() */
static unsigned long opened, walked;

static void __attribute__((noreturn)) die(const char *what)
{
	perror(what);
	exit(2);
}

static void load_base(const char *path)
{
	struct base_image *b = &bases[nbases++];
	char tmp[] = "/tmp/fuzz_walk.XXXXXX";
	FILE *f = fopen(path, "rb");
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0 ||
	    fseek(f, 0, SEEK_SET))
		die(path);
	b->size = (size_t) n;
	b->bytes = malloc(b->size);
	if (!b->bytes || fread(b->bytes, 1, b->size, f) != b->size)
		die(path);
	fclose(f);
	b->fd = mkstemp(tmp);
	if (b->fd < 0)
		die("mkstemp");
	unlink(tmp);	/* opened again through /proc/self/fd */
	snprintf(b->path, sizeof(b->path), "/proc/self/fd/%d", b->fd);
	if (pwrite(b->fd, b->bytes, b->size, 0) != (ssize_t) b->size)
		die("pwrite");
}

/*
 * Two read passes, as a qcow2 stream export makes: the first keeps a hash
 * of each scrambled run, the second must give the same.
 */
struct fuzz_passes {
	e2q_scrambler *s;
	unsigned int blocksize;
	uint64_t *sums;
	size_t nsums, cap, next;
	int second;
};

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

/* load_bases "A:B:C": every base named, at most MAX_BASES. */
static void load_bases(const char *list)
{
	char *copy = strdup(list), *name, *save = NULL;

	if (!copy)
		die("strdup");
	for (name = strtok_r(copy, ":", &save); name && nbases < MAX_BASES;
	     name = strtok_r(NULL, ":", &save))
		load_base(name);
	free(copy);
	if (!nbases) {
		fprintf(stderr, "FUZZ_WALK_BASE names no image\n");
		exit(2);
	}
}

static void select_base(unsigned int i)
{
	base = bases[i].bytes;
	base_size = bases[i].size;
	work_fd = bases[i].fd;
	work_path = bases[i].path;
}

static errcode_t scramble_run(blk64_t first, blk64_t count, const void *data,
			      void *priv)
{
	struct fuzz_passes *f = priv;
	errcode_t err = e2q_scramble_blocks(f->s, first, count, (void *) data,
					    NULL);
	uint64_t sum = fnv1a(data, (size_t) count * f->blocksize) ^ err;

	if (f->second) {
		if (f->next >= f->nsums || f->sums[f->next++] != sum) {
			fprintf(stderr, "blocks %llu+%llu scramble to other "
				"bytes in the second pass\n",
				(unsigned long long) first,
				(unsigned long long) count);
			abort();
		}
		return err;
	}
	if (f->nsums == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 64;
		uint64_t *t = realloc(f->sums, cap * sizeof(*t));

		if (!t)
			return ENOMEM;
		f->sums = t;
		f->cap = cap;
	}
	f->sums[f->nsums++] = sum;
	return err;
}

/* 1 when the first pass read every run. */
static int read_twice(ext2_filsys fs, ext2fs_block_bitmap map,
		      e2q_scrambler *s)
{
	struct fuzz_passes f;
	int read_all = 0;

	memset(&f, 0, sizeof(f));
	f.s = s;
	f.blocksize = fs->blocksize;
	if (!e2q_meta_read_runs(fs, map, 256, scramble_run, &f)) {
		read_all = 1;
		f.second = 1;
		e2q_meta_read_runs(fs, map, 256, scramble_run, &f);
	}
	free(f.sums);
	return read_all;
}

static void walk(void)
{
	struct e2q_meta_options mo;
	struct e2q_meta_stats stats;
	struct e2q_scramble_options so;
	e2q_scrambler *s = NULL;
	ext2fs_block_bitmap map = NULL;
	ext2_filsys fs;

	if (ext2fs_open2(work_path, NULL, EXT2_FLAG_64BITS |
			 EXT2_FLAG_IGNORE_CSUM_ERRORS, 0, 0, unix_io_manager,
			 &fs))
		return;
	opened++;
	memset(&mo, 0, sizeof(mo));
	memset(&so, 0, sizeof(so));
	if (e2q_scrambler_new(fs, &so, &s) ||
	    e2q_meta_new_map(fs, &map))
		goto out;
	mo.role = e2q_scrambler_note_role;
	mo.role_priv = s;
	if (!e2q_meta_mark(fs, &mo, map, &stats) && !e2q_scrambler_prepare(s, map) &&
	    read_twice(fs, map, s))
		walked++;
out:
	if (map)
		ext2fs_free_block_bitmap(map);
	e2q_scrambler_free(s);
	ext2fs_close_free(&fs);
}

/*
 * The work file holds the base image; patches change single bytes of it,
 * with value base ^ x when apply, base when undoing (repeated offsets too).
 */
static void patch_bytes(const uint8_t *data, size_t size, int apply)
{
	size_t i, j;

	for (i = 0; i + 5 <= size; i += 5) {
		uint32_t off = (data[i] | data[i + 1] << 8 | data[i + 2] << 16 |
				(uint32_t) data[i + 3] << 24) % base_size;
		char c = base[off];

		for (j = 0; apply && j <= i; j += 5)
			if ((data[j] | data[j + 1] << 8 | data[j + 2] << 16 |
			     (uint32_t) data[j + 3] << 24) % base_size == off)
				c ^= (char) data[j + 4];
		if (pwrite(work_fd, &c, 1, off) != 1)
			die("pwrite");
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("FUZZ_WALK_BASE");

	(void) argc;
	(void) argv;
	if (!path) {
		fprintf(stderr, "set FUZZ_WALK_BASE to a filesystem image\n");
		exit(2);
	}
	add_error_table(&et_ext2_error_table);
	load_bases(path);
	select_base(0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (nbases > 1) {
		if (!size)
			return 0;
		select_base(data[0] % nbases);
		data++;
		size--;
	}
	patch_bytes(data, size, 1);
	walk();
	patch_bytes(data, size, 0);
	return 0;
}

#ifndef FUZZ_WALK_LIBFUZZER
/* Patches that favour the first megabyte, where the metadata is dense. */
static size_t random_input(uint8_t *in, size_t max, unsigned int *seed)
{
	size_t i, n = 5 * (1 + (size_t) rand_r(seed) % (max / 5));

	for (i = 0; i < n; i += 5) {
		uint32_t range = rand_r(seed) % 4 ? 1U << 20 : (uint32_t) base_size;
		uint32_t off = (uint32_t) rand_r(seed) % range;

		in[i] = (uint8_t) off;
		in[i + 1] = (uint8_t) (off >> 8);
		in[i + 2] = (uint8_t) (off >> 16);
		in[i + 3] = (uint8_t) (off >> 24);
		in[i + 4] = (uint8_t) (1 + rand_r(seed) % 255);
	}
	return n;
}

static int replay(int argc, char **argv)
{
	uint8_t in[1 << 16];
	int i;

	for (i = 3; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t n;

		if (!f)
			die(argv[i]);
		n = fread(in, 1, sizeof(in), f);
		fclose(f);
		LLVMFuzzerTestOneInput(in, n);
	}
	printf("%d inputs replayed, %lu opened, %lu walked\n", argc - 3,
	       opened, walked);
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t in[5 * 64];
	unsigned long i, iterations;
	unsigned int seed;

	if (argc < 3) {
		fprintf(stderr, "usage: %s BASE ITERATIONS [SEED] | BASE -r FILE...\n",
			argv[0]);
		return 2;
	}
	setenv("FUZZ_WALK_BASE", argv[1], 1);
	LLVMFuzzerInitialize(&argc, &argv);
	if (strcmp(argv[2], "-r") == 0)
		return replay(argc, argv);
	iterations = strtoul(argv[2], NULL, 0);
	seed = argc > 3 ? (unsigned int) strtoul(argv[3], NULL, 0) : 1;
	for (i = 0; i < iterations; i++) {
		unsigned int s = seed + (unsigned int) i, s0 = s;
		size_t n = random_input(in, sizeof(in), &s);

		if (i % 1000 == 0)
			fprintf(stderr, "%lu done, now seed %u\n", i, s0);
		LLVMFuzzerTestOneInput(in, n);
	}
	printf("%lu mutated filesystems walked from seed %u\n", iterations,
	       seed);
	return 0;
}
#endif
