/*
 * qcow_encoder.c --- a ring of batches: the caller fills one, workers
 * compress those that are ready, the caller delivers finished ones in order.
 *
 * Batch states move FILLING -> READY -> BUSY -> DONE -> (delivered) free.
 * Batches in flight are seq_head .. seq_tail - 1 of the ring; the one being
 * filled is seq_tail.  One mutex guards the states; compression runs outside
 * it.  Workers always take the oldest ready batch, so delivery rarely waits.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_LIBPTHREAD
#include <pthread.h>
#endif

#include "e2q_err.h"
#include "qcow/qcow_encoder.h"

#define BATCH_BYTES	(1U << 20)
#define MAX_THREADS	32

enum batch_state { FREE, FILLING, READY, BUSY, DONE };

struct batch {
	enum batch_state state;
	unsigned int n;			/* clusters used */
	uint64_t *clusters;		/* their numbers, ascending */
	unsigned char *in;		/* their bytes */
	unsigned char *out;		/* compressed bytes, a cluster each */
	struct e2q_qcow_piece *pieces;
	errcode_t err;
};

struct e2q_qcow_encoder {
	unsigned int cluster_bits, block_bits, per_batch;
	size_t cluster_size;
	enum e2q_qcow_codec_type type;
	e2q_qcow_pieces_fn fn;
	void *priv;
	e2q_qcow_codec *codec;		/* the caller's, without threads */
	struct batch *ring;
	unsigned int nring;
	uint64_t seq_head, seq_tail;
	int filling;			/* ring[seq_tail] is being filled */
	errcode_t err;			/* first error delivered */
#ifdef HAVE_LIBPTHREAD
	unsigned int nthreads;
	pthread_t *threads;
	e2q_qcow_codec **codecs;	/* one per worker */
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	int quit, sync_ready;
#endif
};

static struct batch *batch_at(e2q_qcow_encoder *e, uint64_t seq)
{
	return &e->ring[seq % e->nring];
}

static void compress_batch(e2q_qcow_encoder *e, e2q_qcow_codec *codec,
			   struct batch *b)
{
	unsigned int i;
	size_t len;
	errcode_t err;

	for (i = 0; i < b->n && !b->err; i++) {
		unsigned char *in = b->in + i * e->cluster_size;
		unsigned char *out = b->out + i * e->cluster_size;

		b->pieces[i].data = in;
		b->pieces[i].len = (uint32_t) e->cluster_size;
		if (e2q_is_zero(in, e->cluster_size)) {
			b->pieces[i].len = 0;
			continue;
		}
		if (!codec)
			continue;
		err = e2q_qcow_codec_compress(codec, in, e->cluster_size, out,
					      e->cluster_size - 1, &len);
		if (err == E2Q_ET_QCOW_NO_GAIN)
			continue;
		if (err) {
			b->err = err;
			break;
		}
		b->pieces[i].data = out;
		b->pieces[i].len = (uint32_t) len;
	}
}

/* Hands a finished batch to fn, in runs of consecutive clusters. */
static errcode_t deliver(e2q_qcow_encoder *e, struct batch *b)
{
	unsigned int i = 0, j;
	errcode_t err = b->err;

	while (!err && i < b->n) {
		for (j = i + 1; j < b->n && b->clusters[j] == b->clusters[j - 1] + 1;
		     j++)
			;
		err = e->fn(b->clusters[i], j - i, b->pieces + i, e->priv);
		i = j;
	}
	b->n = 0;
	b->err = 0;
	return err;
}

#ifdef HAVE_LIBPTHREAD
static struct batch *oldest_ready(e2q_qcow_encoder *e)
{
	uint64_t s;

	for (s = e->seq_head; s < e->seq_tail; s++)
		if (batch_at(e, s)->state == READY)
			return batch_at(e, s);
	return NULL;
}

struct worker_arg {
	e2q_qcow_encoder *e;
	e2q_qcow_codec *codec;
};

static void *worker(void *arg)
{
	e2q_qcow_encoder *e = ((struct worker_arg *) arg)->e;
	e2q_qcow_codec *codec = ((struct worker_arg *) arg)->codec;
	struct batch *b = NULL;

	free(arg);
	pthread_mutex_lock(&e->lock);
	for (;;) {
		while (!e->quit && !(b = oldest_ready(e)))
			pthread_cond_wait(&e->work, &e->lock);
		if (e->quit)
			break;
		b->state = BUSY;
		pthread_mutex_unlock(&e->lock);
		compress_batch(e, codec, b);
		pthread_mutex_lock(&e->lock);
		b->state = DONE;
		pthread_cond_broadcast(&e->done);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static errcode_t start_threads(e2q_qcow_encoder *e, unsigned int n, int level)
{
	struct worker_arg *arg;
	errcode_t err;
	unsigned int i;

	e->codecs = calloc(n, sizeof(*e->codecs));
	e->threads = calloc(n, sizeof(*e->threads));
	if (!e->codecs || !e->threads)
		return ENOMEM;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->work, NULL);
	pthread_cond_init(&e->done, NULL);
	e->sync_ready = 1;
	for (i = 0; i < n; i++) {
		err = e2q_qcow_codec_new(e->type, level, &e->codecs[i]);
		if (err)
			return err;
		arg = malloc(sizeof(*arg));
		if (!arg)
			return ENOMEM;
		arg->e = e;
		arg->codec = e->codecs[i];
		err = pthread_create(&e->threads[i], NULL, worker, arg);
		if (err) {
			free(arg);
			return err;
		}
		e->nthreads++;
	}
	return 0;
}

static void stop_threads(e2q_qcow_encoder *e)
{
	unsigned int i;

	if (!e->sync_ready)
		return;
	pthread_mutex_lock(&e->lock);
	e->quit = 1;
	pthread_cond_broadcast(&e->work);
	pthread_mutex_unlock(&e->lock);
	for (i = 0; i < e->nthreads; i++)
		pthread_join(e->threads[i], NULL);
	for (i = 0; e->codecs && i < e->nthreads; i++)
		e2q_qcow_codec_free(e->codecs[i]);
	free(e->codecs);
	free(e->threads);
	pthread_cond_destroy(&e->work);
	pthread_cond_destroy(&e->done);
	pthread_mutex_destroy(&e->lock);
	e->sync_ready = 0;
}

/* Delivers the oldest batch in flight; waits for it when `wait`. */
static errcode_t deliver_head(e2q_qcow_encoder *e, int wait, int *delivered)
{
	struct batch *b = batch_at(e, e->seq_head);
	enum batch_state state;
	errcode_t err;

	*delivered = 0;
	pthread_mutex_lock(&e->lock);
	while (wait && b->state != DONE)
		pthread_cond_wait(&e->done, &e->lock);
	state = b->state;
	pthread_mutex_unlock(&e->lock);
	if (state != DONE)
		return 0;
	err = deliver(e, b);
	pthread_mutex_lock(&e->lock);
	b->state = FREE;
	e->seq_head++;
	pthread_mutex_unlock(&e->lock);
	*delivered = 1;
	return err;
}

static errcode_t submit_threaded(e2q_qcow_encoder *e, struct batch *b)
{
	errcode_t err = 0;
	int delivered = 1;

	pthread_mutex_lock(&e->lock);
	b->state = READY;
	e->seq_tail++;
	pthread_cond_signal(&e->work);
	pthread_mutex_unlock(&e->lock);
	/* write what is finished; wait only when the ring is full */
	while (!err && delivered && e->seq_head < e->seq_tail)
		err = deliver_head(e, e->seq_tail - e->seq_head >= e->nring,
				   &delivered);
	return err;
}

static errcode_t drain(e2q_qcow_encoder *e)
{
	errcode_t err = 0;
	int delivered;

	while (!err && e->seq_head < e->seq_tail)
		err = deliver_head(e, 1, &delivered);
	return err;
}
#endif /* HAVE_LIBPTHREAD */

static int threaded(const e2q_qcow_encoder *e)
{
#ifdef HAVE_LIBPTHREAD
	return e->nthreads > 0;
#else
	(void) e;
	return 0;
#endif
}

static errcode_t submit(e2q_qcow_encoder *e)
{
	struct batch *b = batch_at(e, e->seq_tail);

	e->filling = 0;
#ifdef HAVE_LIBPTHREAD
	if (threaded(e))
		return submit_threaded(e, b);
#endif
	compress_batch(e, e->codec, b);
	b->state = FREE;
	return deliver(e, b);
}

static errcode_t alloc_ring(e2q_qcow_encoder *e)
{
	unsigned int i;

	e->ring = calloc(e->nring, sizeof(*e->ring));
	if (!e->ring)
		return ENOMEM;
	for (i = 0; i < e->nring; i++) {
		struct batch *b = &e->ring[i];

		b->clusters = malloc(e->per_batch * sizeof(*b->clusters));
		b->pieces = malloc(e->per_batch * sizeof(*b->pieces));
		b->in = malloc(e->per_batch * e->cluster_size);
		if (e->type != E2Q_QCOW_CODEC_NONE)
			b->out = malloc(e->per_batch * e->cluster_size);
		if (!b->clusters || !b->pieces || !b->in ||
		    (e->type != E2Q_QCOW_CODEC_NONE && !b->out))
			return ENOMEM;
	}
	return 0;
}

static void init_fields(e2q_qcow_encoder *e,
			const struct e2q_qcow_encoder_params *p,
			e2q_qcow_pieces_fn fn, void *priv)
{
	unsigned int threads = p->threads < MAX_THREADS ? p->threads : MAX_THREADS;

	e->cluster_bits = p->cluster_bits;
	e->block_bits = p->block_bits;
	e->cluster_size = (size_t) 1 << p->cluster_bits;
	e->per_batch = e->cluster_size >= BATCH_BYTES ? 1 :
		       (unsigned int) (BATCH_BYTES / e->cluster_size);
	e->type = p->type;
	e->fn = fn;
	e->priv = priv;
	if (p->type == E2Q_QCOW_CODEC_NONE)
		threads = 0;
#ifndef HAVE_LIBPTHREAD
	threads = 0;
#endif
	/* a batch per worker, one filling, one delivering, two in reserve */
	e->nring = threads ? threads + 4 : 1;
}

errcode_t e2q_qcow_encoder_new(const struct e2q_qcow_encoder_params *p,
			       e2q_qcow_pieces_fn fn, void *priv,
			       e2q_qcow_encoder **ret)
{
	e2q_qcow_encoder *e;
	errcode_t err = 0;

	if (p->block_bits > p->cluster_bits || p->cluster_bits > 30)
		return E2Q_ET_RANGE;
	err = e2q_qcow_codec_check_level(p->type, p->level);
	if (err)
		return err;
	e = calloc(1, sizeof(*e));
	if (!e)
		return ENOMEM;
	init_fields(e, p, fn, priv);
	err = alloc_ring(e);
	if (!err && e->nring == 1 && p->type != E2Q_QCOW_CODEC_NONE)
		err = e2q_qcow_codec_new(p->type, p->level, &e->codec);
#ifdef HAVE_LIBPTHREAD
	if (!err && e->nring > 1)
		err = start_threads(e, e->nring - 4, p->level);
#endif
	if (err) {
		e2q_qcow_encoder_free(e);
		return err;
	}
	*ret = e;
	return 0;
}

/* Makes `cluster` the last one of the batch being filled. */
static errcode_t open_cluster(e2q_qcow_encoder *e, uint64_t cluster,
			      int whole, unsigned char **bytes)
{
	struct batch *b = batch_at(e, e->seq_tail);
	errcode_t err;

	if (e->filling && b->n && b->clusters[b->n - 1] == cluster) {
		*bytes = b->in + (b->n - 1) * e->cluster_size;
		return 0;
	}
	if (e->filling && b->n && b->clusters[b->n - 1] > cluster)
		return E2Q_ET_QCOW_WRITER_ORDER;
	if (e->filling && b->n == e->per_batch) {
		err = submit(e);
		if (err)
			return err;
		b = batch_at(e, e->seq_tail);
	}
	if (!e->filling) {
		b->state = FILLING;
		b->n = 0;
		e->filling = 1;
	}
	b->clusters[b->n] = cluster;
	*bytes = b->in + b->n * e->cluster_size;
	if (!whole)
		memset(*bytes, 0, e->cluster_size);
	b->n++;
	return 0;
}

errcode_t e2q_qcow_encoder_add(e2q_qcow_encoder *e, uint64_t block,
			       uint64_t count, const void *data)
{
	unsigned int shift = e->cluster_bits - e->block_bits;
	uint64_t per_cluster = 1ULL << shift, in, n;
	const unsigned char *p = data;
	unsigned char *bytes;

	while (count > 0 && !e->err) {
		in = block & (per_cluster - 1);
		n = per_cluster - in < count ? per_cluster - in : count;
		e->err = open_cluster(e, block >> shift, n == per_cluster, &bytes);
		if (e->err)
			break;
		memcpy(bytes + (in << e->block_bits), p, n << e->block_bits);
		p += n << e->block_bits;
		block += n;
		count -= n;
	}
	return e->err;
}

errcode_t e2q_qcow_encoder_finish(e2q_qcow_encoder *e)
{
	if (!e->err && e->filling)
		e->err = submit(e);
#ifdef HAVE_LIBPTHREAD
	if (!e->err && threaded(e))
		e->err = drain(e);
#endif
	return e->err;
}

void e2q_qcow_encoder_free(e2q_qcow_encoder *e)
{
	unsigned int i;

	if (!e)
		return;
#ifdef HAVE_LIBPTHREAD
	stop_threads(e);
#endif
	e2q_qcow_codec_free(e->codec);
	for (i = 0; e->ring && i < e->nring; i++) {
		free(e->ring[i].clusters);
		free(e->ring[i].pieces);
		free(e->ring[i].in);
		free(e->ring[i].out);
	}
	free(e->ring);
	free(e);
}
