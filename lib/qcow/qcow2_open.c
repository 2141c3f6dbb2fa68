/*
 * qcow2_open.c --- opens a qcow2 image (version 2 or 3): header, header
 * extensions, snapshot table, L1 table and refcount table, all validated
 * before the first guest byte is read; and the decoder of L2 entries.
 *
 * Refused: encryption, unknown incompatible features, external data files,
 * backing files (never opened here).  Tolerated: the dirty and corrupt bits
 * and lazy refcounts (we only read), unknown header extensions, bitmaps.
 * e2qcow's capture report extension is located here, decoded on demand.
 * Memory: the L1 table, the refcount table and the snapshot table, each
 * capped as qemu caps them and each required to lie inside the file.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qcow_reader_int.h"
#include "qcow/qcow_check.h"
#include "qcow/qcow_format.h"
#include "e2q_err.h"

#define QCOW2_MAX_SNAPSHOTS		65536U
#define QCOW2_MAX_SNAPSHOT_TABLE	(64ULL << 20)
#define QCOW2_MAX_SNAPSHOT_EXTRA	1024U
#define QCOW2_EXTL2_MIN_CLUSTER_BITS	14

static errcode_t fail(struct e2q_qcow_problem *problem, const char *what,
		      uint64_t offset, errcode_t err)
{
	e2q_qcow_set_problem(problem, what, offset);
	return err;
}

static int is_aligned(const e2q_qcow_image *img, uint64_t offset)
{
	return (offset & (img->cluster_size - 1)) == 0;
}

/* ---- L2 entries ------------------------------------------------------- */

static errcode_t decode_compressed(e2q_qcow_image *img, uint64_t e,
				   uint64_t where, struct e2q_qcow_map *map,
				   struct e2q_qcow_problem *problem)
{
	unsigned int x = 62 - (img->cluster_bits - 8);
	uint64_t off = e & ((1ULL << x) - 1);
	uint64_t sectors = ((e >> x) & ((1ULL << (62 - x)) - 1)) + 1;
	uint64_t len = sectors * 512 - (off & 511);
	uint64_t file_end_sector = (img->file_size + 511) & ~511ULL;
	errcode_t err;

	if (e & E2Q_QCOW2_OFLAG_COPIED)
		return fail(problem, "L2 table", where,
			    E2Q_ET_QCOW_RESERVED_BITS);
	if (off == 0 || off >= img->file_size ||
	    (off & ~511ULL) + sectors * 512 > file_end_sector)
		return fail(problem, "compressed cluster", off,
			    E2Q_ET_QCOW_TABLE_OUTSIDE_FILE);
	if (len > img->file_size - off)
		len = img->file_size - off;
	err = e2q_qcow_check_data_range(img, off, len, "compressed cluster",
					problem);
	if (err)
		return err;
	map->kind = E2Q_QCOW_COMPRESSED;
	map->host = off;
	map->clen = len;
	return 0;
}

static errcode_t check_host_cluster(e2q_qcow_image *img, uint64_t host,
				    struct e2q_qcow_problem *problem)
{
	if (!is_aligned(img, host))
		return fail(problem, "data cluster", host,
			    E2Q_ET_QCOW_UNALIGNED);
	return e2q_qcow_check_data_range(img, host, img->cluster_size,
					 "data cluster", problem);
}

static errcode_t decode_extended(e2q_qcow_image *img, uint64_t e,
				 uint64_t bitmap, uint64_t where,
				 struct e2q_qcow_map *map,
				 struct e2q_qcow_problem *problem)
{
	uint32_t alloc = (uint32_t) bitmap, zero = (uint32_t) (bitmap >> 32);
	uint64_t host = e & E2Q_QCOW2_OFFSET_MASK;

	if (e & (E2Q_QCOW2_L2_RESERVED_MASK | E2Q_QCOW2_OFLAG_ZERO))
		return fail(problem, "L2 table", where,
			    E2Q_ET_QCOW_RESERVED_BITS);
	if ((alloc & zero) || (host == 0 && alloc))
		return fail(problem, "L2 subcluster bitmap", where + 8,
			    E2Q_ET_QCOW_RESERVED_BITS);
	if (host) {
		errcode_t err = check_host_cluster(img, host, problem);

		if (err)
			return err;
	}
	map->kind = E2Q_QCOW_SUBCLUSTERS;
	map->host = host;
	map->alloc_bits = alloc;
	map->zero_bits = zero;
	return 0;
}

static errcode_t decode_standard(e2q_qcow_image *img, uint64_t e,
				 uint64_t where, struct e2q_qcow_map *map,
				 struct e2q_qcow_problem *problem)
{
	uint64_t host = e & E2Q_QCOW2_OFFSET_MASK;
	errcode_t err;

	if ((e & E2Q_QCOW2_L2_RESERVED_MASK) ||
	    (img->version < 3 && (e & E2Q_QCOW2_OFLAG_ZERO)))
		return fail(problem, "L2 table", where,
			    E2Q_ET_QCOW_RESERVED_BITS);
	if (host) {
		err = check_host_cluster(img, host, problem);
		if (err)
			return err;
	}
	if (e & E2Q_QCOW2_OFLAG_ZERO)
		map->kind = E2Q_QCOW_ZERO;
	else if (host)
		map->kind = E2Q_QCOW_NORMAL;
	else
		map->kind = E2Q_QCOW_UNALLOCATED;
	map->host = host;
	return 0;
}

static errcode_t qcow2_decode_l2(e2q_qcow_image *img,
				 const unsigned char *table, uint64_t table_off,
				 unsigned int index, struct e2q_qcow_map *map,
				 struct e2q_qcow_problem *problem)
{
	const unsigned char *p = table + (size_t) index * img->l2_entry_size;
	uint64_t where = table_off + (uint64_t) index * img->l2_entry_size;
	uint64_t e = e2q_get_be64(p);

	memset(map, 0, sizeof(*map));
	if (e & E2Q_QCOW2_OFLAG_COMPRESSED) {
		if (img->extended_l2 && e2q_get_be64(p + 8))
			return fail(problem, "L2 subcluster bitmap", where + 8,
				    E2Q_ET_QCOW_RESERVED_BITS);
		return decode_compressed(img, e, where, map, problem);
	}
	if (img->extended_l2)
		return decode_extended(img, e, e2q_get_be64(p + 8), where,
				       map, problem);
	return decode_standard(img, e, where, map, problem);
}

static const struct e2q_qcow_ops qcow2_ops = {
	.decode_l2 = qcow2_decode_l2,
};

/* ---- header ------------------------------------------------------------ */

/*
 * "incompatible feature bit N "name"", the name from the image's own table
 * (printable characters only); valid until the next open on this thread.
 */
static const char *describe_unknown_feature(e2q_qcow_image *img)
{
	static __thread char text[96];
	unsigned int bit = (unsigned int)
		__builtin_ctzll(img->incompat & ~E2Q_QCOW2_INCOMPAT_KNOWN);
	const char *name = e2q_qcow_feature_name(img,
					E2Q_QCOW_FEATURE_INCOMPAT, bit);
	char *p;

	if (name && *name)
		snprintf(text, sizeof(text),
			 "incompatible feature bit %u \"%s\"", bit, name);
	else
		snprintf(text, sizeof(text), "incompatible feature bit %u",
			 bit);
	for (p = text; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	return text;
}

static errcode_t check_crypt_and_features(e2q_qcow_image *img,
					  const unsigned char *h,
					  struct e2q_qcow_problem *problem)
{
	uint32_t crypt = e2q_get_be32(h + E2Q_QCOW2_OFF_CRYPT_METHOD);

	if (crypt == E2Q_QCOW2_CRYPT_AES || crypt == E2Q_QCOW2_CRYPT_LUKS)
		return fail(problem, "header", E2Q_QCOW2_OFF_CRYPT_METHOD,
			    E2Q_ET_QCOW_ENCRYPTED);
	if (crypt != E2Q_QCOW2_CRYPT_NONE)
		return fail(problem, "header", E2Q_QCOW2_OFF_CRYPT_METHOD,
			    E2Q_ET_QCOW_BAD_HEADER);
	if (img->incompat & ~E2Q_QCOW2_INCOMPAT_KNOWN)
		return fail(problem, describe_unknown_feature(img),
			    E2Q_QCOW2_OFF_INCOMPAT,
			    E2Q_ET_QCOW_UNKNOWN_FEATURE);
	if (img->incompat & E2Q_QCOW2_INCOMPAT_DATA_FILE)
		return fail(problem, "header", E2Q_QCOW2_OFF_INCOMPAT,
			    E2Q_ET_QCOW_EXTERNAL_DATA);
	img->extended_l2 = !!(img->incompat & E2Q_QCOW2_INCOMPAT_EXTL2);
	if (img->extended_l2 &&
	    img->cluster_bits < QCOW2_EXTL2_MIN_CLUSTER_BITS)
		return fail(problem, "header", E2Q_QCOW2_OFF_INCOMPAT,
			    E2Q_ET_QCOW_BAD_HEADER);
	return 0;
}

static errcode_t parse_v3_fields(e2q_qcow_image *img, const unsigned char *h,
				 uint32_t *header_length,
				 struct e2q_qcow_problem *problem)
{
	int compression_bit;

	img->incompat = e2q_get_be64(h + E2Q_QCOW2_OFF_INCOMPAT);
	img->compat = e2q_get_be64(h + E2Q_QCOW2_OFF_COMPAT);
	img->autoclear = e2q_get_be64(h + E2Q_QCOW2_OFF_AUTOCLEAR);
	img->refcount_order = e2q_get_be32(h + E2Q_QCOW2_OFF_REFCOUNT_ORDER);
	*header_length = e2q_get_be32(h + E2Q_QCOW2_OFF_HEADER_LENGTH);
	if (img->refcount_order > E2Q_QCOW2_MAX_REFCOUNT_ORDER)
		return fail(problem, "header", E2Q_QCOW2_OFF_REFCOUNT_ORDER,
			    E2Q_ET_QCOW_BAD_HEADER);
	if (*header_length < E2Q_QCOW2_V3_HEADER_SIZE ||
	    (*header_length & 7) || *header_length > img->cluster_size)
		return fail(problem, "header", E2Q_QCOW2_OFF_HEADER_LENGTH,
			    E2Q_ET_QCOW_BAD_HEADER);
	if (*header_length > img->file_size)
		return fail(problem, "header", 0,
			    E2Q_ET_QCOW_TRUNCATED_HEADER);
	img->compression_type = *header_length > E2Q_QCOW2_OFF_COMPRESSION_TYPE
		? h[E2Q_QCOW2_OFF_COMPRESSION_TYPE] : 0;
	compression_bit = !!(img->incompat & E2Q_QCOW2_INCOMPAT_COMPRESSION);
	if (compression_bit != (img->compression_type != 0))
		return fail(problem, "header", E2Q_QCOW2_OFF_COMPRESSION_TYPE,
			    E2Q_ET_QCOW_BAD_HEADER);
	if (img->compression_type > E2Q_QCOW2_COMPRESSION_ZSTD)
		return fail(problem, "header", E2Q_QCOW2_OFF_COMPRESSION_TYPE,
			    E2Q_ET_QCOW_UNSUPPORTED);
	return 0;
}

static errcode_t compute_geometry(e2q_qcow_image *img, const unsigned char *h,
				  struct e2q_qcow_problem *problem)
{
	uint64_t l1_needed;

	img->cluster_size = 1U << img->cluster_bits;
	img->virtual_size = e2q_get_be64(h + E2Q_QCOW2_OFF_SIZE);
	img->nb_clusters = (img->virtual_size >> img->cluster_bits) +
		((img->virtual_size & (img->cluster_size - 1)) != 0);
	img->l2_entry_size = img->extended_l2 ? 16 : 8;
	img->l2_bits = img->cluster_bits - (img->extended_l2 ? 4 : 3);
	img->l2_table_size = img->cluster_size;
	img->subcluster_bits = img->extended_l2 ? img->cluster_bits - 5
						: img->cluster_bits;
	img->active_l1_size = e2q_get_be32(h + E2Q_QCOW2_OFF_L1_SIZE);
	img->active_l1_offset = e2q_get_be64(h + E2Q_QCOW2_OFF_L1_OFFSET);
	l1_needed = (img->nb_clusters >> img->l2_bits) +
		((img->nb_clusters & ((1ULL << img->l2_bits) - 1)) != 0);
	/*
	 * An L1 table past qemu's cap is read (e2image writes them above
	 * 8 TiB): it must lie in the file, which bounds the memory; --info
	 * and --check warn that qemu refuses it.
	 */
	if (img->active_l1_size < l1_needed)
		return fail(problem, "L1 table", img->active_l1_offset,
			    E2Q_ET_QCOW_L1_TOO_SMALL);
	return 0;
}

static errcode_t check_backing(e2q_qcow_image *img, const unsigned char *h,
			       uint64_t *ext_end,
			       struct e2q_qcow_problem *problem)
{
	uint64_t off = e2q_get_be64(h + E2Q_QCOW2_OFF_BACKING_OFFSET);
	uint32_t len = e2q_get_be32(h + E2Q_QCOW2_OFF_BACKING_SIZE);

	if (off == 0 && len == 0)
		return 0;
	if (off == 0 || off >= img->cluster_size ||
	    len > E2Q_QCOW2_MAX_BACKING_NAME ||
	    len > img->cluster_size - off)
		return fail(problem, "backing file name", off,
			    E2Q_ET_QCOW_BAD_HEADER);
	if (len && !(img->open_flags & E2Q_QCOW_OPEN_IGNORE_BACKING))
		return fail(problem, "backing file name", off,
			    E2Q_ET_QCOW_BACKING_FILE);
	if (len && e2q_qcow_read_string(img, off, len, &img->backing_name))
		return fail(problem, "backing file name", off,
			    E2Q_ET_QCOW_TABLE_OUTSIDE_FILE);
	if (off < *ext_end)
		*ext_end = off;
	return 0;
}

static errcode_t note_extension(e2q_qcow_image *img, uint32_t type,
				uint64_t off, uint32_t len)
{
	if (type == E2Q_QCOW2_EXT_BITMAPS)
		img->has_bitmaps = 1;
	if (type == E2Q_QCOW2_EXT_E2Q_REPORT && !img->report_len) {
		img->report_off = off;	/* decoded on demand (qcow_info.c) */
		img->report_len = len;
	} else if (type == E2Q_QCOW2_EXT_FEATURE_NAMES) {
		img->feature_names_off = off;
		img->feature_names_len = len;
	} else if (type == E2Q_QCOW2_EXT_BACKING_FORMAT &&
		   !img->backing_format) {
		return e2q_qcow_read_string(img, off, len,
					    &img->backing_format);
	}
	return 0;
}

static errcode_t parse_extensions(e2q_qcow_image *img, const unsigned char *h,
				  uint64_t start, uint64_t end,
				  struct e2q_qcow_problem *problem)
{
	uint64_t off = start;

	while (off + 8 <= end) {
		uint32_t type = e2q_get_be32(h + off);
		uint32_t len = e2q_get_be32(h + off + 4);

		if (type == E2Q_QCOW2_EXT_END)
			return 0;
		if (len > end - off - 8)
			return fail(problem, "header extension", off,
				    E2Q_ET_QCOW_BAD_HEADER);
		if (type == E2Q_QCOW2_EXT_DATA_FILE)
			return fail(problem, "header extension", off,
				    E2Q_ET_QCOW_EXTERNAL_DATA);
		if (type == E2Q_QCOW2_EXT_LUKS)
			return fail(problem, "header extension", off,
				    E2Q_ET_QCOW_ENCRYPTED);
		if (note_extension(img, type, off + 8, len))
			return fail(problem, "header extension", off,
				    E2Q_ET_QCOW_BAD_HEADER);
		off += 8 + (((uint64_t) len + 7) & ~7ULL);
	}
	return 0;
}

static errcode_t parse_header(e2q_qcow_image *img, const unsigned char *h,
			      size_t h_len, struct e2q_qcow_problem *problem)
{
	uint32_t header_length = E2Q_QCOW2_V2_HEADER_SIZE;
	uint64_t ext_end = h_len;
	errcode_t err;

	img->cluster_bits = e2q_get_be32(h + E2Q_QCOW2_OFF_CLUSTER_BITS);
	if (img->cluster_bits < E2Q_QCOW2_MIN_CLUSTER_BITS ||
	    img->cluster_bits > E2Q_QCOW2_MAX_CLUSTER_BITS)
		return fail(problem, "header", E2Q_QCOW2_OFF_CLUSTER_BITS,
			    E2Q_ET_QCOW_BAD_CLUSTER_BITS);
	img->cluster_size = 1U << img->cluster_bits;
	img->refcount_order = 4;
	if (img->version >= 3) {
		if (h_len < E2Q_QCOW2_V3_HEADER_SIZE)
			return fail(problem, "header", 0,
				    E2Q_ET_QCOW_TRUNCATED_HEADER);
		err = parse_v3_fields(img, h, &header_length, problem);
		if (err)
			return err;
	}
	/* extensions first: the feature-name table names unknown features */
	err = check_backing(img, h, &ext_end, problem);
	if (!err)
		err = parse_extensions(img, h, header_length, ext_end,
				       problem);
	if (!err)
		err = check_crypt_and_features(img, h, problem);
	if (!err)
		err = compute_geometry(img, h, problem);
	return err;
}

/* ---- tables ------------------------------------------------------------ */

static errcode_t read_table(e2q_qcow_image *img, uint64_t offset,
			    uint64_t len, const char *what,
			    unsigned char **ret,
			    struct e2q_qcow_problem *problem)
{
	unsigned char *buf;
	errcode_t err;

	*ret = NULL;
	if (!is_aligned(img, offset))
		return fail(problem, what, offset, E2Q_ET_QCOW_UNALIGNED);
	err = e2q_qcow_check_table_range(img, offset, len, what, problem);
	if (err)
		return err;
	buf = malloc(len ? (size_t) len : 1);
	if (!buf)
		return ENOMEM;
	err = e2q_qcow_read_exact(img, buf, (size_t) len, offset);
	if (err) {
		free(buf);
		return fail(problem, what, offset, err);
	}
	*ret = buf;
	return 0;
}

/*
 * Loads an L1 table; every L2 table it names goes to the metadata ranges.
 * Entry i is read before entry i is written, so the bytes are decoded over
 * themselves.
 */
static errcode_t load_l1(e2q_qcow_image *img, uint64_t offset, uint32_t size,
			 struct e2q_qcow_problem *problem)
{
	unsigned char *raw;
	uint32_t i;
	errcode_t err;

	err = read_table(img, offset, (uint64_t) size * 8, "L1 table", &raw,
			 problem);
	if (err)
		return err;
	/* decoded in place: one copy, up to the file's size */
	img->l1 = (uint64_t *) (void *) raw;
	img->l1_offset = offset;
	img->l1_size = size;
	for (i = 0; i < size && !err; i++) {
		uint64_t e = e2q_get_be64(raw + (size_t) i * 8);
		uint64_t l2 = e & E2Q_QCOW2_OFFSET_MASK;

		if (e & E2Q_QCOW2_L1_RESERVED_MASK) {
			err = fail(problem, "L1 table", offset + i * 8ULL,
				   E2Q_ET_QCOW_RESERVED_BITS);
		} else if (l2 && !is_aligned(img, l2)) {
			err = fail(problem, "L2 table", l2,
				   E2Q_ET_QCOW_UNALIGNED);
		} else if (l2) {
			err = e2q_qcow_check_table_range(img, l2,
					img->cluster_size, "L2 table", problem);
			if (!err)
				err = e2q_qcow_ranges_add(&img->meta, l2,
						img->cluster_size, "L2 table");
		}
		img->l1[i] = l2;
	}
	return err;
}

static errcode_t load_refcount_table(e2q_qcow_image *img,
				     struct e2q_qcow_problem *problem)
{
	uint64_t len = (uint64_t) img->reftable_clusters * img->cluster_size;
	unsigned char *raw;
	uint64_t i;
	errcode_t err;

	if (img->reftable_clusters == 0)
		return fail(problem, "refcount table", img->reftable_offset,
			    E2Q_ET_QCOW_BAD_HEADER);
	/* past qemu's cap: read all the same, within the file (see L1) */
	err = read_table(img, img->reftable_offset, len, "refcount table",
			 &raw, problem);
	if (!err)
		err = e2q_qcow_ranges_add(&img->meta, img->reftable_offset,
					  len, "refcount table");
	if (!err) {
		img->reftable_entries = len / 8;
		img->reftable = calloc(len / 8, sizeof(*img->reftable));
		if (!img->reftable)
			err = ENOMEM;
	}
	for (i = 0; !err && i < len / 8; i++) {
		uint64_t block = e2q_get_be64(raw + i * 8);

		img->reftable[i] = block;

		if (block & E2Q_QCOW2_REFT_RESERVED_MASK)
			err = fail(problem, "refcount table",
				   img->reftable_offset + i * 8,
				   E2Q_ET_QCOW_RESERVED_BITS);
		else if (block && !is_aligned(img, block))
			err = fail(problem, "refcount block", block,
				   E2Q_ET_QCOW_UNALIGNED);
		else if (block)
			err = e2q_qcow_check_table_range(img, block,
				img->cluster_size, "refcount block", problem);
		if (!err && block)
			err = e2q_qcow_ranges_add(&img->meta, block,
				img->cluster_size, "refcount block");
	}
	if (raw)
		free(raw);
	return err;
}

/* ---- snapshots --------------------------------------------------------- */

/*
 * Reads the snapshot entry at `pos`; returns its length in *len, without
 * the padding to 8 bytes that separates it from the next (the last entry
 * of the file is not padded).
 */
static errcode_t read_snapshot(e2q_qcow_image *img, uint64_t pos,
			       struct e2q_qcow_snapshot *sn, uint64_t *len,
			       struct e2q_qcow_problem *problem)
{
	unsigned char f[E2Q_QCOW2_SNAP_FIXED_SIZE], extra[16];
	uint32_t id_len, name_len, extra_len;
	errcode_t err;

	err = e2q_qcow_check_table_range(img, pos, sizeof(f),
					 "snapshot table", problem);
	if (!err)
		err = e2q_qcow_read_exact(img, f, sizeof(f), pos);
	if (err)
		return fail(problem, "snapshot table", pos, err);
	sn->l1_offset = e2q_get_be64(f);
	sn->l1_size = e2q_get_be32(f + 8);
	id_len = e2q_get_be16(f + 12);
	name_len = e2q_get_be16(f + 14);
	sn->date_sec = e2q_get_be32(f + 16);
	sn->vm_state_size = e2q_get_be32(f + 32);
	extra_len = e2q_get_be32(f + 36);
	*len = sizeof(f) + (uint64_t) extra_len + id_len + name_len;
	if (extra_len > QCOW2_MAX_SNAPSHOT_EXTRA)
		return fail(problem, "snapshot table", pos,
			    E2Q_ET_QCOW_BAD_HEADER);
	err = e2q_qcow_check_table_range(img, pos, *len, "snapshot table",
					 problem);
	if (err)
		return err;
	if (extra_len >= 16) {
		err = e2q_qcow_read_exact(img, extra, sizeof(extra),
					  pos + sizeof(f));
		if (err)
			return fail(problem, "snapshot table", pos, err);
		sn->vm_state_size = e2q_get_be64(extra);
		sn->disk_size = e2q_get_be64(extra + 8);
	}
	pos += sizeof(f) + extra_len;
	err = e2q_qcow_read_string(img, pos, id_len, &sn->id);
	if (!err)
		err = e2q_qcow_read_string(img, pos + id_len, name_len,
					   &sn->name);
	return err ? fail(problem, "snapshot table", pos, err) : 0;
}

static errcode_t check_snapshot_l1(e2q_qcow_image *img,
				   const struct e2q_qcow_snapshot *sn,
				   struct e2q_qcow_problem *problem)
{
	uint64_t len = (uint64_t) sn->l1_size * 8;
	errcode_t err;

	if (len > E2Q_QCOW2_MAX_L1_BYTES)
		return fail(problem, "snapshot L1 table", sn->l1_offset,
			    E2Q_ET_QCOW_TOO_LARGE);
	if (!is_aligned(img, sn->l1_offset))
		return fail(problem, "snapshot L1 table", sn->l1_offset,
			    E2Q_ET_QCOW_UNALIGNED);
	err = e2q_qcow_check_table_range(img, sn->l1_offset, len,
					 "snapshot L1 table", problem);
	if (!err)
		err = e2q_qcow_ranges_add(&img->meta, sn->l1_offset, len,
					  "snapshot L1 table");
	return err;
}

static errcode_t load_snapshots(e2q_qcow_image *img,
				struct e2q_qcow_problem *problem)
{
	uint64_t pos = img->snapshots_offset, len = 0, total = 0;
	uint32_t i;
	errcode_t err = 0;

	if (img->nb_snapshots == 0)
		return 0;
	if (img->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
		return fail(problem, "snapshot table", pos,
			    E2Q_ET_QCOW_TOO_LARGE);
	if (!is_aligned(img, pos))
		return fail(problem, "snapshot table", pos,
			    E2Q_ET_QCOW_UNALIGNED);
	/* each entry takes at least 40 bytes of the file */
	if ((uint64_t) img->nb_snapshots * E2Q_QCOW2_SNAP_FIXED_SIZE >
	    img->file_size)
		return fail(problem, "snapshot table", pos,
			    E2Q_ET_QCOW_TABLE_OUTSIDE_FILE);
	img->snapshots = calloc(img->nb_snapshots, sizeof(*img->snapshots));
	if (!img->snapshots)
		return ENOMEM;
	for (i = 0; i < img->nb_snapshots && !err; i++) {
		err = read_snapshot(img, pos, &img->snapshots[i], &len,
				    problem);
		if (!err)
			err = check_snapshot_l1(img, &img->snapshots[i],
						problem);
		total = pos - img->snapshots_offset + len;
		pos += (len + 7) & ~7ULL;
		if (!err && total > QCOW2_MAX_SNAPSHOT_TABLE)
			err = fail(problem, "snapshot table",
				   img->snapshots_offset,
				   E2Q_ET_QCOW_TOO_LARGE);
	}
	img->snapshots_size = total;
	if (!err)
		err = e2q_qcow_ranges_add(&img->meta, img->snapshots_offset,
					  total, "snapshot table");
	return err;
}

static const struct e2q_qcow_snapshot *
find_snapshot(const e2q_qcow_image *img, const char *what)
{
	uint32_t i;

	for (i = 0; i < img->nb_snapshots; i++)
		if (strcmp(img->snapshots[i].id, what) == 0)
			return &img->snapshots[i];
	for (i = 0; i < img->nb_snapshots; i++)
		if (strcmp(img->snapshots[i].name, what) == 0)
			return &img->snapshots[i];
	return NULL;
}

/* ---- open -------------------------------------------------------------- */

static errcode_t read_header_cluster(e2q_qcow_image *img, unsigned char **h,
				     size_t *h_len,
				     struct e2q_qcow_problem *problem)
{
	uint32_t cluster_bits;
	unsigned char fixed[E2Q_QCOW2_V2_HEADER_SIZE];
	errcode_t err;

	if (img->file_size < E2Q_QCOW2_V2_HEADER_SIZE)
		return fail(problem, "header", 0,
			    E2Q_ET_QCOW_TRUNCATED_HEADER);
	err = e2q_qcow_read_exact(img, fixed, sizeof(fixed), 0);
	if (err)
		return fail(problem, "header", 0, err);
	cluster_bits = e2q_get_be32(fixed + E2Q_QCOW2_OFF_CLUSTER_BITS);
	if (cluster_bits < E2Q_QCOW2_MIN_CLUSTER_BITS ||
	    cluster_bits > E2Q_QCOW2_MAX_CLUSTER_BITS)
		return fail(problem, "header", E2Q_QCOW2_OFF_CLUSTER_BITS,
			    E2Q_ET_QCOW_BAD_CLUSTER_BITS);
	*h_len = 1U << cluster_bits;
	if (*h_len > img->file_size)
		*h_len = (size_t) img->file_size;
	*h = malloc(*h_len);
	if (!*h)
		return ENOMEM;
	err = e2q_qcow_read_exact(img, *h, *h_len, 0);
	return err ? fail(problem, "header", 0, err) : 0;
}

static errcode_t select_l1(e2q_qcow_image *img,
			   const struct e2q_qcow_open_params *params,
			   struct e2q_qcow_problem *problem)
{
	uint64_t offset = img->active_l1_offset;
	uint32_t size = img->active_l1_size;
	errcode_t err;

	err = e2q_qcow_ranges_add(&img->meta, offset, (uint64_t) size * 8,
				  "L1 table");
	if (err)
		return err;
	if (params && params->snapshot) {
		img->selected = find_snapshot(img, params->snapshot);
		if (!img->selected)
			return fail(problem, "snapshot table",
				    img->snapshots_offset, E2Q_ET_NO_SNAPSHOT);
		/* the active L1 must be sane even when it is not used */
		if (!is_aligned(img, offset))
			return fail(problem, "L1 table", offset,
				    E2Q_ET_QCOW_UNALIGNED);
		err = e2q_qcow_check_table_range(img, offset,
				(uint64_t) size * 8, "L1 table", problem);
		if (err)
			return err;
		offset = img->selected->l1_offset;
		size = img->selected->l1_size;
	}
	return load_l1(img, offset, size, problem);
}

errcode_t e2q_qcow2_open_image(e2q_qcow_image *img,
			       const struct e2q_qcow_open_params *params,
			       struct e2q_qcow_problem *problem)
{
	unsigned char *h = NULL;
	size_t h_len = 0;
	errcode_t err;

	img->ops = &qcow2_ops;
	err = read_header_cluster(img, &h, &h_len, problem);
	if (!err)
		err = parse_header(img, h, h_len, problem);
	if (!err) {
		img->reftable_offset =
			e2q_get_be64(h + E2Q_QCOW2_OFF_REFTABLE_OFFSET);
		img->reftable_clusters =
			e2q_get_be32(h + E2Q_QCOW2_OFF_REFTABLE_CLUSTERS);
		img->nb_snapshots = e2q_get_be32(h + E2Q_QCOW2_OFF_NB_SNAPSHOTS);
		img->snapshots_offset =
			e2q_get_be64(h + E2Q_QCOW2_OFF_SNAPSHOTS_OFFSET);
	}
	free(h);
	if (!err)
		err = e2q_qcow_ranges_add(&img->meta, 0, img->cluster_size,
					  "header");
	if (!err)
		err = load_refcount_table(img, problem);
	if (!err)
		err = load_snapshots(img, problem);
	if (!err)
		err = select_l1(img, params, problem);
	if (!err)
		err = e2q_qcow_ranges_sort_check(&img->meta, problem);
	return err;
}
