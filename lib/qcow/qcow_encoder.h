/*
 * qcow_encoder.h --- turns ascending runs of blocks into qcow2 clusters,
 * compressed on worker threads, delivered in order.
 *
 * Knows nothing of ext2 and does no output itself.  The caller adds runs of
 * blocks (1 << block_bits bytes each, block_bits <= cluster_bits) in
 * ascending order; blocks of one cluster are gathered into it and the bytes
 * of blocks never added read as zero.  Each cluster becomes a piece (see
 * qcow_writer.h): not stored when all zero, compressed when that makes it
 * shrink, plain otherwise.  Pieces are handed to `fn` in ascending cluster
 * order, in runs of consecutive clusters, always on the caller's thread
 * (inside add() or finish()); the piece bytes are valid during the call only.
 *
 * With threads > 0, that many workers compress batches of about 1 MiB while
 * the caller reads and writes: at most threads + 4 batches are in flight,
 * each 2 MiB (input and output), so memory is about 2 MiB per thread plus
 * 8 MiB (threads are capped at 32).
 * With threads == 0, or a type of E2Q_QCOW_CODEC_NONE, everything happens
 * on the caller's thread.  The pieces never depend on the thread count.
 *
 * Errors: the first error of fn, of compression (ENOMEM) or of thread
 * creation is returned by add() or finish(); after one, only free() is
 * allowed.  E2Q_ET_QCOW_WRITER_ORDER when blocks go backwards.
 */
#ifndef E2Q_QCOW_ENCODER_H
#define E2Q_QCOW_ENCODER_H

#include <stdint.h>
#include <et/com_err.h>

#include "qcow/qcow_compress.h"
#include "qcow/qcow_writer.h"

typedef struct e2q_qcow_encoder e2q_qcow_encoder;

struct e2q_qcow_encoder_params {
	unsigned int cluster_bits;
	unsigned int block_bits;	/* unit of add(); <= cluster_bits */
	enum e2q_qcow_codec_type type;
	int level;			/* 0: the type's default */
	unsigned int threads;		/* 0: no worker threads */
};

typedef errcode_t (*e2q_qcow_pieces_fn)(uint64_t first, uint64_t count,
					const struct e2q_qcow_piece *pieces,
					void *priv);

errcode_t e2q_qcow_encoder_new(const struct e2q_qcow_encoder_params *params,
			       e2q_qcow_pieces_fn fn, void *priv,
			       e2q_qcow_encoder **ret);
errcode_t e2q_qcow_encoder_add(e2q_qcow_encoder *enc, uint64_t first_block,
			       uint64_t count, const void *data);
/* Delivers every cluster still in flight; the encoder can then be freed. */
errcode_t e2q_qcow_encoder_finish(e2q_qcow_encoder *enc);
void e2q_qcow_encoder_free(e2q_qcow_encoder *enc);

#endif /* E2Q_QCOW_ENCODER_H */
