/*
 * zstd_clusters.c --- what a zstd setting costs on the clusters of a
 * metadata image: compresses every non-zero cluster of a raw image (e2qcow
 * -r output) on one thread and prints the compressed bytes and the CPU
 * time, for sparse clusters (at most 1/16 of their 4 KiB pieces not zero)
 * and the others apart.  How the defaults of lib/qcow/qcow_compress.c were
 * chosen (bench/RESULTS.md).
 *
 *   cc -O2 -o /tmp/zstd_clusters bench/zstd_clusters.c -lzstd
 *   /tmp/zstd_clusters RAW CLUSTER_BITS SETTING [SPARSE_SETTING]
 *
 * SETTING: "L<level>" (zstd's level), or "wlog clog hlog slog mml tlen
 * strategy" with an optional trailing "n" for the hash chain instead of the
 * row match finder.  SPARSE_SETTING (default: SETTING) is used for sparse
 * clusters.  Take the least of a few runs: the machine is shared.
 */
#define _GNU_SOURCE
#define ZSTD_STATIC_LINKING_ONLY
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

static ZSTD_CCtx *make_cctx(const char *setting)
{
	static const ZSTD_cParameter params[] = {
		ZSTD_c_windowLog, ZSTD_c_chainLog, ZSTD_c_hashLog,
		ZSTD_c_searchLog, ZSTD_c_minMatch, ZSTD_c_targetLength,
		ZSTD_c_strategy };
	ZSTD_CCtx *c = ZSTD_createCCtx();
	int v[7], i;

	if (setting[0] == 'L') {
		ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel,
				       atoi(setting + 1));
		return c;
	}
	if (sscanf(setting, "%d %d %d %d %d %d %d", v, v + 1, v + 2, v + 3,
		   v + 4, v + 5, v + 6) != 7) {
		fprintf(stderr, "bad setting: %s\n", setting);
		exit(2);
	}
	for (i = 0; i < 7; i++)
		if (ZSTD_isError(ZSTD_CCtx_setParameter(c, params[i], v[i]))) {
			fprintf(stderr, "bad value %d in: %s\n", v[i], setting);
			exit(2);
		}
	if (strchr(setting, 'n'))
		ZSTD_CCtx_setParameter(c, ZSTD_c_useRowMatchFinder,
				       ZSTD_ps_disable);
	return c;
}

static double cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int is_zero(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

int main(int argc, char **argv)
{
	struct { unsigned long long n, bytes; double cpu; } cls[2] = { { 0 } };
	ZSTD_CCtx *cctx[2];
	unsigned char *in, *out;
	size_t cs, piece;
	off_t end, pos = 0;
	int fd, k;

	if (argc < 4) {
		fprintf(stderr, "usage: %s RAW CLUSTER_BITS SETTING "
			"[SPARSE_SETTING]\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	cs = (size_t) 1 << atoi(argv[2]);
	cctx[0] = make_cctx(argv[3]);
	cctx[1] = make_cctx(argc > 4 ? argv[4] : argv[3]);
	in = malloc(cs);
	out = malloc(cs);
	end = lseek(fd, 0, SEEK_END);
	while (pos < end) {
		size_t used = 0, len;
		double t;
		off_t data = lseek(fd, pos, SEEK_DATA);

		if (data < 0)
			break;
		pos = data & ~(off_t) (cs - 1);
		memset(in, 0, cs);
		if (pread(fd, in, cs, pos) < 0) {
			perror("pread");
			return 1;
		}
		pos += cs;
		for (piece = 0; piece < cs; piece += 4096)
			used += !is_zero(in + piece, 4096);
		if (!used)
			continue;
		k = used * 16 <= cs / 4096;
		t = cpu_now();
		len = ZSTD_compress2(cctx[k], out, cs - 1, in, cs);
		cls[k].cpu += cpu_now() - t;
		cls[k].bytes += ZSTD_isError(len) ? cs : len;
		cls[k].n++;
	}
	for (k = 0; k < 2; k++)
		printf("%-6s clusters %7llu  bytes %11llu  cpu %6.3f s\n",
		       k ? "sparse" : "dense", cls[k].n, cls[k].bytes,
		       cls[k].cpu);
	printf("total  clusters %7llu  bytes %11llu  cpu %6.3f s\n",
	       cls[0].n + cls[1].n, cls[0].bytes + cls[1].bytes,
	       cls[0].cpu + cls[1].cpu);
	return 0;
}
