/*
 * qcow_info.c --- what an open image says about itself: sizes, features
 * (named from the image's feature-name table when it has one), backing
 * file, snapshots, and how much of the guest is allocated.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "qcow_reader_int.h"
#include "qcow/qcow_check.h"
#include "qcow/qcow_format.h"
#include "e2q_err.h"

static const char *const builtin_names[3][5] = {
	[E2Q_QCOW_FEATURE_INCOMPAT] = { "dirty bit", "corrupt bit",
		"external data file", "compression type",
		"extended L2 entries" },
	[E2Q_QCOW_FEATURE_COMPAT] = { "lazy refcounts" },
	[E2Q_QCOW_FEATURE_AUTOCLEAR] = { "bitmaps", "raw external data" },
};

static const char *name_from_table(e2q_qcow_image *img,
				   enum e2q_qcow_feature_kind kind,
				   unsigned int bit)
{
	unsigned char entry[E2Q_QCOW2_FEATURE_NAME_ENTRY];
	uint32_t pos;

	for (pos = 0; pos + sizeof(entry) <= img->feature_names_len;
	     pos += sizeof(entry)) {
		if (e2q_qcow_read_exact(img, entry, sizeof(entry),
					img->feature_names_off + pos))
			return NULL;
		if (entry[0] != kind || entry[1] != bit)
			continue;
		memcpy(img->feature_name, entry + 2, 46);
		img->feature_name[46] = '\0';
		return img->feature_name;
	}
	return NULL;
}

const char *e2q_qcow_feature_name(e2q_qcow_image *img,
				  enum e2q_qcow_feature_kind kind,
				  unsigned int bit)
{
	const char *name = NULL;

	if (kind > E2Q_QCOW_FEATURE_AUTOCLEAR || bit > 63)
		return NULL;
	if (bit < 5)
		name = builtin_names[kind][bit];
	if (!name && img->feature_names_len)
		name = name_from_table(img, kind, bit);
	return name;
}

errcode_t e2q_qcow_get_snapshot(const e2q_qcow_image *img, unsigned int index,
				struct e2q_qcow_snapshot_info *info)
{
	const struct e2q_qcow_snapshot *sn;

	if (index >= img->nb_snapshots || !img->snapshots)
		return E2Q_ET_RANGE;
	sn = &img->snapshots[index];
	info->id = sn->id;
	info->name = sn->name;
	info->date_sec = sn->date_sec;
	info->vm_state_size = sn->vm_state_size;
	info->disk_size = sn->disk_size;
	return 0;
}

static void count_cluster(const e2q_qcow_image *img,
			  const struct e2q_qcow_map *m, uint64_t glen,
			  struct e2q_qcow_info *info)
{
	if (m->kind == E2Q_QCOW_COMPRESSED || m->host)
		info->allocated_clusters++;
	switch (m->kind) {
	case E2Q_QCOW_NORMAL:
		info->allocated_bytes += glen;
		break;
	case E2Q_QCOW_COMPRESSED:
		info->allocated_bytes += glen;
		info->compressed_clusters++;
		break;
	case E2Q_QCOW_ZERO:
		info->zero_clusters++;
		break;
	case E2Q_QCOW_SUBCLUSTERS:
		info->allocated_bytes +=
			(uint64_t) __builtin_popcount(m->alloc_bits) <<
			img->subcluster_bits;
		break;
	default:
		break;
	}
}

static errcode_t count_allocated(e2q_qcow_image *img,
				 struct e2q_qcow_info *info,
				 struct e2q_qcow_problem *problem)
{
	uint64_t cluster = 0, per_l2 = 1ULL << img->l2_bits;
	struct e2q_qcow_map m;
	errcode_t err;

	while (cluster < img->nb_clusters) {
		uint64_t l1_index = cluster >> img->l2_bits;
		uint64_t guest = cluster << img->cluster_bits;
		uint64_t glen = img->virtual_size - guest;

		if (l1_index >= img->l1_size || img->l1[l1_index] == 0) {
			cluster = (l1_index + 1) * per_l2;
			continue;
		}
		err = e2q_qcow_map_cluster(img, cluster, &m, problem);
		if (err)
			return err;
		if (glen > img->cluster_size)
			glen = img->cluster_size;
		count_cluster(img, &m, glen, info);
		cluster++;
	}
	return 0;
}

errcode_t e2q_qcow_get_info(e2q_qcow_image *img, struct e2q_qcow_info *info,
			    struct e2q_qcow_problem *problem)
{
	memset(info, 0, sizeof(*info));
	info->version = img->version;
	info->virtual_size = img->virtual_size;
	info->file_size = img->file_size;
	info->cluster_size = img->cluster_size;
	info->compression_type = img->compression_type;
	info->refcount_bits = img->version >= 2 ? 1U << img->refcount_order
						: 0;
	info->extended_l2 = img->extended_l2;
	info->features[E2Q_QCOW_FEATURE_INCOMPAT] = img->incompat;
	info->features[E2Q_QCOW_FEATURE_COMPAT] = img->compat;
	info->features[E2Q_QCOW_FEATURE_AUTOCLEAR] = img->autoclear;
	info->backing_file = img->backing_name;
	info->backing_format = img->backing_format;
	info->nb_snapshots = img->nb_snapshots;
	return count_allocated(img, info, problem);
}

void e2q_qcow_get_qemu_limits(const e2q_qcow_image *img,
			      struct e2q_qcow_qemu_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->l1_limit = E2Q_QCOW2_MAX_L1_BYTES;
	lim->reftable_limit = E2Q_QCOW2_MAX_REFTABLE_BYTES;
	if (img->version < 2)
		return;		/* qcow v1: its own reader, its own cap */
	lim->l1_bytes = (uint64_t) img->active_l1_size * 8;
	lim->reftable_bytes = (uint64_t) img->reftable_clusters *
			      img->cluster_size;
	lim->l1_too_large = lim->l1_bytes > lim->l1_limit;
	lim->reftable_too_large = lim->reftable_bytes > lim->reftable_limit;
}

/* ---- the capture report ------------------------------------------------ */

static errcode_t decode_report(const unsigned char *data, uint32_t data_len,
			       char **text, size_t *len)
{
	uint32_t version = e2q_get_be32(data + E2Q_QCOW_REPORT_OFF_VERSION);
	uint32_t encoding = e2q_get_be32(data + E2Q_QCOW_REPORT_OFF_ENCODING);
	uint32_t want = e2q_get_be32(data + E2Q_QCOW_REPORT_OFF_TEXT_LEN);
	const unsigned char *payload = data + E2Q_QCOW_REPORT_FIXED_SIZE;
	uint32_t payload_len = data_len - E2Q_QCOW_REPORT_FIXED_SIZE;
	uLongf got = want;
	char *out;

	if (version != E2Q_QCOW_REPORT_VERSION ||
	    want > E2Q_QCOW_REPORT_MAX_TEXT ||
	    (encoding == E2Q_QCOW_REPORT_PLAIN && want != payload_len) ||
	    (encoding != E2Q_QCOW_REPORT_PLAIN &&
	     encoding != E2Q_QCOW_REPORT_ZLIB))
		return E2Q_ET_QCOW_BAD_REPORT;
	out = malloc((size_t) want + 1);
	if (!out)
		return ENOMEM;
	if (encoding == E2Q_QCOW_REPORT_PLAIN)
		memcpy(out, payload, want);
	else if (uncompress((Bytef *) out, &got, payload, payload_len) != Z_OK ||
		 got != want) {
		free(out);	/* a short, long or broken stream */
		return E2Q_ET_QCOW_BAD_REPORT;
	}
	out[want] = '\0';
	*text = out;
	*len = want;
	return 0;
}

errcode_t e2q_qcow_get_report(const e2q_qcow_image *img, char **text,
			      size_t *len)
{
	unsigned char *data;
	errcode_t err;

	*text = NULL;
	*len = 0;
	if (!img->report_len)
		return 0;
	if (img->report_len < E2Q_QCOW_REPORT_FIXED_SIZE)
		return E2Q_ET_QCOW_BAD_REPORT;
	/* parse_extensions() kept it inside the first cluster */
	data = malloc(img->report_len);
	if (!data)
		return ENOMEM;
	err = e2q_qcow_read_exact(img, data, img->report_len, img->report_off);
	if (!err)
		err = decode_report(data, img->report_len, text, len);
	free(data);
	return err;
}
