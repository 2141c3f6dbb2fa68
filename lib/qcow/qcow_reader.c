/*
 * qcow_reader.c --- the public side of the strict qcow reader: probe, open,
 * close, the cluster map through a one-table L2 cache, and pread.
 *
 * Format details live in qcow2_open.c and qcow1_open.c; each L2 table is
 * validated entry by entry when it is loaded, before any entry is used.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qcow_reader_int.h"
#include "qcow/qcow_format.h"
#include "e2q_err.h"
#include "support/full_io.h"

void e2q_qcow_set_problem(struct e2q_qcow_problem *problem,
			  const char *structure, uint64_t offset)
{
	if (!problem)
		return;
	problem->structure = structure;
	problem->offset = offset;
}

errcode_t e2q_qcow_read_exact(const e2q_qcow_image *img, void *buf,
			      size_t len, uint64_t offset)
{
	return e2q_pread_full(img->fd, buf, len, offset,
			      E2Q_ET_QCOW_SHORT_READ);
}

/* Reads `len` bytes at `offset` into a new NUL-terminated string. */
errcode_t e2q_qcow_read_string(const e2q_qcow_image *img, uint64_t offset,
			       uint32_t len, char **ret)
{
	char *str;
	errcode_t err;

	if (offset > img->file_size || len > img->file_size - offset)
		return E2Q_ET_QCOW_TABLE_OUTSIDE_FILE;
	str = malloc((size_t) len + 1);
	if (!str)
		return ENOMEM;
	err = e2q_qcow_read_exact(img, str, len, offset);
	if (err) {
		free(str);
		return err;
	}
	str[len] = '\0';
	*ret = str;
	return 0;
}

int e2q_qcow_probe(int fd)
{
	unsigned char magic[4];

	return !e2q_pread_full(fd, magic, sizeof(magic), 0,
			       E2Q_ET_QCOW_SHORT_READ) &&
	       e2q_get_be32(magic) == E2Q_QCOW_MAGIC;
}

/* A table must lie wholly inside the file. */
errcode_t e2q_qcow_check_table_range(const e2q_qcow_image *img,
				     uint64_t offset, uint64_t len,
				     const char *what,
				     struct e2q_qcow_problem *problem)
{
	if (offset > img->file_size || len > img->file_size - offset) {
		e2q_qcow_set_problem(problem, what, offset);
		return E2Q_ET_QCOW_TABLE_OUTSIDE_FILE;
	}
	return 0;
}

/*
 * Data must start inside the file (the final cluster may be partial: what
 * lies past the end reads as zeros) and must not alias metadata.
 */
errcode_t e2q_qcow_check_data_range(e2q_qcow_image *img, uint64_t host,
				    uint64_t len, const char *what,
				    struct e2q_qcow_problem *problem)
{
	if (host >= img->file_size || host + len < host) {
		e2q_qcow_set_problem(problem, what, host);
		return E2Q_ET_QCOW_TABLE_OUTSIDE_FILE;
	}
	if (e2q_qcow_ranges_find(&img->meta, host, host + len)) {
		e2q_qcow_set_problem(problem, what, host);
		return E2Q_ET_QCOW_OVERLAP;
	}
	return 0;
}

/*
 * Loads the L2 table of L1 entry `l1_index`.  Every entry is checked the
 * first time the table is loaded; a bit per L1 entry remembers it, so that
 * random access (the io_manager) does not check a table again.
 */
static errcode_t load_l2(e2q_qcow_image *img, uint64_t l1_index,
			 struct e2q_qcow_problem *problem)
{
	uint64_t l2_off = img->l1[l1_index];
	unsigned char bit = (unsigned char) (1U << (l1_index & 7));
	struct e2q_qcow_map map;
	unsigned int i, entries = 1U << img->l2_bits;
	errcode_t err;

	if (img->l2_cached_off == l2_off)
		return 0;
	img->l2_cached_off = 0;
	err = e2q_qcow_read_exact(img, img->l2_buf, img->l2_table_size, l2_off);
	if (err) {
		e2q_qcow_set_problem(problem, "L2 table", l2_off);
		return err;
	}
	if (!(img->l2_checked[l1_index / 8] & bit)) {
		for (i = 0; i < entries; i++) {
			err = img->ops->decode_l2(img, img->l2_buf, l2_off, i,
						  &map, problem);
			if (err)
				return err;
		}
		img->l2_checked[l1_index / 8] |= bit;
	}
	img->l2_cached_off = l2_off;
	return 0;
}

errcode_t e2q_qcow_map_cluster(e2q_qcow_image *img, uint64_t cluster,
			       struct e2q_qcow_map *map,
			       struct e2q_qcow_problem *problem)
{
	uint64_t l1_index = cluster >> img->l2_bits;
	unsigned int l2_index = (unsigned int)
		(cluster & ((1ULL << img->l2_bits) - 1));
	uint64_t l2_off;
	errcode_t err;

	memset(map, 0, sizeof(*map));
	if (cluster >= img->nb_clusters)
		return E2Q_ET_RANGE;
	if (l1_index >= img->l1_size)
		return 0;
	l2_off = img->l1[l1_index];
	if (l2_off == 0)
		return 0;
	err = load_l2(img, l1_index, problem);
	if (err)
		return err;
	return img->ops->decode_l2(img, img->l2_buf, l2_off, l2_index, map,
				   problem);
}

static errcode_t alloc_buffers(e2q_qcow_image *img)
{
	img->l2_buf = malloc(img->l2_table_size);
	img->dbuf = malloc(img->cluster_size);
	img->cbuf = malloc(2 * (size_t) img->cluster_size);
	img->l2_checked = calloc((size_t) img->l1_size / 8 + 1, 1);
	if (!img->l2_buf || !img->dbuf || !img->cbuf || !img->l2_checked)
		return ENOMEM;
	img->dbuf_cluster = UINT64_MAX;
	return 0;
}

static errcode_t open_by_version(e2q_qcow_image *img,
				 const struct e2q_qcow_open_params *params,
				 struct e2q_qcow_problem *problem)
{
	unsigned char head[8];
	errcode_t err;

	if (img->file_size < sizeof(head)) {
		e2q_qcow_set_problem(problem, "header", 0);
		return img->file_size >= 4 ? E2Q_ET_QCOW_TRUNCATED_HEADER
					   : E2Q_ET_NOT_QCOW;
	}
	err = e2q_qcow_read_exact(img, head, sizeof(head), 0);
	if (err)
		return err;
	e2q_qcow_set_problem(problem, "header", 0);
	if (e2q_get_be32(head) != E2Q_QCOW_MAGIC)
		return E2Q_ET_NOT_QCOW;
	img->version = e2q_get_be32(head + 4);
	if (img->version == 1) {
		if (params && params->snapshot)
			return E2Q_ET_NO_SNAPSHOT;
		return e2q_qcow1_open_image(img, problem);
	}
	if (img->version == 2 || img->version == 3)
		return e2q_qcow2_open_image(img, params, problem);
	return E2Q_ET_QCOW_BAD_VERSION;
}

errcode_t e2q_qcow_open(int fd, const struct e2q_qcow_open_params *params,
			e2q_qcow_image **ret, struct e2q_qcow_problem *problem)
{
	e2q_qcow_image *img;
	struct stat st;
	errcode_t err;

	*ret = NULL;
	e2q_qcow_set_problem(problem, "image file", 0);
	if (fstat(fd, &st) < 0)
		return errno;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return E2Q_ET_QCOW_UNSUPPORTED;
	img = calloc(1, sizeof(*img));
	if (!img)
		return ENOMEM;
	img->fd = fd;
	img->open_flags = params ? params->flags : 0;
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(fd, 0, SEEK_END);

		img->file_size = end < 0 ? 0 : (uint64_t) end;
	} else {
		img->file_size = (uint64_t) st.st_size;
	}
	err = open_by_version(img, params, problem);
	if (!err)
		err = alloc_buffers(img);
	if (err) {
		e2q_qcow_close(img);
		return err;
	}
	*ret = img;
	return 0;
}

static void free_snapshots(e2q_qcow_image *img)
{
	uint32_t i;

	if (!img->snapshots)
		return;
	for (i = 0; i < img->nb_snapshots; i++) {
		free(img->snapshots[i].id);
		free(img->snapshots[i].name);
	}
	free(img->snapshots);
}

void e2q_qcow_close(e2q_qcow_image *img)
{
	if (!img)
		return;
	e2q_qcow_decompress_free(img);
	e2q_qcow_ranges_free(&img->meta);
	free_snapshots(img);
	free(img->l1);
	free(img->reftable);
	free(img->backing_name);
	free(img->backing_format);
	free(img->l2_buf);
	free(img->l2_checked);
	free(img->cbuf);
	free(img->dbuf);
	free(img);
}

uint64_t e2q_qcow_virtual_size(const e2q_qcow_image *img)
{
	return img->virtual_size;
}

unsigned int e2q_qcow_cluster_size(const e2q_qcow_image *img)
{
	return img->cluster_size;
}

unsigned int e2q_qcow_version(const e2q_qcow_image *img)
{
	return img->version;
}

/* Compressed bytes at `host`: read what the file holds of them. */
errcode_t e2q_qcow_read_compressed(e2q_qcow_image *img,
				   const struct e2q_qcow_map *map,
				   unsigned char *out,
				   struct e2q_qcow_problem *problem)
{
	uint64_t len = map->clen;
	errcode_t err;

	if (len > img->file_size - map->host)
		len = img->file_size - map->host;
	err = e2q_qcow_read_exact(img, img->cbuf, (size_t) len, map->host);
	if (!err)
		err = e2q_qcow_decompress(img, img->cbuf, (size_t) len, out);
	if (err)
		e2q_qcow_set_problem(problem, "compressed cluster", map->host);
	return err;
}

/* Reads [from, from + len) of the host file; past its end reads as zeros. */
static errcode_t read_host(e2q_qcow_image *img, unsigned char *buf,
			   size_t len, uint64_t from)
{
	size_t avail = len;

	if (from >= img->file_size)
		avail = 0;
	else if (img->file_size - from < len)
		avail = (size_t) (img->file_size - from);
	memset(buf + avail, 0, len - avail);
	return avail ? e2q_qcow_read_exact(img, buf, avail, from) : 0;
}

errcode_t e2q_qcow_set_parent(e2q_qcow_image *img,
			      const struct e2q_qcow_parent *parent)
{
	unsigned int depth = parent->image ? parent->image->chain_depth + 1 : 1;

	if (!img->backing_name)
		return E2Q_ET_QCOW_NO_BACKING;
	if (depth >= E2Q_QCOW_MAX_CHAIN)
		return E2Q_ET_QCOW_CHAIN_TOO_DEEP;
	img->parent = *parent;
	img->has_parent = 1;
	img->chain_depth = depth;
	return 0;
}

/* Guest bytes that this image does not hold: the parent's, or zeros. */
static errcode_t read_parent(e2q_qcow_image *img, unsigned char *buf,
			     size_t len, uint64_t offset,
			     struct e2q_qcow_problem *problem)
{
	const struct e2q_qcow_parent *p = &img->parent;
	uint64_t size;
	errcode_t err;
	size_t n;

	if (!img->has_parent) {
		memset(buf, 0, len);
		return 0;
	}
	size = p->image ? p->image->virtual_size : p->raw_size;
	n = offset >= size ? 0 :
	    size - offset < len ? (size_t) (size - offset) : len;
	memset(buf + n, 0, len - n);
	if (n == 0)
		return 0;
	if (p->image)
		return e2q_qcow_pread(p->image, buf, n, offset, problem);
	err = e2q_pread_full(p->raw_fd, buf, n, offset,
			     E2Q_ET_QCOW_SHORT_READ);
	if (err && problem) {
		problem->structure = "raw backing file";
		problem->offset = offset;
	}
	return err;
}

static errcode_t read_subclusters(e2q_qcow_image *img,
				  const struct e2q_qcow_map *map,
				  unsigned char *buf, uint64_t cluster_start,
				  uint32_t within, size_t len,
				  struct e2q_qcow_problem *problem)
{
	uint32_t sub_size = 1U << img->subcluster_bits;

	while (len > 0) {
		unsigned int sub = within >> img->subcluster_bits;
		uint32_t in_sub = within & (sub_size - 1);
		size_t n = sub_size - in_sub;
		errcode_t err;

		if (n > len)
			n = len;
		if (map->alloc_bits & (1U << sub))
			err = read_host(img, buf, n, map->host + within);
		else if (map->zero_bits & (1U << sub))
			err = (memset(buf, 0, n), 0);
		else
			err = read_parent(img, buf, n, cluster_start + within,
					  problem);
		if (err)
			return err;
		buf += n;
		within += (uint32_t) n;
		len -= n;
	}
	return 0;
}

static errcode_t read_in_cluster(e2q_qcow_image *img, uint64_t cluster,
				 unsigned char *buf, uint32_t within,
				 size_t len, struct e2q_qcow_problem *problem)
{
	struct e2q_qcow_map map;
	errcode_t err;

	err = e2q_qcow_map_cluster(img, cluster, &map, problem);
	if (err)
		return err;
	switch (map.kind) {
	case E2Q_QCOW_NORMAL:
		return read_host(img, buf, len, map.host + within);
	case E2Q_QCOW_SUBCLUSTERS:
		return read_subclusters(img, &map, buf,
					cluster << img->cluster_bits, within,
					len, problem);
	case E2Q_QCOW_COMPRESSED:
		if (img->dbuf_cluster != cluster) {
			img->dbuf_cluster = UINT64_MAX;
			err = e2q_qcow_read_compressed(img, &map, img->dbuf,
						       problem);
			if (err)
				return err;
			img->dbuf_cluster = cluster;
		}
		memcpy(buf, img->dbuf + within, len);
		return 0;
	case E2Q_QCOW_UNALLOCATED:
		return read_parent(img, buf, len,
				   (cluster << img->cluster_bits) + within,
				   problem);
	default:
		memset(buf, 0, len);
		return 0;
	}
}

errcode_t e2q_qcow_pread(e2q_qcow_image *img, void *buf, size_t len,
			 uint64_t offset, struct e2q_qcow_problem *problem)
{
	unsigned char *p = buf;

	if (offset > img->virtual_size || len > img->virtual_size - offset)
		return E2Q_ET_RANGE;
	while (len > 0) {
		uint64_t cluster = offset >> img->cluster_bits;
		uint32_t within = (uint32_t) (offset & (img->cluster_size - 1));
		size_t n = img->cluster_size - within;
		errcode_t err;

		if (n > len)
			n = len;
		err = read_in_cluster(img, cluster, p, within, n, problem);
		if (err)
			return err;
		p += n;
		offset += n;
		len -= n;
	}
	return 0;
}
