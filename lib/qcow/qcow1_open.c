/*
 * qcow1_open.c --- opens a legacy qcow (version 1) image: a 48-byte header,
 * an L1 table whose size follows from the virtual size, L2 tables of
 * 1 << l2_bits entries, and plain or deflate-compressed clusters.
 *
 * Refused: AES encryption, backing files.  There are no refcounts, zero
 * clusters or snapshots in this format.  Plain clusters and L2 tables are
 * cluster aligned (qemu rounds them up); compressed clusters are not.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qcow_reader_int.h"
#include "qcow/qcow_format.h"
#include "e2q_err.h"

#define QCOW1_MIN_CLUSTER_BITS	9
#define QCOW1_MAX_CLUSTER_BITS	16
#define QCOW1_MIN_L2_BITS	6
#define QCOW1_MAX_L2_BITS	13

static errcode_t fail(struct e2q_qcow_problem *problem, const char *what,
		      uint64_t offset, errcode_t err)
{
	e2q_qcow_set_problem(problem, what, offset);
	return err;
}

static errcode_t qcow1_decode_compressed(e2q_qcow_image *img, uint64_t e,
					 struct e2q_qcow_map *map,
					 struct e2q_qcow_problem *problem)
{
	unsigned int shift = 63 - img->cluster_bits;
	uint64_t off = e & ((1ULL << shift) - 1);
	uint64_t len = (e >> shift) & (img->cluster_size - 1);
	errcode_t err;

	if (len == 0 || off > img->file_size || len > img->file_size - off)
		return fail(problem, "compressed cluster", off,
			    E2Q_ET_QCOW_TABLE_OUTSIDE_FILE);
	err = e2q_qcow_check_data_range(img, off, len, "compressed cluster",
					problem);
	if (err)
		return err;
	map->kind = E2Q_QCOW_COMPRESSED;
	map->host = off;
	map->clen = len;
	return 0;
}

static errcode_t qcow1_decode_l2(e2q_qcow_image *img,
				 const unsigned char *table, uint64_t table_off,
				 unsigned int index, struct e2q_qcow_map *map,
				 struct e2q_qcow_problem *problem)
{
	uint64_t e = e2q_get_be64(table + (size_t) index * 8);

	(void) table_off;
	memset(map, 0, sizeof(*map));
	if (e & E2Q_QCOW1_OFLAG_COMPRESSED)
		return qcow1_decode_compressed(img, e, map, problem);
	if (e == 0)
		return 0;
	if (e & (img->cluster_size - 1))
		return fail(problem, "data cluster", e, E2Q_ET_QCOW_UNALIGNED);
	map->kind = E2Q_QCOW_NORMAL;
	map->host = e;
	return e2q_qcow_check_data_range(img, e, img->cluster_size,
					 "data cluster", problem);
}

static const struct e2q_qcow_ops qcow1_ops = {
	.decode_l2 = qcow1_decode_l2,
};

static errcode_t parse_qcow1_header(e2q_qcow_image *img,
				    const unsigned char *h,
				    struct e2q_qcow_problem *problem)
{
	unsigned int l2_bits = h[E2Q_QCOW1_OFF_L2_BITS];
	uint32_t crypt = e2q_get_be32(h + E2Q_QCOW1_OFF_CRYPT_METHOD);
	uint64_t backing = e2q_get_be64(h + E2Q_QCOW1_OFF_BACKING_OFFSET);
	uint32_t backing_len = e2q_get_be32(h + E2Q_QCOW1_OFF_BACKING_SIZE);

	img->cluster_bits = h[E2Q_QCOW1_OFF_CLUSTER_BITS];
	if (img->cluster_bits < QCOW1_MIN_CLUSTER_BITS ||
	    img->cluster_bits > QCOW1_MAX_CLUSTER_BITS)
		return fail(problem, "header", E2Q_QCOW1_OFF_CLUSTER_BITS,
			    E2Q_ET_QCOW_BAD_CLUSTER_BITS);
	if (l2_bits < QCOW1_MIN_L2_BITS || l2_bits > QCOW1_MAX_L2_BITS)
		return fail(problem, "header", E2Q_QCOW1_OFF_L2_BITS,
			    E2Q_ET_QCOW_BAD_HEADER);
	if (crypt == 1)
		return fail(problem, "header", E2Q_QCOW1_OFF_CRYPT_METHOD,
			    E2Q_ET_QCOW_ENCRYPTED);
	if (crypt != 0)
		return fail(problem, "header", E2Q_QCOW1_OFF_CRYPT_METHOD,
			    E2Q_ET_QCOW_BAD_HEADER);
	if (backing_len > E2Q_QCOW2_MAX_BACKING_NAME)
		return fail(problem, "backing file name", backing,
			    E2Q_ET_QCOW_BAD_HEADER);
	if (backing_len && !(img->open_flags & E2Q_QCOW_OPEN_IGNORE_BACKING))
		return fail(problem, "backing file name", backing,
			    E2Q_ET_QCOW_BACKING_FILE);
	if (backing_len && e2q_qcow_read_string(img, backing, backing_len,
						&img->backing_name))
		return fail(problem, "backing file name", backing,
			    E2Q_ET_QCOW_TABLE_OUTSIDE_FILE);
	img->l2_bits = l2_bits;
	img->cluster_size = 1U << img->cluster_bits;
	img->l2_entry_size = 8;
	img->l2_table_size = 8U << l2_bits;
	img->subcluster_bits = img->cluster_bits;
	img->compression_type = E2Q_QCOW2_COMPRESSION_ZLIB;
	img->virtual_size = e2q_get_be64(h + E2Q_QCOW1_OFF_SIZE);
	img->nb_clusters = (img->virtual_size >> img->cluster_bits) +
		((img->virtual_size & (img->cluster_size - 1)) != 0);
	img->l1_offset = e2q_get_be64(h + E2Q_QCOW1_OFF_L1_OFFSET);
	return 0;
}

static errcode_t load_qcow1_l1(e2q_qcow_image *img,
			       struct e2q_qcow_problem *problem)
{
	uint64_t entries = (img->nb_clusters >> img->l2_bits) +
		((img->nb_clusters & ((1ULL << img->l2_bits) - 1)) != 0);
	unsigned char *raw;
	uint64_t i;
	errcode_t err;

	if (entries * 8 > E2Q_QCOW2_MAX_L1_BYTES)
		return fail(problem, "L1 table", img->l1_offset,
			    E2Q_ET_QCOW_TOO_LARGE);
	if (img->l1_offset & 7)
		return fail(problem, "L1 table", img->l1_offset,
			    E2Q_ET_QCOW_UNALIGNED);
	err = e2q_qcow_check_table_range(img, img->l1_offset, entries * 8,
					 "L1 table", problem);
	if (!err)
		err = e2q_qcow_ranges_add(&img->meta, img->l1_offset,
					  entries * 8, "L1 table");
	if (err)
		return err;
	img->l1_size = (uint32_t) entries;
	img->l1 = calloc(entries ? entries : 1, sizeof(*img->l1));
	raw = malloc(entries ? entries * 8 : 1);
	if (!img->l1 || !raw) {
		free(raw);
		return ENOMEM;
	}
	err = e2q_qcow_read_exact(img, raw, entries * 8, img->l1_offset);
	for (i = 0; !err && i < entries; i++) {
		uint64_t l2 = e2q_get_be64(raw + i * 8);

		img->l1[i] = l2;
		if (l2 && (l2 & (img->cluster_size - 1)))
			err = fail(problem, "L2 table", l2,
				   E2Q_ET_QCOW_UNALIGNED);
		else if (l2)
			err = e2q_qcow_check_table_range(img, l2,
					img->l2_table_size, "L2 table", problem);
		if (!err && l2)
			err = e2q_qcow_ranges_add(&img->meta, l2,
					img->l2_table_size, "L2 table");
	}
	free(raw);
	return err;
}

errcode_t e2q_qcow1_open_image(e2q_qcow_image *img,
			       struct e2q_qcow_problem *problem)
{
	unsigned char h[E2Q_QCOW1_HEADER_SIZE];
	errcode_t err;

	img->ops = &qcow1_ops;
	if (img->file_size < sizeof(h))
		return fail(problem, "header", 0,
			    E2Q_ET_QCOW_TRUNCATED_HEADER);
	err = e2q_qcow_read_exact(img, h, sizeof(h), 0);
	if (err)
		return fail(problem, "header", 0, err);
	err = parse_qcow1_header(img, h, problem);
	if (!err)
		err = e2q_qcow_ranges_add(&img->meta, 0, sizeof(h), "header");
	if (!err)
		err = load_qcow1_l1(img, problem);
	if (!err)
		err = e2q_qcow_ranges_sort_check(&img->meta, problem);
	return err;
}
