/*
 * qcow_writer.c --- a packed qcow2 image, laid out before the first byte of
 * data is written.
 *
 * Layout, in clusters:
 *   header | L1 table | refcount table | refcount blocks | L2 tables | data
 * The plan (which L2 regions hold data, how many data clusters at most) fixes
 * every table's place and size.  Data clusters follow in the order they are
 * put, zero clusters skipped, so the file may end before the planned size;
 * refcount blocks describe exactly the clusters in use, each with refcount 1.
 * An L2 table is written as soon as put() moves past its region, so only one
 * is held in memory.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "e2q_err.h"
#include "qcow/qcow_format.h"
#include "qcow/qcow_writer.h"

#define MAX_IOV		512

enum writer_state { PLANNING, WRITING, FINISHED, FAILED };

struct e2q_qcow_writer {
	enum writer_state state;
	int fd;
	unsigned int version;
	unsigned int cluster_bits;
	uint64_t cluster_size;
	uint64_t virtual_size;
	uint64_t virtual_clusters;
	unsigned int l2_bits;		/* log2 of entries per L2 table */
	uint64_t l1_entries;
	unsigned char *region_planned;	/* one bit per L1 entry */
	uint64_t planned_regions;
	uint64_t planned_clusters;
	uint64_t last_planned_end;

	/* layout, in clusters */
	uint64_t l1_start, l1_clusters;
	uint64_t reftable_start, reftable_clusters;
	uint64_t refblock_start, refblocks;
	uint64_t l2_start;
	uint64_t data_start;

	uint64_t *l1;			/* host order, converted on write */
	unsigned char *l2;		/* the current region's table, on-disk order */
	uint64_t l2_region;		/* region held in l2, or UINT64_MAX */
	uint64_t l2_slots_used;		/* L2 tables handed out so far */
	uint64_t slot_cursor;		/* regions below have a slot */
	uint64_t next_put;		/* lowest cluster put() still accepts */
	uint64_t data_clusters;
	uint64_t zero_clusters;
};

static uint64_t div_round_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

errcode_t e2q_qcow_writer_new(const struct e2q_qcow_writer_params *params,
			      e2q_qcow_writer **ret)
{
	e2q_qcow_writer *w;
	unsigned int bits = params->cluster_bits;

	if (bits < E2Q_QCOW2_MIN_CLUSTER_BITS || bits > E2Q_QCOW2_MAX_CLUSTER_BITS)
		return E2Q_ET_QCOW_BAD_CLUSTER_BITS;
	if (params->virtual_size & ((1ULL << bits) - 1) ||
	    params->virtual_size >> 62)
		return E2Q_ET_RANGE;
	if (params->version != 0 && params->version != 2 && params->version != 3)
		return E2Q_ET_QCOW_BAD_VERSION;
	w = calloc(1, sizeof(*w));
	if (!w)
		return ENOMEM;
	w->version = params->version ? params->version : 2;
	w->cluster_bits = bits;
	w->cluster_size = 1ULL << bits;
	w->virtual_size = params->virtual_size;
	w->virtual_clusters = params->virtual_size >> bits;
	w->l2_bits = bits - 3;
	w->l1_entries = div_round_up(w->virtual_clusters, 1ULL << w->l2_bits);
	if (w->l1_entries * 8 > E2Q_QCOW2_MAX_L1_BYTES) {
		free(w);
		return E2Q_ET_QCOW_TOO_LARGE;
	}
	w->region_planned = calloc(w->l1_entries / 8 + 1, 1);
	w->l1 = calloc(w->l1_entries ? w->l1_entries : 1, sizeof(uint64_t));
	w->l2 = malloc(w->cluster_size);
	if (!w->region_planned || !w->l1 || !w->l2) {
		e2q_qcow_writer_free(w);
		return ENOMEM;
	}
	w->l2_region = UINT64_MAX;
	*ret = w;
	return 0;
}

static int region_is_planned(const e2q_qcow_writer *w, uint64_t region)
{
	return (w->region_planned[region >> 3] >> (region & 7)) & 1;
}

errcode_t e2q_qcow_writer_plan(e2q_qcow_writer *w, uint64_t first,
			       uint64_t count)
{
	uint64_t region, last_region;

	if (w->state != PLANNING)
		return E2Q_ET_QCOW_WRITER_STATE;
	if (count == 0)
		return 0;
	if (first < w->last_planned_end)
		return E2Q_ET_QCOW_WRITER_ORDER;
	if (first >= w->virtual_clusters || count > w->virtual_clusters - first)
		return E2Q_ET_RANGE;
	last_region = (first + count - 1) >> w->l2_bits;
	for (region = first >> w->l2_bits; region <= last_region; region++) {
		if (region_is_planned(w, region))
			continue;
		w->region_planned[region >> 3] |= (unsigned char) (1 << (region & 7));
		w->planned_regions++;
	}
	w->planned_clusters += count;
	w->last_planned_end = first + count;
	return 0;
}

/*
 * Sizes the refcount structures for `total` clusters at most: each refcount
 * block holds cluster_size / 2 16-bit counts, and the blocks and the table
 * count themselves, hence the loop to a fixed point.
 */
static void size_refcounts(e2q_qcow_writer *w, uint64_t others)
{
	uint64_t per_block = w->cluster_size / 2;
	uint64_t per_table_cluster = w->cluster_size / 8;
	uint64_t blocks = 1, table = 1, prev;

	do {
		prev = blocks + table;
		blocks = div_round_up(others + blocks + table, per_block);
		table = div_round_up(blocks, per_table_cluster);
	} while (blocks + table != prev);
	w->refblocks = blocks;
	w->reftable_clusters = table;
}

static void compute_layout(e2q_qcow_writer *w)
{
	w->l1_start = 1;
	w->l1_clusters = div_round_up(w->l1_entries * 8, w->cluster_size);
	if (w->l1_clusters == 0)
		w->l1_clusters = 1;
	size_refcounts(w, 1 + w->l1_clusters + w->planned_regions +
			  w->planned_clusters);
	w->reftable_start = w->l1_start + w->l1_clusters;
	w->refblock_start = w->reftable_start + w->reftable_clusters;
	w->l2_start = w->refblock_start + w->refblocks;
	w->data_start = w->l2_start + w->planned_regions;
}

errcode_t e2q_qcow_writer_start(e2q_qcow_writer *w, int fd)
{
	if (w->state != PLANNING)
		return E2Q_ET_QCOW_WRITER_STATE;
	if (w->reftable_clusters * w->cluster_size > E2Q_QCOW2_MAX_REFTABLE_BYTES)
		return E2Q_ET_QCOW_TOO_LARGE;
	w->fd = fd;
	compute_layout(w);
	w->state = WRITING;
	return 0;
}

static errcode_t pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t) off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)
			return E2Q_ET_SHORT_WRITE;
		p += n;
		len -= (size_t) n;
		off += (uint64_t) n;
	}
	return 0;
}

static errcode_t pwritev_all(int fd, struct iovec *iov, int cnt, uint64_t off)
{
	while (cnt > 0) {
		ssize_t n = pwritev(fd, iov, cnt, (off_t) off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)
			return E2Q_ET_SHORT_WRITE;
		off += (uint64_t) n;
		while (cnt > 0 && (size_t) n >= iov->iov_len) {
			n -= (ssize_t) iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *) iov->iov_base + n;
			iov->iov_len -= (size_t) n;
		}
	}
	return 0;
}

static errcode_t flush_l2(e2q_qcow_writer *w)
{
	uint64_t host;
	errcode_t err;

	if (w->l2_region == UINT64_MAX)
		return 0;
	host = (w->l2_start + w->l2_slots_used - 1) << w->cluster_bits;
	err = pwrite_all(w->fd, w->l2, w->cluster_size, host);
	w->l2_region = UINT64_MAX;
	return err;
}

/* Returns the first planned region at or after `from`, or l1_entries. */
static uint64_t next_planned_region(const e2q_qcow_writer *w, uint64_t from)
{
	while (from < w->l1_entries && !region_is_planned(w, from)) {
		if ((from & 7) == 0 && w->region_planned[from >> 3] == 0)
			from += 8;
		else
			from++;
	}
	return from < w->l1_entries ? from : w->l1_entries;
}

/*
 * Gives the next L2 slot to the next planned region.  Slots go to planned
 * regions in ascending order, so regions that receive no data still get
 * their (all-zero) table and the layout fixed by start() stays exact.
 */
static errcode_t assign_next_slot(e2q_qcow_writer *w, uint64_t *region)
{
	uint64_t r = next_planned_region(w, w->slot_cursor);
	uint64_t slot = w->l2_start + w->l2_slots_used;

	if (r >= w->l1_entries || w->l2_slots_used >= w->planned_regions)
		return E2Q_ET_QCOW_WRITER_STATE;
	w->l1[r] = (slot << w->cluster_bits) | E2Q_QCOW2_OFLAG_COPIED;
	w->l2_slots_used++;
	w->slot_cursor = r + 1;
	memset(w->l2, 0, w->cluster_size);
	w->l2_region = r;
	*region = r;
	return 0;
}

/* Makes `region`'s L2 table current, writing out those it moves past. */
static errcode_t switch_l2(e2q_qcow_writer *w, uint64_t region)
{
	uint64_t r;
	errcode_t err;

	if (region == w->l2_region)
		return 0;
	if (!region_is_planned(w, region) ||
	    (w->l2_region != UINT64_MAX && region < w->l2_region))
		return E2Q_ET_QCOW_WRITER_UNPLANNED;
	do {
		err = flush_l2(w);
		if (!err)
			err = assign_next_slot(w, &r);
		if (err)
			return err;
	} while (r != region);
	return 0;
}

/* Writes the tables of planned regions that never received data. */
static errcode_t flush_remaining_l2(e2q_qcow_writer *w)
{
	uint64_t r;
	errcode_t err = flush_l2(w);

	while (!err && w->l2_slots_used < w->planned_regions) {
		err = assign_next_slot(w, &r);
		if (!err)
			err = flush_l2(w);
	}
	return err;
}

static int cluster_is_zero(const unsigned char *p, size_t len)
{
	return p[0] == 0 && memcmp(p, p + 1, len - 1) == 0;
}

/* Records one stored data cluster in the current L2 table. */
static void map_cluster(e2q_qcow_writer *w, uint64_t cluster, uint64_t host)
{
	uint64_t index = cluster & ((1ULL << w->l2_bits) - 1);

	e2q_put_be64(w->l2 + index * 8,
		     (host << w->cluster_bits) | E2Q_QCOW2_OFLAG_COPIED);
}

/*
 * Stores the non-zero clusters of one L2 region's share of a put() with as
 * few pwritev() calls as possible: stored clusters are contiguous on disk.
 */
static errcode_t put_region(e2q_qcow_writer *w, uint64_t first, uint64_t count,
			    const unsigned char *data)
{
	struct iovec iov[MAX_IOV];
	uint64_t host_first = w->data_start + w->data_clusters, i;
	int cnt = 0;
	errcode_t err;

	for (i = 0; i < count; i++) {
		const unsigned char *c = data + (i << w->cluster_bits);

		if (cluster_is_zero(c, w->cluster_size)) {
			w->zero_clusters++;
			continue;
		}
		map_cluster(w, first + i, w->data_start + w->data_clusters);
		w->data_clusters++;
		if (cnt && (char *) iov[cnt - 1].iov_base +
			   iov[cnt - 1].iov_len == (const char *) c) {
			iov[cnt - 1].iov_len += w->cluster_size;
			continue;
		}
		if (cnt == MAX_IOV) {
			err = pwritev_all(w->fd, iov, cnt,
					  host_first << w->cluster_bits);
			if (err)
				return err;
			host_first = w->data_start + w->data_clusters - 1;
			cnt = 0;
		}
		iov[cnt].iov_base = (void *) c;
		iov[cnt].iov_len = w->cluster_size;
		cnt++;
	}
	if (cnt == 0)
		return 0;
	return pwritev_all(w->fd, iov, cnt, host_first << w->cluster_bits);
}

errcode_t e2q_qcow_writer_put(e2q_qcow_writer *w, uint64_t first,
			      uint64_t count, const void *data)
{
	const unsigned char *p = data;
	errcode_t err = 0;

	if (w->state != WRITING)
		return E2Q_ET_QCOW_WRITER_STATE;
	if (first < w->next_put)
		return E2Q_ET_QCOW_WRITER_ORDER;
	if (first >= w->virtual_clusters || count > w->virtual_clusters - first)
		return E2Q_ET_RANGE;
	while (count > 0 && !err) {
		uint64_t region = first >> w->l2_bits;
		uint64_t room = ((region + 1) << w->l2_bits) - first;
		uint64_t n = count < room ? count : room;

		err = switch_l2(w, region);
		if (!err)
			err = put_region(w, first, n, p);
		p += n << w->cluster_bits;
		first += n;
		count -= n;
		w->next_put = first;
	}
	if (err)
		w->state = FAILED;
	return err;
}

static uint64_t used_clusters(const e2q_qcow_writer *w)
{
	return w->data_start + w->data_clusters;
}

/* Refcount blocks: 1 for every cluster below used_clusters(), 0 after. */
static errcode_t write_refcounts(e2q_qcow_writer *w, unsigned char *buf)
{
	uint64_t per_block = w->cluster_size / 2, used = used_clusters(w), b, i;
	errcode_t err;

	for (b = 0; b < w->refblocks; b++) {
		memset(buf, 0, w->cluster_size);
		for (i = 0; i < per_block && b * per_block + i < used; i++)
			e2q_put_be16(buf + 2 * i, 1);
		err = pwrite_all(w->fd, buf, w->cluster_size,
				 (w->refblock_start + b) << w->cluster_bits);
		if (err)
			return err;
	}
	for (b = 0; b < w->reftable_clusters; b++) {
		uint64_t per = w->cluster_size / 8;

		memset(buf, 0, w->cluster_size);
		for (i = 0; i < per && b * per + i < w->refblocks; i++)
			e2q_put_be64(buf + 8 * i, (w->refblock_start + b * per + i)
				     << w->cluster_bits);
		err = pwrite_all(w->fd, buf, w->cluster_size,
				 (w->reftable_start + b) << w->cluster_bits);
		if (err)
			return err;
	}
	return 0;
}

static errcode_t write_l1(e2q_qcow_writer *w, unsigned char *buf)
{
	uint64_t per = w->cluster_size / 8, c, i;
	errcode_t err;

	for (c = 0; c < w->l1_clusters; c++) {
		memset(buf, 0, w->cluster_size);
		for (i = 0; i < per && c * per + i < w->l1_entries; i++)
			e2q_put_be64(buf + 8 * i, w->l1[c * per + i]);
		err = pwrite_all(w->fd, buf, w->cluster_size,
				 (w->l1_start + c) << w->cluster_bits);
		if (err)
			return err;
	}
	return 0;
}

static void encode_header(const e2q_qcow_writer *w, unsigned char *buf)
{
	memset(buf, 0, w->cluster_size);
	e2q_put_be32(buf + E2Q_QCOW2_OFF_MAGIC, E2Q_QCOW_MAGIC);
	e2q_put_be32(buf + E2Q_QCOW2_OFF_VERSION, w->version);
	e2q_put_be32(buf + E2Q_QCOW2_OFF_CLUSTER_BITS, w->cluster_bits);
	e2q_put_be64(buf + E2Q_QCOW2_OFF_SIZE, w->virtual_size);
	e2q_put_be32(buf + E2Q_QCOW2_OFF_L1_SIZE, (uint32_t) w->l1_entries);
	e2q_put_be64(buf + E2Q_QCOW2_OFF_L1_OFFSET, w->l1_start << w->cluster_bits);
	e2q_put_be64(buf + E2Q_QCOW2_OFF_REFTABLE_OFFSET,
		     w->reftable_start << w->cluster_bits);
	e2q_put_be32(buf + E2Q_QCOW2_OFF_REFTABLE_CLUSTERS,
		     (uint32_t) w->reftable_clusters);
	if (w->version == 3) {
		e2q_put_be32(buf + E2Q_QCOW2_OFF_REFCOUNT_ORDER, 4);
		e2q_put_be32(buf + E2Q_QCOW2_OFF_HEADER_LENGTH,
			     E2Q_QCOW2_V3_HEADER_SIZE);
	}
}

/* A regular file ends exactly after the last used cluster. */
static errcode_t trim_file(const e2q_qcow_writer *w)
{
	struct stat st;

	if (fstat(w->fd, &st) < 0)
		return errno;
	if (S_ISREG(st.st_mode) &&
	    ftruncate(w->fd, (off_t) (used_clusters(w) << w->cluster_bits)) < 0)
		return errno;
	return 0;
}

errcode_t e2q_qcow_writer_finish(e2q_qcow_writer *w)
{
	unsigned char *buf;
	errcode_t err;

	if (w->state != WRITING)
		return E2Q_ET_QCOW_WRITER_STATE;
	buf = malloc(w->cluster_size);
	if (!buf)
		return ENOMEM;
	err = flush_remaining_l2(w);
	if (!err)
		err = write_refcounts(w, buf);
	if (!err)
		err = write_l1(w, buf);
	if (!err)
		err = trim_file(w);
	if (!err) {
		encode_header(w, buf);
		err = pwrite_all(w->fd, buf, w->cluster_size, 0);
	}
	free(buf);
	w->state = err ? FAILED : FINISHED;
	return err;
}

void e2q_qcow_writer_get_stats(const e2q_qcow_writer *w,
			       struct e2q_qcow_writer_stats *stats)
{
	stats->planned_clusters = w->planned_clusters;
	stats->data_clusters = w->data_clusters;
	stats->zero_clusters = w->zero_clusters;
	stats->file_size = w->state == FINISHED ?
		used_clusters(w) << w->cluster_bits : 0;
}

void e2q_qcow_writer_free(e2q_qcow_writer *w)
{
	if (!w)
		return;
	free(w->region_planned);
	free(w->l1);
	free(w->l2);
	free(w);
}
