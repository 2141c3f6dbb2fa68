/*
 * scramble_pass.c --- a second thread that scrambles part of each run of a
 * pass beside the caller of e2q_scramble_blocks(): the blocks of a run are
 * claimed 16 at a time by whichever thread is free.  Scrambling a block is
 * a pure function of its bytes and the plan, so the bytes are the same
 * whoever scrambles it; the counts are sums.
 *
 * The thread starts when prepare() ends and stops in e2q_scrambler_free(),
 * when the source's channel may be read from two threads at once
 * (CHANNEL_FLAGS_THREADS: the caller reads runs while the thread may read
 * an inode).
 * What scrambling asks of libext2fs that is not pure (ext2fs_read_inode(),
 * which caches, and the checksums of blocks that read the inode) goes
 * through e2q_scramble_lock().  A run the thread has not begun by the time
 * the caller has claimed every block is closed: the caller never waits for
 * a thread that the machine has not scheduled.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "e2meta/scramble_int.h"

#define CLAIM_BLOCKS	16

struct pass_helper {
	const e2q_scrambler *s;
	pthread_t tid;
	pthread_mutex_t mu;		/* the run and its claims */
	pthread_cond_t cv;
	pthread_mutex_t fs_lock;	/* e2q_scramble_lock() */
	int quit;
	/* the run under way: number gen, blocks [first, first + count) */
	unsigned long gen, closed, working;
	blk64_t first, count, next;
	char *data;
	struct e2q_scramble_stats theirs;	/* what the thread counted */
	errcode_t their_err;
};

void e2q_scramble_lock(const e2q_scrambler *s)
{
	if (s->helper)
		pthread_mutex_lock(&s->helper->fs_lock);
}

void e2q_scramble_unlock(const e2q_scrambler *s)
{
	if (s->helper)
		pthread_mutex_unlock(&s->helper->fs_lock);
}

errcode_t e2q_scramble_read_inode(const e2q_scrambler *s, ext2_ino_t ino,
				  struct ext2_inode *inode)
{
	errcode_t err;

	e2q_scramble_lock(s);
	err = ext2fs_read_inode(s->fs, ino, inode);
	e2q_scramble_unlock(s);
	return err;
}

/* Claims and scrambles blocks of the run until none is left. */
static void scramble_claims(struct pass_helper *h, struct scramble_call *c)
{
	unsigned int bs = h->s->fs->blocksize;

	for (;;) {
		blk64_t at, n, i;

		pthread_mutex_lock(&h->mu);
		at = h->next;
		n = at < h->count ? h->count - at : 0;
		n = n < CLAIM_BLOCKS ? n : CLAIM_BLOCKS;
		h->next += n;
		pthread_mutex_unlock(&h->mu);
		if (!n)
			return;
		for (i = at; i < at + n; i++)
			e2q_scramble_one_block(c, h->first + i,
					       h->data + i * bs);
	}
}

static void *helper_main(void *arg)
{
	struct pass_helper *h = arg;
	unsigned long seen = 0;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		struct scramble_call c = { .s = h->s };

		while (!h->quit && (h->gen == seen || h->gen == h->closed))
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->quit)
			break;
		seen = h->working = h->gen;
		pthread_mutex_unlock(&h->mu);
		scramble_claims(h, &c);
		pthread_mutex_lock(&h->mu);
		e2q_scramble_add_stats(&h->theirs, &c.counted);
		h->their_err = c.err;
		h->working = 0;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

int e2q_pass_helper_run(const e2q_scrambler *s, blk64_t first, blk64_t count,
			char *data, struct scramble_call *into)
{
	struct pass_helper *h = s->helper;
	struct scramble_call c = { .s = s };

	if (!h || count < 2 * CLAIM_BLOCKS)
		return -1;
	pthread_mutex_lock(&h->mu);
	h->first = first;
	h->count = count;
	h->next = 0;
	h->data = data;
	memset(&h->theirs, 0, sizeof(h->theirs));
	h->their_err = 0;
	h->gen++;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);

	scramble_claims(h, &c);

	pthread_mutex_lock(&h->mu);
	if (h->working != h->gen)
		h->closed = h->gen;	/* not begun: it will not be */
	while (h->working == h->gen)
		pthread_cond_wait(&h->cv, &h->mu);
	e2q_scramble_add_stats(&c.counted, &h->theirs);
	c.err = c.err ? c.err : h->their_err;
	pthread_mutex_unlock(&h->mu);
	e2q_scramble_add_stats(&into->counted, &c.counted);
	into->err = into->err ? into->err : c.err;
	return 0;
}

void e2q_pass_helper_start(e2q_scrambler *s)
{
	struct pass_helper *h;

	/* it reads inodes while the caller reads runs: one channel */
	if (!(s->fs->io->flags & CHANNEL_FLAGS_THREADS))
		return;		/* scrambled by the caller alone */
	h = calloc(1, sizeof(*h));
	if (!h)
		return;
	h->s = s;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	pthread_mutex_init(&h->fs_lock, NULL);
	if (pthread_create(&h->tid, NULL, helper_main, h)) {
		pthread_mutex_destroy(&h->mu);
		pthread_cond_destroy(&h->cv);
		pthread_mutex_destroy(&h->fs_lock);
		free(h);
		return;
	}
	s->helper = h;
}

void e2q_pass_helper_stop(e2q_scrambler *s)
{
	struct pass_helper *h = s->helper;

	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->quit = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->tid, NULL);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->fs_lock);
	free(h);
	s->helper = NULL;
}
