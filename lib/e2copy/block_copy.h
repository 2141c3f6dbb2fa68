/*
 * block_copy.h --- copies the marked blocks of a filesystem from one place
 * to another: to another file or device, or to another offset of the same
 * one (a move), in large batches.
 *
 * The map (an ext2fs block bitmap) says which blocks to copy; block b is
 * read at src_offset + b * block_size and written at dst_offset + b *
 * block_size.  Blocks are handled in windows of at most batch_bytes: within
 * a window every marked run is read before any is written.  When source and
 * destination are the same file and dst_offset > src_offset the windows go
 * from the end down, otherwise from the start up, so no block is ever
 * overwritten before it has been read.
 *
 * Unmarked gaps shorter than merge_gap blocks between marked runs are read
 * with them, and, unless E2Q_COPY_CHECK or E2Q_COPY_HOLES is set, written
 * with them too (fewer system calls; a gap holds free blocks, whose
 * contents do not matter).  With E2Q_COPY_CHECK the destination is read
 * first (through dst_read_fd) and only blocks that differ are written.
 * With E2Q_COPY_HOLES an all-zero block is not written when it lies past
 * the destination's original end (dst_size), where a regular file already
 * reads as zeros; the caller extends the file afterwards.  With
 * E2Q_COPY_DRY_RUN nothing is written (blocks are still read when
 * E2Q_COPY_CHECK asks to compare).
 *
 * After each window, checkpoint (when set) sees the progress; a non-zero
 * return stops the copy at that clean boundary with E2Q_ET_INTERRUPTED, and
 * the stats say which blocks remain.  Descriptors belong to the caller.
 * Nothing is printed.  Errors: errno values, E2Q_ET_SHORT_WRITE,
 * EXT2_ET_SHORT_READ, E2Q_ET_INTERRUPTED.
 */
#ifndef E2Q_BLOCK_COPY_H
#define E2Q_BLOCK_COPY_H

#include <stdint.h>
#include <ext2fs/ext2fs.h>

#define E2Q_COPY_SAME_FILE	0x1	/* src_fd and dst_fd are one file */
#define E2Q_COPY_CHECK		0x2	/* skip blocks that already match */
#define E2Q_COPY_HOLES		0x4	/* zero blocks past dst_size: holes */
#define E2Q_COPY_DRY_RUN	0x8	/* write nothing */

struct e2q_copy_stats {
	blk64_t marked;		/* blocks to copy (set in the map) */
	blk64_t done;		/* marked blocks handled so far */
	blk64_t written;	/* blocks written, gaps included */
	blk64_t matched;	/* blocks left alone: already equal */
	blk64_t holes;		/* zero blocks left as holes */
	int backwards;		/* windows go from the end down */
	int source_touched;	/* a write landed inside the source's bytes */
	/* blocks [remain_first, remain_end) are still to be copied */
	blk64_t remain_first, remain_end;
};

typedef int (*e2q_copy_checkpoint_fn)(const struct e2q_copy_stats *st,
				      void *priv);

struct e2q_copy_params {
	int src_fd, dst_fd;
	int dst_read_fd;		/* to compare with (E2Q_COPY_CHECK) */
	uint64_t src_offset, dst_offset;
	uint64_t dst_size;		/* destination's size before the copy */
	unsigned int block_size;
	blk64_t blocks;			/* filesystem size in blocks */
	blk64_t lead_blocks;		/* s_first_data_block: the blocks
					   before it (the boot block of a
					   1 KiB-block fs) are outside the
					   map and always copied */
	int flags;			/* E2Q_COPY_* */
	size_t batch_bytes;		/* window size; 0 for 4 MiB */
	blk64_t merge_gap;		/* 0 for 16 blocks */
	e2q_copy_checkpoint_fn checkpoint;
	void *priv;
};

/* Counts the marked blocks and says which way the copy will go. */
void e2q_copy_plan(const struct e2q_copy_params *p, ext2fs_block_bitmap map,
		   struct e2q_copy_stats *st);

errcode_t e2q_copy_blocks(const struct e2q_copy_params *p,
			  ext2fs_block_bitmap map, struct e2q_copy_stats *st);

/*
 * Marks, besides what a metadata walk marks, every block the filesystem's
 * allocation bitmap holds (blocks of orphan inodes, whose links are gone)
 * and every backup superblock and group descriptor block with the reserved
 * GDT blocks behind it.  A copy written over old contents must carry them,
 * or the copy would hold whatever was there before in their place.
 */
errcode_t e2q_copy_mark_allocated(ext2_filsys fs, ext2fs_block_bitmap map);

#endif /* E2Q_BLOCK_COPY_H */
