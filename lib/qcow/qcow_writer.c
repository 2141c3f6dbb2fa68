/*
 * qcow_writer.c --- a packed qcow2 image, laid out before the first byte of
 * data is written, emitted to a file or front to back to a stream.
 *
 * The plan fixes the tables: header, L1, refcount table and blocks, one L2
 * table per planned region, then the data.  Where each stored piece lands
 * follows from the pieces' lengths alone (place()), so the writer keeps a
 * record of them and builds the L2 tables and refcount blocks by replaying
 * it: after the data for a file, before it for a stream, the same bytes.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "e2q_err.h"
#include "qcow/qcow_format.h"
#include "qcow/qcow_layout.h"
#include "qcow/qcow_writer.h"
#include "support/full_io.h"
#include "support/write_behind.h"

#define MAX_IOV			512
#define TABLE_BUF_BYTES		(1U << 20)
#define SECTOR_BITS		9

enum writer_state { PLANNING, MEASURING, WRITING, FINISHED, FAILED };

/* A run of consecutive stored clusters, in the record. */
struct record_run {
	uint64_t first, count;
};

/* The stored pieces' lengths, in put order; zero clusters are left out. */
struct record {
	struct record_run *runs;
	size_t nruns, runs_cap;
	uint32_t *lens;
	uint64_t nlens, lens_cap;
};

struct record_cursor {
	size_t run;
	uint64_t in_run, index;
};

struct e2q_qcow_writer {
	enum writer_state state;
	int fd, stream;
	unsigned int version, compression_type;
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

	struct record rec;
	unsigned char *spool;		/* stream: measured piece bytes */
	uint64_t spool_len, spool_cap, spool_limit;
	int spool_dropped;
	struct record_cursor verify;	/* stream: the next measured piece */
	uint64_t data_next;		/* byte where the next piece may go */
	uint64_t end;			/* bytes of the image, once known */
	uint64_t next_put;		/* lowest cluster put() still accepts */
	uint64_t stream_pos;		/* bytes written to a stream */

	unsigned char *buf;		/* sequential table output */
	size_t buf_size, buf_len;
	uint64_t buf_off;
	unsigned char *zeros;		/* one cluster of zeros */

	uint64_t data_clusters, compressed_clusters, zero_clusters;
	unsigned char *report;		/* the report extension's data */
	uint32_t report_len;
	struct e2q_write_behind behind;	/* file: handed to the disk as written */
};

static uint64_t div_round_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

int e2q_is_zero(const void *p, size_t len)
{
	const unsigned char *c = p;

	return len == 0 || (c[0] == 0 && memcmp(c, c + 1, len - 1) == 0);
}

static errcode_t check_params(const struct e2q_qcow_writer_params *p,
			      unsigned int *version)
{
	unsigned int bits = p->cluster_bits;

	if (bits < E2Q_QCOW2_MIN_CLUSTER_BITS || bits > E2Q_QCOW2_MAX_CLUSTER_BITS)
		return E2Q_ET_QCOW_BAD_CLUSTER_BITS;
	if (p->virtual_size & 511 || p->virtual_size >> 62)
		return E2Q_ET_RANGE;
	if (p->compression_type != E2Q_QCOW2_COMPRESSION_ZLIB &&
	    p->compression_type != E2Q_QCOW2_COMPRESSION_ZSTD)
		return E2Q_ET_QCOW_UNSUPPORTED;
	*version = p->version;
	if (*version == 0)
		*version = p->compression_type ? 3 : 2;
	if (*version != 2 && *version != 3)
		return E2Q_ET_QCOW_BAD_VERSION;
	if (*version == 2 && p->compression_type != E2Q_QCOW2_COMPRESSION_ZLIB)
		return E2Q_ET_QCOW_BAD_VERSION;
	return 0;
}

errcode_t e2q_qcow_writer_new(const struct e2q_qcow_writer_params *params,
			      e2q_qcow_writer **ret)
{
	e2q_qcow_writer *w;
	unsigned int version;
	errcode_t err = check_params(params, &version);

	if (err)
		return err;
	w = calloc(1, sizeof(*w));
	if (!w)
		return ENOMEM;
	w->version = version;
	w->compression_type = params->compression_type;
	w->stream = params->stream;
	w->spool_limit = params->stream ? params->spool_limit : 0;
	w->spool_dropped = w->spool_limit == 0;
	w->fd = -1;
	w->cluster_bits = params->cluster_bits;
	w->cluster_size = 1ULL << params->cluster_bits;
	w->virtual_size = params->virtual_size;
	w->virtual_clusters = div_round_up(params->virtual_size, w->cluster_size);
	w->l2_bits = params->cluster_bits - 3;
	w->l1_entries = div_round_up(w->virtual_clusters, 1ULL << w->l2_bits);
	if (w->l1_entries * 8 > E2Q_QCOW2_MAX_L1_BYTES) {
		free(w);
		return E2Q_ET_QCOW_TOO_LARGE;
	}
	w->buf_size = w->cluster_size > TABLE_BUF_BYTES ? w->cluster_size :
			TABLE_BUF_BYTES;
	w->region_planned = calloc(w->l1_entries / 8 + 1, 1);
	w->buf = malloc(w->buf_size);
	w->zeros = calloc(1, w->cluster_size);
	if (!w->region_planned || !w->buf || !w->zeros) {
		e2q_qcow_writer_free(w);
		return ENOMEM;
	}
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
 * The refcount structures count every table and planned cluster (see
 * qcow_layout.c).  Pieces never take more room than plain clusters would
 * (see place()), so the planned clusters bound the data.
 */
static void size_refcounts(e2q_qcow_writer *w, uint64_t others)
{
	e2q_qcow_size_refcounts(w->cluster_bits, others, &w->refblocks,
				&w->reftable_clusters);
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
	w->data_next = w->data_start << w->cluster_bits;
}

/* ---- the record of stored pieces ---------------------------------------- */

static errcode_t grow(void **array, uint64_t *cap, size_t elem)
{
	uint64_t n = *cap ? *cap * 2 : 1024;
	void *p = realloc(*array, n * elem);

	if (!p)
		return ENOMEM;
	*array = p;
	*cap = n;
	return 0;
}

static errcode_t record_add(struct record *r, uint64_t cluster, uint32_t len)
{
	struct record_run *last = r->nruns ? &r->runs[r->nruns - 1] : NULL;
	errcode_t err;

	if (r->nlens == r->lens_cap &&
	    (err = grow((void **) &r->lens, &r->lens_cap, sizeof(uint32_t))))
		return err;
	r->lens[r->nlens++] = len;
	if (last && last->first + last->count == cluster) {
		last->count++;
		return 0;
	}
	if (r->nruns == r->runs_cap) {
		uint64_t cap = r->runs_cap;

		err = grow((void **) &r->runs, &cap, sizeof(*r->runs));
		if (err)
			return err;
		r->runs_cap = (size_t) cap;
	}
	r->runs[r->nruns].first = cluster;
	r->runs[r->nruns].count = 1;
	r->nruns++;
	return 0;
}

/* The cursor's piece without moving; 0 at the end of the record. */
static int record_peek(const struct record *r, const struct record_cursor *c,
		       uint64_t *cluster, uint32_t *len)
{
	if (c->run >= r->nruns)
		return 0;
	*cluster = r->runs[c->run].first + c->in_run;
	*len = r->lens[c->index];
	return 1;
}

static void record_advance(const struct record *r, struct record_cursor *c)
{
	c->index++;
	if (++c->in_run == r->runs[c->run].count) {
		c->run++;
		c->in_run = 0;
	}
}

static void record_free(struct record *r)
{
	free(r->runs);
	free(r->lens);
	memset(r, 0, sizeof(*r));
}

/* ---- where pieces go ----------------------------------------------------- */

/*
 * Places a piece at *next: a plain cluster at the next cluster boundary, a
 * compressed piece at the next byte.  After n pieces *next is at most n
 * clusters past the start, as with plain clusters only.
 */
static uint64_t place(const e2q_qcow_writer *w, uint64_t *next, uint32_t len)
{
	uint64_t at = *next;

	if (len == w->cluster_size)
		at = div_round_up(at, w->cluster_size) << w->cluster_bits;
	*next = at + len;
	return at;
}

/* The L2 entry of a piece of `len` bytes stored at byte `at`. */
static uint64_t l2_entry(const e2q_qcow_writer *w, uint64_t at, uint32_t len)
{
	uint64_t sectors;

	if (len == w->cluster_size)
		return at | E2Q_QCOW2_OFLAG_COPIED;
	sectors = ((at & 511) + len + 511) >> SECTOR_BITS;
	return E2Q_QCOW2_OFLAG_COMPRESSED | at |
	       ((sectors - 1) << (62 - (w->cluster_bits - 8)));
}

/* ---- output --------------------------------------------------------------- */

static errcode_t write_iov(e2q_qcow_writer *w, struct iovec *iov, int cnt,
			   uint64_t off)
{
	uint64_t len = 0;
	errcode_t err;
	int i;

	if (w->stream && off != w->stream_pos)
		return E2Q_ET_QCOW_WRITER_ORDER;
	for (i = 0; i < cnt; i++)
		len += iov[i].iov_len;
	err = w->stream ? e2q_writev_full(w->fd, iov, cnt) :
			  e2q_pwritev_full(w->fd, iov, cnt, off);
	if (err)
		return err;
	if (w->stream)
		w->stream_pos = off + len;
	else
		e2q_write_behind_wrote(&w->behind, off, len);
	return 0;
}

static errcode_t write_at(e2q_qcow_writer *w, const void *p, size_t len,
			  uint64_t off)
{
	struct iovec iov = { (void *) p, len };

	return len ? write_iov(w, &iov, 1, off) : 0;
}

static errcode_t table_flush(e2q_qcow_writer *w)
{
	errcode_t err = write_at(w, w->buf, w->buf_len, w->buf_off);

	w->buf_off += w->buf_len;
	w->buf_len = 0;
	return err;
}

/* The next cluster of the tables, zeroed, in the output buffer. */
static errcode_t table_cluster(e2q_qcow_writer *w, unsigned char **p)
{
	errcode_t err;

	if (w->buf_len + w->cluster_size > w->buf_size) {
		err = table_flush(w);
		if (err)
			return err;
	}
	*p = w->buf + w->buf_len;
	memset(*p, 0, w->cluster_size);
	w->buf_len += w->cluster_size;
	return 0;
}

/* Bytes of the fixed header: header extensions follow it. */
static uint32_t header_length(const e2q_qcow_writer *w)
{
	if (w->version < 3)
		return E2Q_QCOW2_V2_HEADER_SIZE;
	/* the compression type byte makes the header 112 bytes (8-aligned) */
	return E2Q_QCOW2_V3_HEADER_SIZE +
	       (w->compression_type == E2Q_QCOW2_COMPRESSION_ZLIB ? 0 : 8);
}

/*
 * The header, the report's extension header and data (padded to 8 bytes:
 * the header length and the room are multiples of 8), and the 8 bytes of
 * the end marker fit in the first cluster.
 */
size_t e2q_qcow_writer_report_room(const e2q_qcow_writer *w)
{
	uint64_t used = header_length(w) + 2 * E2Q_QCOW2_EXT_HEADER_SIZE +
			E2Q_QCOW_REPORT_FIXED_SIZE;

	return used < w->cluster_size ? (size_t) (w->cluster_size - used) : 0;
}

/* The report's data: the text, compressed when that makes it shorter. */
static errcode_t encode_report(const void *text, size_t len,
			       unsigned char **ret, uint32_t *ret_len)
{
	uLongf zlen = compressBound((uLong) len);
	unsigned char *buf = malloc(E2Q_QCOW_REPORT_FIXED_SIZE + zlen + len);
	uint32_t encoding = E2Q_QCOW_REPORT_ZLIB;

	if (!buf)
		return ENOMEM;
	if (compress2(buf + E2Q_QCOW_REPORT_FIXED_SIZE, &zlen, text,
		      (uLong) len, Z_BEST_COMPRESSION) != Z_OK || zlen >= len) {
		encoding = E2Q_QCOW_REPORT_PLAIN;
		zlen = len;
		memcpy(buf + E2Q_QCOW_REPORT_FIXED_SIZE, text, len);
	}
	e2q_put_be32(buf + E2Q_QCOW_REPORT_OFF_VERSION, E2Q_QCOW_REPORT_VERSION);
	e2q_put_be32(buf + E2Q_QCOW_REPORT_OFF_ENCODING, encoding);
	e2q_put_be32(buf + E2Q_QCOW_REPORT_OFF_TEXT_LEN, (uint32_t) len);
	*ret = buf;
	*ret_len = (uint32_t) (E2Q_QCOW_REPORT_FIXED_SIZE + zlen);
	return 0;
}

errcode_t e2q_qcow_writer_set_report(e2q_qcow_writer *w, const void *text,
				     size_t len)
{
	unsigned char *data = NULL;
	uint32_t data_len = 0;
	errcode_t err;

	if (w->state != PLANNING && w->state != MEASURING)
		return E2Q_ET_QCOW_WRITER_STATE;
	if (len > E2Q_QCOW_REPORT_MAX_TEXT)
		return E2Q_ET_QCOW_REPORT_TOO_LARGE;
	if (len) {
		err = encode_report(text, len, &data, &data_len);
		if (err)
			return err;
		if (data_len - E2Q_QCOW_REPORT_FIXED_SIZE >
		    e2q_qcow_writer_report_room(w)) {
			free(data);
			return E2Q_ET_QCOW_REPORT_TOO_LARGE;
		}
	}
	free(w->report);
	w->report = data;
	w->report_len = data_len;
	return 0;
}

/* The report extension, then the end of the extensions (zeros). */
static void put_report(const e2q_qcow_writer *w, unsigned char *buf)
{
	unsigned char *p = buf + header_length(w);

	if (!w->report_len)
		return;
	e2q_put_be32(p, E2Q_QCOW2_EXT_E2Q_REPORT);
	e2q_put_be32(p + 4, w->report_len);
	memcpy(p + E2Q_QCOW2_EXT_HEADER_SIZE, w->report, w->report_len);
	/* padding to 8 bytes and the end marker are zeros already */
}

static errcode_t write_header(e2q_qcow_writer *w)
{
	unsigned char *buf;
	errcode_t err = table_cluster(w, &buf);

	if (err)
		return err;
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
	put_report(w, buf);
	if (w->version < 3)
		return 0;
	e2q_put_be32(buf + E2Q_QCOW2_OFF_REFCOUNT_ORDER, 4);
	e2q_put_be32(buf + E2Q_QCOW2_OFF_HEADER_LENGTH, header_length(w));
	if (w->compression_type == E2Q_QCOW2_COMPRESSION_ZLIB)
		return 0;
	e2q_put_be64(buf + E2Q_QCOW2_OFF_INCOMPAT,
		     E2Q_QCOW2_INCOMPAT_COMPRESSION);
	buf[E2Q_QCOW2_OFF_COMPRESSION_TYPE] = (unsigned char) w->compression_type;
	return 0;
}

/* Regions get L2 slots in ascending order, planned regions only. */
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

static errcode_t write_l1(e2q_qcow_writer *w)
{
	uint64_t per = w->cluster_size / 8, c, i, slot = w->l2_start;
	uint64_t r = next_planned_region(w, 0);
	unsigned char *buf;
	errcode_t err;

	for (c = 0; c < w->l1_clusters; c++) {
		err = table_cluster(w, &buf);
		if (err)
			return err;
		for (i = 0; i < per && r < w->l1_entries; i++) {
			if (c * per + i != r)
				continue;
			e2q_put_be64(buf + 8 * i, (slot++ << w->cluster_bits) |
				     E2Q_QCOW2_OFLAG_COPIED);
			r = next_planned_region(w, r + 1);
		}
	}
	return 0;
}

static errcode_t write_reftable(e2q_qcow_writer *w)
{
	uint64_t per = w->cluster_size / 8, c, i;
	unsigned char *buf;
	errcode_t err;

	for (c = 0; c < w->reftable_clusters; c++) {
		err = table_cluster(w, &buf);
		if (err)
			return err;
		for (i = 0; i < per && c * per + i < w->refblocks; i++)
			e2q_put_be64(buf + 8 * i, (w->refblock_start + c * per + i)
				     << w->cluster_bits);
	}
	return 0;
}

/* Refcount blocks filled in ascending cluster order, one at a time. */
struct refcounter {
	unsigned char *block;
	uint64_t index;		/* refcount block being filled */
};

static errcode_t count_ref(e2q_qcow_writer *w, struct refcounter *rc,
			   uint64_t cluster)
{
	uint64_t per = w->cluster_size / 2, b = cluster / per;
	unsigned char *p;
	errcode_t err;

	if (b >= w->refblocks)
		return E2Q_ET_QCOW_WRITER_STATE;	/* sizing is wrong */
	while (rc->index < b) {
		err = table_cluster(w, &rc->block);
		if (err)
			return err;
		rc->index++;
	}
	p = rc->block + 2 * (cluster % per);
	if (e2q_get_be16(p) == UINT16_MAX)
		return E2Q_ET_RANGE;
	e2q_put_be16(p, (uint16_t) (e2q_get_be16(p) + 1));
	return 0;
}

/*
 * A table cluster is referenced once; a data cluster once per piece whose
 * sectors touch it, as `qemu-img check` counts them.  Sets w->end.
 */
static errcode_t write_refblocks(e2q_qcow_writer *w)
{
	struct refcounter rc = { NULL, 0 };
	struct record_cursor cur = { 0, 0, 0 };
	uint64_t next = w->data_start << w->cluster_bits, c, cluster, at;
	uint32_t len;
	errcode_t err = table_cluster(w, &rc.block);

	for (c = 0; !err && c < w->data_start; c++)
		err = count_ref(w, &rc, c);
	while (!err && record_peek(&w->rec, &cur, &cluster, &len)) {
		at = place(w, &next, len);
		for (c = at >> w->cluster_bits;
		     !err && c <= (at + len - 1) >> w->cluster_bits; c++)
			err = count_ref(w, &rc, c);
		record_advance(&w->rec, &cur);
	}
	while (!err && rc.index + 1 < w->refblocks) {
		err = table_cluster(w, &rc.block);
		rc.index++;
	}
	w->end = div_round_up(next, w->cluster_size) << w->cluster_bits;
	return err;
}

static errcode_t write_l2_tables(e2q_qcow_writer *w)
{
	struct record_cursor cur = { 0, 0, 0 };
	uint64_t next = w->data_start << w->cluster_bits, cluster = 0, r, at;
	uint64_t mask = (1ULL << w->l2_bits) - 1;
	uint32_t len = 0;
	unsigned char *buf;
	int have = record_peek(&w->rec, &cur, &cluster, &len);
	errcode_t err;

	for (r = next_planned_region(w, 0); r < w->l1_entries;
	     r = next_planned_region(w, r + 1)) {
		err = table_cluster(w, &buf);
		if (err)
			return err;
		while (have && cluster >> w->l2_bits == r) {
			at = place(w, &next, len);
			e2q_put_be64(buf + 8 * (cluster & mask),
				     l2_entry(w, at, len));
			record_advance(&w->rec, &cur);
			have = record_peek(&w->rec, &cur, &cluster, &len);
		}
	}
	return have ? E2Q_ET_QCOW_WRITER_UNPLANNED : 0;
}

/* Header and every table, front to back from offset 0. */
static errcode_t write_tables(e2q_qcow_writer *w)
{
	errcode_t err;

	w->buf_off = 0;
	w->buf_len = 0;
	err = write_header(w);
	if (!err)
		err = write_l1(w);
	if (!err)
		err = write_reftable(w);
	if (!err)
		err = write_refblocks(w);
	if (!err)
		err = write_l2_tables(w);
	if (!err)
		err = table_flush(w);
	return err;
}

/* ---- the data ------------------------------------------------------------ */

static errcode_t check_run(const e2q_qcow_writer *w, uint64_t first,
			   uint64_t count, const struct e2q_qcow_piece *pieces)
{
	uint64_t i;

	if (first < w->next_put)
		return E2Q_ET_QCOW_WRITER_ORDER;
	if (first >= w->virtual_clusters || count > w->virtual_clusters - first)
		return E2Q_ET_RANGE;
	for (i = 0; i < count; i++) {
		if (pieces[i].len > w->cluster_size)
			return E2Q_ET_RANGE;
		if (pieces[i].len && !region_is_planned(w, (first + i) >> w->l2_bits))
			return E2Q_ET_QCOW_WRITER_UNPLANNED;
	}
	return 0;
}

/* Keeps a measured piece's bytes while the spool stays under its limit. */
static void spool_piece(e2q_qcow_writer *w, const struct e2q_qcow_piece *piece)
{
	uint64_t need = w->spool_len + piece->len, cap = w->spool_cap;
	unsigned char *p = NULL;

	if (w->spool_dropped)
		return;
	while (cap < need)
		cap = cap ? cap * 2 : 1U << 20;
	if (cap > w->spool_limit)
		cap = w->spool_limit;
	if (need > w->spool_limit ||
	    (cap != w->spool_cap && !(p = realloc(w->spool, cap)))) {
		free(w->spool);		/* too large: put() will come */
		w->spool = NULL;
		w->spool_len = w->spool_cap = 0;
		w->spool_dropped = 1;
		return;
	}
	if (cap != w->spool_cap) {
		w->spool = p;
		w->spool_cap = cap;
	}
	memcpy(w->spool + w->spool_len, piece->data, piece->len);
	w->spool_len = need;
}

errcode_t e2q_qcow_writer_measure(e2q_qcow_writer *w, uint64_t first,
				  uint64_t count,
				  const struct e2q_qcow_piece *pieces)
{
	uint64_t i;
	errcode_t err;

	if (!w->stream || (w->state != PLANNING && w->state != MEASURING))
		return E2Q_ET_QCOW_WRITER_STATE;
	err = check_run(w, first, count, pieces);
	for (i = 0; !err && i < count; i++) {
		if (pieces[i].len == 0)
			continue;
		err = record_add(&w->rec, first + i, pieces[i].len);
		spool_piece(w, &pieces[i]);
	}
	if (err)
		return err;
	w->state = MEASURING;
	w->next_put = first + count;
	return 0;
}

errcode_t e2q_qcow_writer_start(e2q_qcow_writer *w, int fd)
{
	errcode_t err = 0;

	if (w->state != PLANNING && w->state != MEASURING)
		return E2Q_ET_QCOW_WRITER_STATE;
	w->fd = fd;
	e2q_write_behind_init(&w->behind, w->stream ? -1 : fd);
	compute_layout(w);
	if (w->reftable_clusters * w->cluster_size > E2Q_QCOW2_MAX_REFTABLE_BYTES)
		return E2Q_ET_QCOW_TOO_LARGE;
	w->next_put = 0;
	if (w->stream)
		err = write_tables(w);
	w->state = err ? FAILED : WRITING;
	return err;
}

int e2q_qcow_writer_spooled(const e2q_qcow_writer *w)
{
	return w->stream && !w->spool_dropped;
}

/* Puts the spooled pieces, one run of the record at a time. */
errcode_t e2q_qcow_writer_put_spooled(e2q_qcow_writer *w)
{
	struct e2q_qcow_piece pieces[256];
	const unsigned char *p = w->spool;
	uint64_t i, n, first, left;
	size_t r, index = 0;
	errcode_t err = 0;

	if (!e2q_qcow_writer_spooled(w) || w->state != WRITING)
		return E2Q_ET_QCOW_WRITER_STATE;
	for (r = 0; !err && r < w->rec.nruns; r++) {
		first = w->rec.runs[r].first;
		for (left = w->rec.runs[r].count; !err && left > 0; left -= n) {
			n = left < 256 ? left : 256;
			for (i = 0; i < n; i++, index++) {
				pieces[i].data = p;
				pieces[i].len = w->rec.lens[index];
				p += pieces[i].len;
			}
			err = e2q_qcow_writer_put_pieces(w, first, n, pieces);
			first += n;
		}
	}
	return err;
}

/* Stream: the piece must be the one measured for this cluster. */
static errcode_t verify_piece(e2q_qcow_writer *w, uint64_t cluster,
			      uint32_t len)
{
	uint64_t c;
	uint32_t l;
	int have = record_peek(&w->rec, &w->verify, &c, &l);

	if (len == 0)
		return have && c == cluster ? E2Q_ET_QCOW_WRITER_CHANGED : 0;
	if (!have || c != cluster || l != len)
		return E2Q_ET_QCOW_WRITER_CHANGED;
	record_advance(&w->rec, &w->verify);
	return 0;
}

/* Batches the pieces' bytes, gaps as zeros, into few large writes. */
struct data_batch {
	struct iovec iov[MAX_IOV];
	int cnt;
	uint64_t off, end;	/* file range the iovecs cover */
};

static errcode_t batch_add(e2q_qcow_writer *w, struct data_batch *b,
			   const void *p, size_t len)
{
	errcode_t err;

	if (b->cnt == MAX_IOV) {
		err = write_iov(w, b->iov, b->cnt, b->off);
		if (err)
			return err;
		b->cnt = 0;
		b->off = b->end;
	}
	b->iov[b->cnt].iov_base = (void *) p;
	b->iov[b->cnt].iov_len = len;
	b->cnt++;
	b->end += len;
	return 0;
}

static errcode_t store_piece(e2q_qcow_writer *w, struct data_batch *b,
			     const struct e2q_qcow_piece *piece)
{
	uint64_t at = place(w, &w->data_next, piece->len);
	errcode_t err = 0;

	if (at > b->end)
		err = batch_add(w, b, w->zeros, (size_t) (at - b->end));
	if (!err)
		err = batch_add(w, b, piece->data, piece->len);
	w->data_clusters++;
	if (piece->len < w->cluster_size)
		w->compressed_clusters++;
	return err;
}

static errcode_t put_one(e2q_qcow_writer *w, struct data_batch *b,
			 uint64_t cluster, const struct e2q_qcow_piece *piece)
{
	errcode_t err;

	if (w->stream)
		err = verify_piece(w, cluster, piece->len);
	else
		err = piece->len ? record_add(&w->rec, cluster, piece->len) : 0;
	if (err)
		return err;
	if (piece->len == 0) {
		w->zero_clusters++;
		return 0;
	}
	return store_piece(w, b, piece);
}

errcode_t e2q_qcow_writer_put_pieces(e2q_qcow_writer *w, uint64_t first,
				     uint64_t count,
				     const struct e2q_qcow_piece *pieces)
{
	struct data_batch b;
	uint64_t i;
	errcode_t err;

	if (w->state != WRITING)
		return E2Q_ET_QCOW_WRITER_STATE;
	err = check_run(w, first, count, pieces);
	b.cnt = 0;
	b.off = b.end = w->data_next;
	for (i = 0; !err && i < count; i++)
		err = put_one(w, &b, first + i, &pieces[i]);
	if (!err && b.cnt)
		err = write_iov(w, b.iov, b.cnt, b.off);
	if (err)
		w->state = FAILED;
	else
		w->next_put = first + count;
	return err;
}

errcode_t e2q_qcow_writer_put(e2q_qcow_writer *w, uint64_t first,
			      uint64_t count, const void *data)
{
	struct e2q_qcow_piece pieces[256];
	const unsigned char *p = data;
	uint64_t i, n;
	errcode_t err = 0;

	while (count > 0 && !err) {
		n = count < 256 ? count : 256;
		for (i = 0; i < n; i++, p += w->cluster_size) {
			pieces[i].data = p;
			pieces[i].len = e2q_is_zero(p, w->cluster_size) ? 0 :
					(uint32_t) w->cluster_size;
		}
		err = e2q_qcow_writer_put_pieces(w, first, n, pieces);
		first += n;
		count -= n;
	}
	return err;
}

/* A regular file ends exactly after the last used cluster. */
static errcode_t trim_file(const e2q_qcow_writer *w)
{
	struct stat st;

	if (fstat(w->fd, &st) < 0)
		return errno;
	if (S_ISREG(st.st_mode) && ftruncate(w->fd, (off_t) w->end) < 0)
		return errno;
	return 0;
}

/* Zeros from the last piece to the end of its cluster. */
static errcode_t pad_last_cluster(e2q_qcow_writer *w)
{
	uint64_t end = div_round_up(w->data_next, w->cluster_size) <<
		       w->cluster_bits;

	return write_at(w, w->zeros, (size_t) (end - w->data_next), w->data_next);
}

errcode_t e2q_qcow_writer_finish(e2q_qcow_writer *w)
{
	uint64_t c;
	uint32_t l;
	errcode_t err;

	if (w->state != WRITING)
		return E2Q_ET_QCOW_WRITER_STATE;
	err = pad_last_cluster(w);
	if (!err && w->stream && record_peek(&w->rec, &w->verify, &c, &l))
		err = E2Q_ET_QCOW_WRITER_CHANGED;	/* a piece went missing */
	if (!err && !w->stream)
		err = write_tables(w);
	if (!err && !w->stream)
		err = trim_file(w);
	w->state = err ? FAILED : FINISHED;
	return err;
}

void e2q_qcow_writer_get_stats(const e2q_qcow_writer *w,
			       struct e2q_qcow_writer_stats *stats)
{
	stats->planned_clusters = w->planned_clusters;
	stats->data_clusters = w->data_clusters;
	stats->compressed_clusters = w->compressed_clusters;
	stats->zero_clusters = w->zero_clusters;
	stats->file_size = w->state == FINISHED ? w->end : 0;
}

void e2q_qcow_writer_free(e2q_qcow_writer *w)
{
	if (!w)
		return;
	record_free(&w->rec);
	free(w->report);
	free(w->spool);
	free(w->region_planned);
	free(w->buf);
	free(w->zeros);
	free(w);
}
