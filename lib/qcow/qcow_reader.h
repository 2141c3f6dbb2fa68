/*
 * qcow_reader.h --- reads qcow2 (v2, v3) and legacy qcow (v1) images, strictly.
 *
 * Knows nothing of ext2.  Image bytes are hostile: every offset is bounds
 * checked against the file, every table is validated before use, and memory
 * is bounded by the size of the image file, never by a field inside it.
 *
 * Ownership: e2q_qcow_open() takes a readable descriptor it does not own
 * (the caller closes it after e2q_qcow_close()).  On failure it returns an
 * E2Q_ET_* code (or an errno value) and, when `problem` is not NULL, fills
 * it with the structure at fault and its byte offset in the file, so that
 * the program can say "FILE: L2 table at offset N: reserved bits set".
 */
#ifndef E2Q_QCOW_READER_H
#define E2Q_QCOW_READER_H

#include <stddef.h>
#include <stdint.h>
#include <et/com_err.h>

#include "support/raw_output.h"

typedef struct e2q_qcow_image e2q_qcow_image;

struct e2q_qcow_problem {
	const char *structure;	/* "header", "L1 table", "L2 table", ... */
	uint64_t offset;	/* byte offset of that structure in the file */
};

struct e2q_qcow_open_params {
	const char *snapshot;	/* id or name; NULL: the active state */
	int flags;		/* E2Q_QCOW_OPEN_* */
};

/*
 * Open an image that names a backing file without refusing it (the file is
 * never opened: unallocated clusters read as zeros until a parent is given
 * with e2q_qcow_set_parent()).  For --info, --check, and conversion of a
 * backing chain the user names.
 */
#define E2Q_QCOW_OPEN_IGNORE_BACKING	0x1

/*
 * The parent of an image opened with E2Q_QCOW_OPEN_IGNORE_BACKING, named by
 * the user (the name recorded in the image is never opened): unallocated
 * clusters, and unallocated subclusters that are not zero, then read from
 * it.  Either an open qcow image (which may have a parent of its own) or a
 * raw file of raw_size bytes; past the parent's end reads are zeros.  The
 * child does not own the parent.  E2Q_ET_QCOW_NO_BACKING when the image
 * names no backing file; E2Q_ET_QCOW_CHAIN_TOO_DEEP past
 * E2Q_QCOW_MAX_CHAIN images.
 */
#define E2Q_QCOW_MAX_CHAIN	16

struct e2q_qcow_parent {
	e2q_qcow_image *image;	/* or NULL, and then: */
	int raw_fd;
	uint64_t raw_size;
};

errcode_t e2q_qcow_set_parent(e2q_qcow_image *img,
			      const struct e2q_qcow_parent *parent);

/* Returns 1 when the first bytes of fd carry the qcow magic, 0 otherwise. */
int e2q_qcow_probe(int fd);

errcode_t e2q_qcow_open(int fd, const struct e2q_qcow_open_params *params,
			e2q_qcow_image **ret, struct e2q_qcow_problem *problem);
void e2q_qcow_close(e2q_qcow_image *img);

uint64_t e2q_qcow_virtual_size(const e2q_qcow_image *img);
unsigned int e2q_qcow_cluster_size(const e2q_qcow_image *img);
unsigned int e2q_qcow_version(const e2q_qcow_image *img);

/*
 * e2qcow's capture report (a header extension, see qcow_format.h): on
 * success *text is a malloc()ed, NUL-terminated copy of its text, *len its
 * length (the caller frees it), or NULL when the image has none (qcow v1,
 * images of other tools).  The text is as hostile as the image: it is not
 * checked to be JSON here, and may hold NUL bytes.  E2Q_ET_QCOW_BAD_REPORT
 * when the extension is malformed (short, unknown version or encoding, a
 * text longer than E2Q_QCOW_REPORT_MAX_TEXT, or a compressed text that does
 * not inflate to exactly its length).
 */
errcode_t e2q_qcow_get_report(const e2q_qcow_image *img, char **text,
			      size_t *len);

/* Reads guest bytes [offset, offset + len); unallocated areas read as zeros. */
errcode_t e2q_qcow_pread(e2q_qcow_image *img, void *buf, size_t len,
			 uint64_t offset, struct e2q_qcow_problem *problem);

/*
 * Writes the whole virtual disk to `out`: allocated clusters in large
 * batches, zero and unallocated clusters as holes.
 */
errcode_t e2q_qcow_convert_to_raw(e2q_qcow_image *img, e2q_raw_output *out,
				  struct e2q_qcow_problem *problem);

#endif /* E2Q_QCOW_READER_H */
