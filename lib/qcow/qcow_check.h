/*
 * qcow_check.h --- what an open qcow image says about itself (--info) and
 * whether its refcounts agree with its tables (--check).
 *
 * Both work on an image opened with e2q_qcow_open(); use the flag
 * E2Q_QCOW_OPEN_IGNORE_BACKING so that an image with a backing file can be
 * described (the backing file is named, never opened).  Structural damage
 * (tables outside the file, overlaps, reserved bits) already fails the open
 * or the walk with an E2Q_ET_* code and a problem; what is left for
 * e2q_qcow_check() is the refcount accounting, done as `qemu-img check`
 * does it: every cluster's refcount must equal the number of references
 * to it from the header, L1, L2 and refcount tables, the snapshot table and
 * snapshot L1 tables; a lower refcount is a corruption, a higher one a leak.
 * The COPIED flag of the active L1 and L2 entries must be set exactly when
 * the refcount is 1.  An L1 entry with flags but offset 0 names the header
 * as its L2 table: one more reference to cluster 0, a corruption, as qemu
 * counts it.  Stricter than qemu-img check: the zero flag in a version 2
 * image fails the check with E2Q_ET_QCOW_V2_ZERO_FLAG, since qemu will not
 * read that cluster.
 *
 * Strings in the structures belong to the image handle.  Memory: four
 * bytes per cluster of the image file during a check.
 */
#ifndef E2Q_QCOW_CHECK_H
#define E2Q_QCOW_CHECK_H

#include <stdint.h>
#include <et/com_err.h>

#include "qcow/qcow_reader.h"

enum e2q_qcow_feature_kind {
	E2Q_QCOW_FEATURE_INCOMPAT = 0,
	E2Q_QCOW_FEATURE_COMPAT = 1,
	E2Q_QCOW_FEATURE_AUTOCLEAR = 2,
};

struct e2q_qcow_info {
	unsigned int version;		/* 1, 2, 3 */
	uint64_t virtual_size;
	uint64_t file_size;
	unsigned int cluster_size;
	unsigned int compression_type;	/* E2Q_QCOW2_COMPRESSION_* */
	unsigned int refcount_bits;	/* 0 for qcow v1 */
	int extended_l2;
	uint64_t features[3];		/* by enum e2q_qcow_feature_kind */
	const char *backing_file;	/* NULL: none */
	const char *backing_format;	/* NULL: not given */
	unsigned int nb_snapshots;
	uint64_t allocated_bytes;	/* guest bytes with data in the file */
	uint64_t compressed_clusters;
	uint64_t zero_clusters;
	uint64_t allocated_clusters;	/* guest clusters stored in the file
					 * (as qemu-img check counts them) */
};

struct e2q_qcow_snapshot_info {
	const char *id;
	const char *name;
	uint32_t date_sec;
	uint64_t vm_state_size;
	uint64_t disk_size;		/* 0: not recorded */
};

struct e2q_qcow_check_report {
	uint64_t corruptions;		/* refcount too low, COPIED wrong */
	uint64_t leaks;			/* refcount higher than use */
	uint64_t first_corruption;	/* host offset of the first one */
	uint64_t first_leak;		/* host offset of the first one */
	uint64_t referenced_clusters;	/* clusters in use */
	uint64_t image_end_offset;	/* past the last cluster referenced or
					 * refcounted, as qemu-img check says */
	uint64_t l1_entries_at_zero;	/* L1 entries naming offset 0 */
	int refcounts_checked;		/* 0 for qcow v1: no refcounts */
};

/*
 * Tables larger than qemu's caps (qcow_format.h): qemu refuses to open the
 * image ("Active L1 table too large", "Reference count table too large"),
 * this reader reads it (e2image -Q writes such L1 tables above 8 TiB).
 * A warning, not a corruption.
 */
struct e2q_qcow_qemu_limits {
	uint64_t l1_bytes, l1_limit;		/* the active L1 table */
	uint64_t reftable_bytes, reftable_limit;
	int l1_too_large, reftable_too_large;
};

void e2q_qcow_get_qemu_limits(const e2q_qcow_image *img,
			      struct e2q_qcow_qemu_limits *lim);

/* Walks the active L1 to count allocated bytes; fills *info. */
errcode_t e2q_qcow_get_info(e2q_qcow_image *img, struct e2q_qcow_info *info,
			    struct e2q_qcow_problem *problem);

/* Name of a feature bit, from the image's own table when it has one; NULL
 * when unknown. */
const char *e2q_qcow_feature_name(e2q_qcow_image *img,
				  enum e2q_qcow_feature_kind kind,
				  unsigned int bit);

/* Snapshot number `index` (0 .. nb_snapshots - 1); 0 or E2Q_ET_RANGE. */
errcode_t e2q_qcow_get_snapshot(const e2q_qcow_image *img, unsigned int index,
				struct e2q_qcow_snapshot_info *info);

/*
 * Checks the whole image.  Returns 0 with the report filled (corruptions
 * and leaks counted), or an error code with `problem` set when a table
 * cannot be walked at all (that image is corrupt too).
 */
errcode_t e2q_qcow_check(e2q_qcow_image *img,
			 struct e2q_qcow_check_report *report,
			 struct e2q_qcow_problem *problem);

#endif /* E2Q_QCOW_CHECK_H */
