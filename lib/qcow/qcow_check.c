/*
 * qcow_check.c --- refcount accounting of a qcow2 image, as `qemu-img
 * check` does it (see qcow_check.h).
 *
 * One pass counts the references to every host cluster: header, active and
 * snapshot L1 tables, the L2 tables they name (once per naming L1), data
 * and compressed clusters (once per L2 entry), the refcount table and
 * blocks, the snapshot table.  A second pass reads the refcount blocks and
 * compares.  Every L2 table walked is validated by the reader's decoder.
 *
 * Where qemu-img check and we part:
 * - An L1 entry that is not zero but names offset 0 is counted as qemu
 *   counts it: one more reference to the header cluster, hence a refcount
 *   error; the header is not walked as an L2 table.
 * - The zero flag in a version 2 image is an error here
 *   (E2Q_ET_QCOW_V2_ZERO_FLAG): qemu-img check lets it pass, but qemu
 *   refuses to read such a cluster ("Zero cluster entry found in pre-v3
 *   image"), so the image cannot be read whole.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qcow_reader_int.h"
#include "qcow/qcow_check.h"
#include "qcow/qcow_format.h"
#include "e2q_err.h"

struct checker {
	e2q_qcow_image *img;
	struct e2q_qcow_check_report *report;
	struct e2q_qcow_problem *problem;
	uint32_t *expected;		/* references per host cluster */
	uint64_t nclusters;		/* host clusters of the file */
	unsigned char *l2;		/* one L2 table */
	unsigned char *block;		/* one refcount block */
	uint64_t block_index;		/* of `block`, or UINT64_MAX */
};

static void reference(struct checker *c, uint64_t off, uint64_t len)
{
	uint64_t i, last;

	if (len == 0)
		return;
	last = (off + len - 1) >> c->img->cluster_bits;
	for (i = off >> c->img->cluster_bits; i <= last && i < c->nclusters;
	     i++)
		if (c->expected[i] != UINT32_MAX)
			c->expected[i]++;
}

/* The refcount of host cluster `cluster`, read from its refcount block. */
static errcode_t get_refcount(struct checker *c, uint64_t cluster,
			      uint64_t *ret)
{
	e2q_qcow_image *img = c->img;
	unsigned int width = 1U << img->refcount_order;
	uint64_t per_block = ((uint64_t) img->cluster_size * 8) / width;
	uint64_t bi = cluster / per_block, idx = cluster % per_block, v = 0;
	unsigned int k;
	errcode_t err;

	*ret = 0;
	if (bi >= img->reftable_entries || img->reftable[bi] == 0)
		return 0;
	if (c->block_index != bi) {
		c->block_index = UINT64_MAX;
		err = e2q_qcow_read_exact(img, c->block, img->cluster_size,
					  img->reftable[bi]);
		if (err) {
			e2q_qcow_set_problem(c->problem, "refcount block",
					     img->reftable[bi]);
			return err;
		}
		c->block_index = bi;
	}
	if (width < 8) {
		unsigned int byte = c->block[idx * width / 8];

		*ret = (byte >> ((idx * width) % 8)) & ((1U << width) - 1);
		return 0;
	}
	for (k = 0; k < width / 8; k++)
		v = (v << 8) | c->block[idx * (width / 8) + k];
	*ret = v;
	return 0;
}

/* The COPIED flag must be set exactly when the refcount is 1. */
static errcode_t check_copied(struct checker *c, uint64_t entry,
			      uint64_t host)
{
	uint64_t refcount;
	errcode_t err = get_refcount(c, host >> c->img->cluster_bits,
				     &refcount);

	if (err)
		return err;
	if ((refcount == 1) != !!(entry & E2Q_QCOW2_OFLAG_COPIED)) {
		if (!c->report->corruptions)
			c->report->first_corruption = host;
		c->report->corruptions++;
	}
	return 0;
}

/* Version 2 has no zero clusters: qemu refuses to read such an entry. */
static errcode_t check_v2_zero_flag(struct checker *c, uint64_t l2_off,
				    unsigned int i)
{
	size_t at = (size_t) i * c->img->l2_entry_size;
	uint64_t e = e2q_get_be64(c->l2 + at);

	if (c->img->version >= 3 || (e & E2Q_QCOW2_OFLAG_COMPRESSED) ||
	    !(e & E2Q_QCOW2_OFLAG_ZERO))
		return 0;
	e2q_qcow_set_problem(c->problem, "L2 table", l2_off + at);
	return E2Q_ET_QCOW_V2_ZERO_FLAG;
}

static errcode_t walk_l2(struct checker *c, uint64_t l2_off, int active)
{
	e2q_qcow_image *img = c->img;
	unsigned int i, entries = 1U << img->l2_bits;
	struct e2q_qcow_map m;
	errcode_t err;

	err = e2q_qcow_read_exact(img, c->l2, img->l2_table_size, l2_off);
	for (i = 0; !err && i < entries; i++) {
		err = check_v2_zero_flag(c, l2_off, i);
		if (!err)
			err = img->ops->decode_l2(img, c->l2, l2_off, i, &m,
						  c->problem);
		if (err || m.host == 0)
			continue;
		if (m.kind == E2Q_QCOW_COMPRESSED) {
			reference(c, m.host, m.clen);
			continue;
		}
		reference(c, m.host, img->cluster_size);
		if (active)
			err = check_copied(c, e2q_get_be64(c->l2 +
					   (size_t) i * img->l2_entry_size),
					   m.host);
	}
	if (err && !c->problem->structure)
		e2q_qcow_set_problem(c->problem, "L2 table", l2_off);
	return err;
}

static errcode_t check_l1_entry(struct checker *c, uint64_t e, uint64_t where)
{
	uint64_t l2 = e & E2Q_QCOW2_OFFSET_MASK;

	if (e & E2Q_QCOW2_L1_RESERVED_MASK) {
		e2q_qcow_set_problem(c->problem, "L1 table", where);
		return E2Q_ET_QCOW_RESERVED_BITS;
	}
	if (l2 & (c->img->cluster_size - 1)) {
		e2q_qcow_set_problem(c->problem, "L2 table", l2);
		return E2Q_ET_QCOW_UNALIGNED;
	}
	return e2q_qcow_check_table_range(c->img, l2, c->img->cluster_size,
					  "L2 table", c->problem);
}

static errcode_t walk_l1(struct checker *c, uint64_t off, uint32_t size,
			 int active)
{
	unsigned char *raw = malloc(size ? (size_t) size * 8 : 1);
	uint32_t i;
	errcode_t err;

	if (!raw)
		return ENOMEM;
	reference(c, off, (uint64_t) size * 8);
	err = e2q_qcow_read_exact(c->img, raw, (size_t) size * 8, off);
	if (err)
		e2q_qcow_set_problem(c->problem, "L1 table", off);
	for (i = 0; !err && i < size; i++) {
		uint64_t e = e2q_get_be64(raw + (size_t) i * 8);
		uint64_t l2 = e & E2Q_QCOW2_OFFSET_MASK;

		err = check_l1_entry(c, e, off + (uint64_t) i * 8);
		if (!err && !l2 && e) {
			/* qemu counts the header as this L2 table */
			reference(c, 0, c->img->cluster_size);
			c->report->l1_entries_at_zero++;
		}
		if (err || !l2)
			continue;
		reference(c, l2, c->img->cluster_size);
		if (active)
			err = check_copied(c, e, l2);
		if (!err)
			err = walk_l2(c, l2, active);
	}
	free(raw);
	return err;
}

static errcode_t count_references(struct checker *c)
{
	e2q_qcow_image *img = c->img;
	uint64_t i;
	errcode_t err;

	reference(c, 0, img->cluster_size);
	reference(c, img->reftable_offset,
		  (uint64_t) img->reftable_clusters * img->cluster_size);
	for (i = 0; i < img->reftable_entries; i++)
		if (img->reftable[i])
			reference(c, img->reftable[i], img->cluster_size);
	reference(c, img->snapshots_offset, img->snapshots_size);
	for (i = 0; i < img->nb_snapshots; i++) {
		err = walk_l1(c, img->snapshots[i].l1_offset,
			      img->snapshots[i].l1_size, 0);
		if (err)
			return err;
	}
	return walk_l1(c, img->active_l1_offset, img->active_l1_size, 1);
}

static errcode_t compare_refcounts(struct checker *c)
{
	struct e2q_qcow_check_report *r = c->report;
	uint64_t i, refcount;
	errcode_t err;

	for (i = 0; i < c->nclusters; i++) {
		uint64_t off = i << c->img->cluster_bits;

		err = get_refcount(c, i, &refcount);
		if (err)
			return err;
		if (c->expected[i])
			r->referenced_clusters++;
		if (c->expected[i] || refcount)
			r->image_end_offset = off + c->img->cluster_size;
		if (refcount < c->expected[i]) {
			if (!r->corruptions)
				r->first_corruption = off;
			r->corruptions++;
		} else if (refcount > c->expected[i]) {
			if (!r->leaks)
				r->first_leak = off;
			r->leaks++;
		}
	}
	return 0;
}

/* qcow v1 has no refcounts: walk every L2 table, which validates it. */
static errcode_t walk_v1(e2q_qcow_image *img,
			 struct e2q_qcow_check_report *report,
			 struct e2q_qcow_problem *problem)
{
	uint64_t cluster = 0, per_l2 = 1ULL << img->l2_bits;
	struct e2q_qcow_map m;
	errcode_t err;

	while (cluster < img->nb_clusters) {
		uint64_t l1_index = cluster >> img->l2_bits;

		if (l1_index >= img->l1_size || img->l1[l1_index] == 0) {
			cluster = (l1_index + 1) * per_l2;
			continue;
		}
		err = e2q_qcow_map_cluster(img, cluster, &m, problem);
		if (err)
			return err;
		if (m.kind != E2Q_QCOW_UNALLOCATED)
			report->referenced_clusters++;
		cluster++;
	}
	return 0;
}

errcode_t e2q_qcow_check(e2q_qcow_image *img,
			 struct e2q_qcow_check_report *report,
			 struct e2q_qcow_problem *problem)
{
	struct e2q_qcow_problem scratch = { NULL, 0 };
	struct checker c;
	errcode_t err;

	memset(report, 0, sizeof(*report));
	if (!problem)
		problem = &scratch;
	problem->structure = NULL;
	if (img->version == 1)
		return walk_v1(img, report, problem);
	if (img->has_bitmaps && (img->autoclear & E2Q_QCOW2_AUTOCLEAR_BITMAPS)) {
		/* their directory and tables would count as leaks */
		e2q_qcow_set_problem(problem, "bitmaps extension", 0);
		return E2Q_ET_QCOW_UNSUPPORTED;
	}
	memset(&c, 0, sizeof(c));
	c.img = img;
	c.report = report;
	c.problem = problem;
	c.block_index = UINT64_MAX;
	c.nclusters = (img->file_size + img->cluster_size - 1) >>
		img->cluster_bits;
	c.expected = calloc(c.nclusters ? c.nclusters : 1,
			    sizeof(*c.expected));
	c.l2 = malloc(img->l2_table_size);
	c.block = malloc(img->cluster_size);
	err = (!c.expected || !c.l2 || !c.block) ? ENOMEM : 0;
	if (!err)
		err = count_references(&c);
	if (!err)
		err = compare_refcounts(&c);
	report->refcounts_checked = !err;
	free(c.expected);
	free(c.l2);
	free(c.block);
	return err;
}
