/*
 * qcowio_threads.c --- reads a qcow image through one e2q_qcow_io_manager
 * channel from four threads at once, as -s does (the pass, the thread that
 * scrambles beside it and the one that names htree directories), and
 * compares every read with the raw image.  The channel must say it may be
 * read so (CHANNEL_FLAGS_THREADS).
 *
 *   qcowio_threads IMAGE RAW       exit 0 same, 1 different, 2 error
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "qcowio/qcow_io.h"

#define THREADS		4
#define READS		20000
#define BLOCK		1024
#define MAX_RUN		8

struct reader {
	pthread_t tid;
	unsigned int seed;
	unsigned long mismatches, errors;
};

static io_channel channel;
static int raw_fd;
static unsigned long long raw_blocks;

static void *read_many(void *arg)
{
	struct reader *r = arg;
	char got[BLOCK * MAX_RUN], want[BLOCK * MAX_RUN];
	int i;

	for (i = 0; i < READS; i++) {
		unsigned long long blk = rand_r(&r->seed) % (raw_blocks -
							      MAX_RUN);
		int n = 1 + rand_r(&r->seed) % MAX_RUN;

		if (io_channel_read_blk64(channel, blk, n, got) ||
		    pread(raw_fd, want, (size_t) n * BLOCK,
			  (off_t) (blk * BLOCK)) != (ssize_t) n * BLOCK)
			r->errors++;
		else if (memcmp(got, want, (size_t) n * BLOCK))
			r->mismatches++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct reader r[THREADS];
	unsigned long bad = 0, errors = 0;
	struct stat st;
	int i;

	if (argc != 3) {
		fprintf(stderr, "usage: qcowio_threads IMAGE RAW\n");
		return 2;
	}
	raw_fd = open(argv[2], O_RDONLY);
	if (raw_fd < 0 || fstat(raw_fd, &st) || st.st_size < 64 * BLOCK ||
	    e2q_qcow_io_manager->open(argv[1], IO_FLAG_THREADS, &channel) ||
	    io_channel_set_blksize(channel, BLOCK)) {
		fprintf(stderr, "qcowio_threads: cannot open %s or %s\n",
			argv[1], argv[2]);
		return 2;
	}
	if (!(channel->flags & CHANNEL_FLAGS_THREADS)) {
		printf("%s: the channel does not allow threads\n", argv[1]);
		return 1;
	}
	raw_blocks = (unsigned long long) st.st_size / BLOCK;
	for (i = 0; i < THREADS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].seed = (unsigned int) i + 1;
		if (pthread_create(&r[i].tid, NULL, read_many, &r[i]))
			return 2;
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(r[i].tid, NULL);
		bad += r[i].mismatches;
		errors += r[i].errors;
	}
	io_channel_close(channel);
	printf("%s: %d threads, %d reads each: %lu differ from %s, "
	       "%lu failed\n", argv[1], THREADS, READS, bad, argv[2], errors);
	return bad || errors ? 1 : 0;
}
