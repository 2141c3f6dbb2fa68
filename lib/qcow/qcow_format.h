/*
 * qcow_format.h --- on-disk constants of qcow2 (v2, v3) and legacy qcow (v1),
 * and the big-endian field helpers used to decode them.
 *
 * Contract: every on-disk constant of the qcow family lives here and nowhere
 * else.  Fields are always decoded from byte buffers with e2q_get_be*() and
 * encoded with e2q_put_be*(); no structure is ever overlaid on image bytes.
 * Everything on disk is big-endian.  See docs/interop/qcow2.rst in qemu.
 */
#ifndef E2Q_QCOW_FORMAT_H
#define E2Q_QCOW_FORMAT_H

#include <stdint.h>

#define E2Q_QCOW_MAGIC			0x514649fbU	/* "QFI\xfb" */

/* qcow2 header, fixed part (offsets in bytes) */
#define E2Q_QCOW2_OFF_MAGIC		0
#define E2Q_QCOW2_OFF_VERSION		4
#define E2Q_QCOW2_OFF_BACKING_OFFSET	8
#define E2Q_QCOW2_OFF_BACKING_SIZE	16
#define E2Q_QCOW2_OFF_CLUSTER_BITS	20
#define E2Q_QCOW2_OFF_SIZE		24
#define E2Q_QCOW2_OFF_CRYPT_METHOD	32
#define E2Q_QCOW2_OFF_L1_SIZE		36
#define E2Q_QCOW2_OFF_L1_OFFSET		40
#define E2Q_QCOW2_OFF_REFTABLE_OFFSET	48
#define E2Q_QCOW2_OFF_REFTABLE_CLUSTERS	56
#define E2Q_QCOW2_OFF_NB_SNAPSHOTS	60
#define E2Q_QCOW2_OFF_SNAPSHOTS_OFFSET	64
#define E2Q_QCOW2_V2_HEADER_SIZE	72
/* version 3 additions */
#define E2Q_QCOW2_OFF_INCOMPAT		72
#define E2Q_QCOW2_OFF_COMPAT		80
#define E2Q_QCOW2_OFF_AUTOCLEAR		88
#define E2Q_QCOW2_OFF_REFCOUNT_ORDER	96
#define E2Q_QCOW2_OFF_HEADER_LENGTH	100
#define E2Q_QCOW2_OFF_COMPRESSION_TYPE	104
#define E2Q_QCOW2_V3_HEADER_SIZE	104

#define E2Q_QCOW2_MIN_CLUSTER_BITS	9
#define E2Q_QCOW2_MAX_CLUSTER_BITS	21
#define E2Q_QCOW2_MAX_BACKING_NAME	1023
#define E2Q_QCOW2_MAX_L1_BYTES		(32U << 20)	/* qemu's cap */
#define E2Q_QCOW2_MAX_REFTABLE_BYTES	(8U << 20)	/* qemu's cap */
#define E2Q_QCOW2_MAX_REFCOUNT_ORDER	6

#define E2Q_QCOW2_CRYPT_NONE		0
#define E2Q_QCOW2_CRYPT_AES		1
#define E2Q_QCOW2_CRYPT_LUKS		2

/* feature bits (v3) */
#define E2Q_QCOW2_INCOMPAT_DIRTY	(1ULL << 0)
#define E2Q_QCOW2_INCOMPAT_CORRUPT	(1ULL << 1)
#define E2Q_QCOW2_INCOMPAT_DATA_FILE	(1ULL << 2)
#define E2Q_QCOW2_INCOMPAT_COMPRESSION	(1ULL << 3)
#define E2Q_QCOW2_INCOMPAT_EXTL2	(1ULL << 4)
#define E2Q_QCOW2_INCOMPAT_KNOWN	0x1fULL
#define E2Q_QCOW2_COMPAT_LAZY_REFCOUNTS	(1ULL << 0)
#define E2Q_QCOW2_AUTOCLEAR_BITMAPS	(1ULL << 0)
#define E2Q_QCOW2_AUTOCLEAR_RAW_DATA	(1ULL << 1)

#define E2Q_QCOW2_COMPRESSION_ZLIB	0
#define E2Q_QCOW2_COMPRESSION_ZSTD	1

/* header extension types */
#define E2Q_QCOW2_EXT_END		0x00000000U
#define E2Q_QCOW2_EXT_BACKING_FORMAT	0xe2792acaU
#define E2Q_QCOW2_EXT_FEATURE_NAMES	0x6803f857U
#define E2Q_QCOW2_EXT_BITMAPS		0x23852875U
#define E2Q_QCOW2_EXT_LUKS		0x0537be77U
#define E2Q_QCOW2_EXT_DATA_FILE		0x44415441U
#define E2Q_QCOW2_FEATURE_NAME_ENTRY	48
#define E2Q_QCOW2_EXT_HEADER_SIZE	8	/* type:4, length:4 */

/*
 * e2qcow's capture report, a header extension of our own type ("e2QR"):
 * qemu skips it and keeps it when it rewrites the header.  Its data:
 *   0:4  report format version (1)
 *   4:4  encoding: 0 the text as is, 1 zlib (RFC 1950) compressed
 *   8:4  length of the text in bytes
 *   12:  the encoded text: a UTF-8 JSON object
 * It lies in the first cluster, like every header extension.
 */
#define E2Q_QCOW2_EXT_E2Q_REPORT	0x65325152U
#define E2Q_QCOW_REPORT_VERSION		1
#define E2Q_QCOW_REPORT_PLAIN		0
#define E2Q_QCOW_REPORT_ZLIB		1
#define E2Q_QCOW_REPORT_OFF_VERSION	0
#define E2Q_QCOW_REPORT_OFF_ENCODING	4
#define E2Q_QCOW_REPORT_OFF_TEXT_LEN	8
#define E2Q_QCOW_REPORT_FIXED_SIZE	12
#define E2Q_QCOW_REPORT_MAX_TEXT	(1U << 20)	/* a reader's cap */

/* L1 / L2 entries */
#define E2Q_QCOW2_OFLAG_COPIED		(1ULL << 63)
#define E2Q_QCOW2_OFLAG_COMPRESSED	(1ULL << 62)
#define E2Q_QCOW2_OFLAG_ZERO		(1ULL << 0)
#define E2Q_QCOW2_OFFSET_MASK		0x00fffffffffffe00ULL	/* bits 9..55 */
#define E2Q_QCOW2_L1_RESERVED_MASK	0x7f000000000001ffULL
#define E2Q_QCOW2_L2_RESERVED_MASK	0x3f000000000001feULL
#define E2Q_QCOW2_REFT_RESERVED_MASK	0x00000000000001ffULL

/* snapshot table entry, fixed part */
#define E2Q_QCOW2_SNAP_FIXED_SIZE	40

/* legacy qcow v1 */
#define E2Q_QCOW1_HEADER_SIZE		48
#define E2Q_QCOW1_OFF_BACKING_OFFSET	8
#define E2Q_QCOW1_OFF_BACKING_SIZE	16
#define E2Q_QCOW1_OFF_MTIME		20
#define E2Q_QCOW1_OFF_SIZE		24
#define E2Q_QCOW1_OFF_CLUSTER_BITS	32
#define E2Q_QCOW1_OFF_L2_BITS		33
#define E2Q_QCOW1_OFF_CRYPT_METHOD	36
#define E2Q_QCOW1_OFF_L1_OFFSET		40
#define E2Q_QCOW1_OFLAG_COMPRESSED	(1ULL << 63)

static inline uint16_t e2q_get_be16(const unsigned char *p)
{
	return (uint16_t) ((p[0] << 8) | p[1]);
}

static inline uint32_t e2q_get_be32(const unsigned char *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
	       ((uint32_t) p[2] << 8) | (uint32_t) p[3];
}

static inline uint64_t e2q_get_be64(const unsigned char *p)
{
	return ((uint64_t) e2q_get_be32(p) << 32) | e2q_get_be32(p + 4);
}

static inline void e2q_put_be16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char) (v >> 8);
	p[1] = (unsigned char) v;
}

static inline void e2q_put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char) (v >> 24);
	p[1] = (unsigned char) (v >> 16);
	p[2] = (unsigned char) (v >> 8);
	p[3] = (unsigned char) v;
}

static inline void e2q_put_be64(unsigned char *p, uint64_t v)
{
	e2q_put_be32(p, (uint32_t) (v >> 32));
	e2q_put_be32(p + 4, (uint32_t) v);
}

#endif /* E2Q_QCOW_FORMAT_H */
