/*
 * scramble_naming.c --- the naming queue: the htree directories whose
 * index prepare() has read (scramble_htree.c), their leaves read and named
 * on a thread of their own while prepare() goes on and, once it returns,
 * while the passes run.
 *
 * prepare() adds the directories in the order of their first block, the
 * order a pass meets them, and the thread takes them in that order: first
 * it reads the leaves (unless prepare() did, the channel not allowing it)
 * and finds where each new name must hash to (the original names' hashes),
 * then it names them a group (a name length) at a time.  Whoever needs a
 * directory's names before the thread is done with it (a pass at one of
 * its leaves, the stats) claims what is left of it and does it beside the
 * thread, then waits for the rest.  Each group's names depend on its
 * entries alone and the counts are sums, so the plan is the same whoever
 * names what, and in whatever order.
 *
 * Memory: the directories not yet named are held at most PENDING_BYTES at
 * a time, beyond one directory: past that, prepare() names beside the
 * thread before it adds another.  (Their leaves read, they hold their
 * entries and original names.)
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "e2meta/scramble_int.h"

#define PENDING_BYTES	((size_t) 64 << 20)
#define TARGETS		((size_t) -1)	/* a claim: the job's targets */

struct naming_job {
	struct hdir *dir;		/* once done: named, unless err */
	size_t bytes;			/* what it holds until named */
	int targets_claimed, targets_set;
	size_t ngroups, next_group, groups_done;	/* once targets_set */
	struct e2q_htree_stats st;
	errcode_t err;
	int done;
};

struct naming_queue {
	e2q_scrambler *s;
	pthread_t tid;
	pthread_mutex_t mu;		/* everything below, and the jobs */
	pthread_cond_t cv;		/* a job added or done, or quit */
	struct naming_job **jobs;	/* in the order added */
	size_t njobs, jobs_cap;
	size_t first_open;		/* jobs before it: all claimed */
	size_t pending;			/* bytes of the jobs not done */
	struct e2q_htree_stats named;	/* what the jobs done did */
	int running, quit;
};

/* Under mu: j's targets (*k = TARGETS) or one of its groups, if free. */
static int claim_in(struct naming_job *j, size_t *k)
{
	if (!j->targets_claimed) {
		j->targets_claimed = 1;
		*k = TARGETS;
		return 1;
	}
	if (!j->targets_set || j->next_group == j->ngroups)
		return 0;
	*k = j->next_group++;
	return 1;
}

static int all_claimed(const struct naming_job *j)
{
	return j->targets_set && j->next_group == j->ngroups;
}

/* Under mu: a claim in j, or in the first job with one free when j is NULL. */
static struct naming_job *claim(struct naming_queue *q, struct naming_job *j,
				size_t *k)
{
	size_t i;

	if (j)
		return claim_in(j, k) ? j : NULL;
	while (q->first_open < q->njobs && all_claimed(q->jobs[q->first_open]))
		q->first_open++;
	/* past the jobs whose targets another thread is setting */
	for (i = q->first_open; i < q->njobs; i++)
		if (claim_in(q->jobs[i], k))
			return q->jobs[i];
	return NULL;
}

/* Under mu: j's last group is named; its codes replace the entries. */
static void finish_job(struct naming_queue *q, struct naming_job *j)
{
	if (!j->err)
		e2q_htree_name_end(j->dir);
	e2q_htree_add_stats(&q->named, &j->st);
	q->pending -= j->bytes;
	j->done = 1;
	pthread_cond_broadcast(&q->cv);
}

/* Called with mu held; sets the targets of j without it. */
static void set_targets(struct naming_queue *q, struct naming_job *j)
{
	size_t ngroups;
	errcode_t err;

	pthread_mutex_unlock(&q->mu);
	err = e2q_htree_targets(j->dir, &ngroups);
	pthread_mutex_lock(&q->mu);
	j->err = err;
	j->ngroups = ngroups;
	j->targets_set = 1;
	if (!ngroups)
		finish_job(q, j);
	pthread_cond_broadcast(&q->cv);	/* its groups may be claimed */
}

/* Called with mu held; does claim k of j (its targets, or a group). */
static void name_claimed(struct naming_queue *q, struct naming_job *j,
			 size_t k)
{
	struct e2q_htree_stats st;
	errcode_t err;

	if (k == TARGETS) {
		set_targets(q, j);
		return;
	}
	memset(&st, 0, sizeof(st));
	pthread_mutex_unlock(&q->mu);
	err = e2q_htree_name_group(j->dir, k, &st);
	pthread_mutex_lock(&q->mu);
	e2q_htree_add_stats(&j->st, &st);
	if (err && !j->err)
		j->err = err;
	if (++j->groups_done == j->ngroups)
		finish_job(q, j);
}

static void *naming_main(void *arg)
{
	struct naming_queue *q = arg;
	struct naming_job *j;
	size_t k;

	pthread_mutex_lock(&q->mu);
	while (!q->quit) {
		j = claim(q, NULL, &k);
		if (j)
			name_claimed(q, j, k);
		else
			pthread_cond_wait(&q->cv, &q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

static errcode_t queue_start(e2q_scrambler *s)
{
	struct naming_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return ENOMEM;
	q->s = s;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->running = pthread_create(&q->tid, NULL, naming_main, q) == 0;
	s->naming = q;
	return 0;
}

static errcode_t push_job(struct naming_queue *q, struct naming_job *j)
{
	if (q->njobs == q->jobs_cap) {
		size_t cap = q->jobs_cap ? 2 * q->jobs_cap : 64;
		struct naming_job **t = realloc(q->jobs, cap * sizeof(*t));

		if (!t)
			return ENOMEM;
		q->jobs = t;
		q->jobs_cap = cap;
	}
	q->jobs[q->njobs++] = j;
	q->pending += j->bytes;
	pthread_cond_broadcast(&q->cv);
	return 0;
}

/* Under mu: names beside the thread until few enough entries wait. */
static void bound_pending(struct naming_queue *q)
{
	struct naming_job *j;
	size_t k;

	while (q->pending > PENDING_BYTES) {
		j = claim(q, NULL, &k);
		if (j)
			name_claimed(q, j, k);
		else
			pthread_cond_wait(&q->cv, &q->mu);
	}
}

/* Under mu: names what is left of j beside the thread, and waits for it. */
static void complete(struct naming_queue *q, struct naming_job *j)
{
	size_t k;

	while (!j->done) {
		if (claim(q, j, &k))
			name_claimed(q, j, k);
		else
			pthread_cond_wait(&q->cv, &q->mu);
	}
}

errcode_t e2q_naming_add(e2q_scrambler *s, struct hdir *d, size_t bytes)
{
	struct naming_job *j = calloc(1, sizeof(*j));
	struct naming_queue *q;
	errcode_t err;

	err = j ? 0 : ENOMEM;
	if (!err && !s->naming)
		err = queue_start(s);
	if (err) {
		free(j);
		e2q_htree_dir_free(d);
		return err;
	}
	q = s->naming;
	j->dir = d;
	j->bytes = bytes;
	pthread_mutex_lock(&q->mu);
	err = push_job(q, j);
	if (err) {
		e2q_htree_dir_free(d);
		free(j);
	} else if (!q->running) {
		complete(q, j);		/* no thread: named here, now */
	} else {
		bound_pending(q);
	}
	pthread_mutex_unlock(&q->mu);
	return err;
}

errcode_t e2q_naming_wait(const e2q_scrambler *s, uint32_t job,
			  const struct hdir **dir)
{
	struct naming_queue *q = s->naming;
	struct naming_job *j;
	errcode_t err;

	*dir = NULL;
	if (!q)
		return EINVAL;
	pthread_mutex_lock(&q->mu);
	if (job < q->njobs) {
		j = q->jobs[job];
		complete(q, j);
		err = j->err;
		*dir = err ? NULL : j->dir;
	} else {
		err = EINVAL;
	}
	pthread_mutex_unlock(&q->mu);
	return err;
}

errcode_t e2q_naming_wait_all(const e2q_scrambler *s,
			      struct e2q_htree_stats *st)
{
	struct naming_queue *q = s->naming;
	errcode_t err = 0;
	size_t i;

	if (!q)
		return 0;
	pthread_mutex_lock(&q->mu);
	for (i = 0; i < q->njobs; i++) {
		complete(q, q->jobs[i]);
		if (!err)
			err = q->jobs[i]->err;
	}
	e2q_htree_add_stats(st, &q->named);
	pthread_mutex_unlock(&q->mu);
	return err;
}

void e2q_naming_stop(e2q_scrambler *s)
{
	struct naming_queue *q = s->naming;
	size_t i;

	if (!q)
		return;
	if (q->running) {
		pthread_mutex_lock(&q->mu);
		q->quit = 1;
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
		pthread_join(q->tid, NULL);
	}
	for (i = 0; i < q->njobs; i++) {
		e2q_htree_dir_free(q->jobs[i]->dir);
		free(q->jobs[i]);
	}
	free(q->jobs);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q);
	s->naming = NULL;
}
