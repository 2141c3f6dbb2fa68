/*
 * qcow_convert.c --- the whole virtual disk of a qcow image to a raw output.
 *
 * Guest clusters are walked in order and gathered into batches of at most
 * BATCH_BYTES of guest data.  A batch is read in host-offset order: host
 * ranges that are contiguous, or separated by less than MAX_READ_GAP, are
 * read with one pread (straight into the batch buffer when a range feeds a
 * single extent, else through a scratch buffer); compressed clusters are
 * inflated from there.  The batch is then handed to the raw output in guest
 * order, guest-contiguous extents in one call.  Unallocated and zero
 * clusters are never read: they become holes.  Memory: two buffers of
 * BATCH_BYTES and the extent list, whatever the image size.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow_reader_int.h"
#include "qcow/qcow_format.h"
#include "e2q_err.h"

#define CHAIN_CHUNK_BYTES	(1U << 20)

#define BATCH_BYTES	(8U << 20)	/* at least two 2 MiB clusters */
#define MAX_READ_GAP	(64U << 10)
#define MIN_EXTENT	512U		/* smallest subcluster */

struct extent {
	uint64_t guest;
	uint64_t host;
	size_t len;		/* guest bytes */
	size_t host_len;	/* bytes to read: len, or the compressed length */
	size_t slot;		/* offset in the batch buffer */
	int compressed;
};

struct batch {
	e2q_qcow_image *img;
	e2q_raw_output *out;
	struct e2q_qcow_problem *problem;
	struct extent *ext;
	size_t *order;
	size_t count, cap;
	unsigned char *buf;	/* guest data, in guest order */
	unsigned char *scratch;	/* host ranges feeding several extents */
	size_t used;
};

static errcode_t batch_init(struct batch *b, e2q_qcow_image *img,
			    e2q_raw_output *out,
			    struct e2q_qcow_problem *problem)
{
	memset(b, 0, sizeof(*b));
	b->img = img;
	b->out = out;
	b->problem = problem;
	b->cap = BATCH_BYTES / MIN_EXTENT + 1;
	b->ext = malloc(b->cap * sizeof(*b->ext));
	b->order = malloc(b->cap * sizeof(*b->order));
	b->buf = malloc(BATCH_BYTES);
	b->scratch = malloc(BATCH_BYTES);
	if (!b->ext || !b->order || !b->buf || !b->scratch)
		return ENOMEM;
	return 0;
}

static void batch_free(struct batch *b)
{
	free(b->ext);
	free(b->order);
	free(b->buf);
	free(b->scratch);
}

/* Reads [from, from + len) of the image; what lies past its end is zero. */
static errcode_t read_host_range(struct batch *b, unsigned char *dst,
				 uint64_t from, size_t len)
{
	e2q_qcow_image *img = b->img;
	size_t avail = 0;
	errcode_t err;

	if (from < img->file_size)
		avail = img->file_size - from < len ?
			(size_t) (img->file_size - from) : len;
	memset(dst + avail, 0, len - avail);
	if (!avail)
		return 0;
	err = e2q_qcow_read_exact(img, dst, avail, from);
	if (err)
		e2q_qcow_set_problem(b->problem, "data cluster", from);
	return err;
}

static int compare_host(const void *a, const void *b, void *arg)
{
	const struct extent *ext = arg;
	uint64_t x = ext[*(const size_t *) a].host;
	uint64_t y = ext[*(const size_t *) b].host;

	return x < y ? -1 : x > y;
}

/* Fills the extents order[first..last) from one host range [start, end). */
static errcode_t read_group(struct batch *b, size_t first, size_t last,
			    uint64_t start, uint64_t end)
{
	const struct extent *e = &b->ext[b->order[first]];
	size_t k;
	errcode_t err;

	if (last == first + 1 && !e->compressed)
		return read_host_range(b, b->buf + e->slot, e->host, e->len);
	err = read_host_range(b, b->scratch, start, (size_t) (end - start));
	for (k = first; !err && k < last; k++) {
		e = &b->ext[b->order[k]];
		if (!e->compressed) {
			memcpy(b->buf + e->slot, b->scratch + (e->host - start),
			       e->len);
			continue;
		}
		err = e2q_qcow_decompress(b->img,
					  b->scratch + (e->host - start),
					  e->host_len, b->buf + e->slot);
		if (err)
			e2q_qcow_set_problem(b->problem, "compressed cluster",
					     e->host);
	}
	return err;
}

static errcode_t read_batch(struct batch *b)
{
	size_t i = 0, j, k;
	errcode_t err = 0;

	for (k = 0; k < b->count; k++)
		b->order[k] = k;
	qsort_r(b->order, b->count, sizeof(*b->order), compare_host, b->ext);
	while (!err && i < b->count) {
		const struct extent *e = &b->ext[b->order[i]];
		uint64_t start = e->host, end = e->host + e->host_len;

		for (j = i + 1; j < b->count; j++) {
			const struct extent *n = &b->ext[b->order[j]];
			uint64_t n_end = n->host + n->host_len;

			if (n->host > end + MAX_READ_GAP)
				break;
			if (n_end > end) {
				if (n_end - start > BATCH_BYTES)
					break;
				end = n_end;
			}
		}
		err = read_group(b, i, j, start, end);
		i = j;
	}
	return err;
}

static errcode_t write_batch(struct batch *b)
{
	size_t i = 0, j;
	errcode_t err = 0;

	while (!err && i < b->count) {
		const struct extent *e = &b->ext[i];
		size_t len = e->len;

		for (j = i + 1; j < b->count; j++) {
			const struct extent *n = &b->ext[j];

			if (n->guest != e->guest + len ||
			    n->slot != e->slot + len)
				break;
			len += n->len;
		}
		err = e2q_raw_output_write(b->out, e->guest, b->buf + e->slot,
					   len);
		i = j;
	}
	return err;
}

static errcode_t flush_batch(struct batch *b)
{
	errcode_t err = 0;

	if (b->count)
		err = read_batch(b);
	if (!err && b->count)
		err = write_batch(b);
	b->count = 0;
	b->used = 0;
	return err;
}

static errcode_t add_extent(struct batch *b, uint64_t guest, uint64_t host,
			    size_t len, size_t host_len, int compressed)
{
	size_t slot_len = compressed ? b->img->cluster_size : len;
	struct extent *last = b->count ? &b->ext[b->count - 1] : NULL;
	errcode_t err;

	if (last && !compressed && !last->compressed &&
	    last->guest + last->len == guest &&
	    last->host + last->len == host &&
	    b->used + len <= BATCH_BYTES) {
		last->len += len;
		last->host_len += len;
		b->used += len;
		return 0;
	}
	if (b->used + slot_len > BATCH_BYTES || b->count == b->cap) {
		err = flush_batch(b);
		if (err)
			return err;
	}
	last = &b->ext[b->count++];
	last->guest = guest;
	last->host = host;
	last->len = len;
	last->host_len = host_len;
	last->slot = b->used;
	last->compressed = compressed;
	b->used += slot_len;
	return 0;
}

/* Runs of allocated subclusters become extents; the rest are holes. */
static errcode_t add_subclusters(struct batch *b, const struct e2q_qcow_map *m,
				 uint64_t guest, size_t glen)
{
	unsigned int sub_bits = b->img->subcluster_bits;
	unsigned int s = 0, nsub = b->img->cluster_size >> sub_bits;
	errcode_t err = 0;

	while (!err && s < nsub) {
		unsigned int t = s;
		uint64_t from = (uint64_t) s << sub_bits, to;

		if (!(m->alloc_bits & (1U << s))) {
			s++;
			continue;
		}
		while (t < nsub && (m->alloc_bits & (1U << t)))
			t++;
		to = (uint64_t) t << sub_bits;
		if (to > glen)
			to = glen;
		if (from < to)
			err = add_extent(b, guest + from, m->host + from,
					 (size_t) (to - from),
					 (size_t) (to - from), 0);
		s = t;
	}
	return err;
}

static errcode_t add_cluster(struct batch *b, uint64_t cluster)
{
	e2q_qcow_image *img = b->img;
	uint64_t guest = cluster << img->cluster_bits;
	size_t glen = img->cluster_size;
	struct e2q_qcow_map m;
	errcode_t err;

	if (img->virtual_size - guest < glen)
		glen = (size_t) (img->virtual_size - guest);
	err = e2q_qcow_map_cluster(img, cluster, &m, b->problem);
	if (err)
		return err;
	switch (m.kind) {
	case E2Q_QCOW_NORMAL:
		return add_extent(b, guest, m.host, glen, glen, 0);
	case E2Q_QCOW_COMPRESSED:
		return add_extent(b, guest, m.host, glen, (size_t) m.clen, 1);
	case E2Q_QCOW_SUBCLUSTERS:
		return m.host ? add_subclusters(b, &m, guest, glen) : 0;
	default:
		return 0;
	}
}

/*
 * With a backing chain, what each cluster reads as depends on every image
 * below: read the guest disk in order through e2q_qcow_pread() instead.
 */
static errcode_t convert_through_chain(e2q_qcow_image *img, e2q_raw_output *out,
				       struct e2q_qcow_problem *problem)
{
	uint64_t offset = 0;
	unsigned char *buf = malloc(CHAIN_CHUNK_BYTES);
	errcode_t err = buf ? 0 : ENOMEM;

	while (!err && offset < img->virtual_size) {
		size_t n = img->virtual_size - offset < CHAIN_CHUNK_BYTES ?
			   (size_t) (img->virtual_size - offset) :
			   CHAIN_CHUNK_BYTES;

		err = e2q_qcow_pread(img, buf, n, offset, problem);
		if (!err) {
			problem->structure = NULL;	/* output side from here */
			err = e2q_raw_output_write(out, offset, buf, n);
		}
		offset += n;
	}
	free(buf);
	return err;
}

errcode_t e2q_qcow_convert_to_raw(e2q_qcow_image *img, e2q_raw_output *out,
				  struct e2q_qcow_problem *problem)
{
	uint64_t per_l2 = 1ULL << img->l2_bits;
	uint64_t cluster = 0;
	struct batch b;
	errcode_t err;

	if (img->has_parent)
		return convert_through_chain(img, out, problem);
	err = batch_init(&b, img, out, problem);
	(void) posix_fadvise(img->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	while (!err && cluster < img->nb_clusters) {
		uint64_t l1_index = cluster >> img->l2_bits;

		if (l1_index >= img->l1_size || img->l1[l1_index] == 0) {
			cluster = (l1_index + 1) * per_l2;
			continue;
		}
		err = add_cluster(&b, cluster);
		cluster++;
	}
	if (!err)
		err = flush_batch(&b);
	batch_free(&b);
	return err;
}
