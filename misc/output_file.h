/*
 * output_file.h --- where an image goes, and how it avoids leaving a
 * half-written file behind.
 *
 * A regular file (new or existing, written from offset 0) is written under a
 * temporary name in the same folder and renamed over IMAGE only once it is
 * complete; on failure the temporary file is removed and IMAGE is untouched.
 * "-" is standard output, a stream.  A device, or a file written at a
 * destination offset (-O), is written in place.  An output that is the
 * source itself is refused.
 *
 * Commit makes exit 0 mean "on the disk": the data is flushed (fdatasync)
 * before the rename and the folder after it, so that a crash never leaves
 * the final name on a file whose data was not written, and an I/O error
 * met while the kernel writes the image back fails the commit (exit 3, the
 * image removed).  An in-place output, and a standard output that is a
 * file or a device, are flushed the same way.  Once the mode is sandboxed
 * (sandbox.h), the rename (with the folder's flush) or the removal of the
 * temporary file is done by its committer.  These functions print their
 * own one-line errors and return an exit code (E2Q_EXIT_*), but for
 * e2q_rename_durably(), which prints nothing.
 */
#ifndef E2Q_OUTPUT_FILE_H
#define E2Q_OUTPUT_FILE_H

#include <stdint.h>

#include "misc/sandbox.h"

struct e2q_output {
	int fd;
	const char *path;	/* as the user gave it */
	char *tmp_path;		/* temporary name, renamed on commit; or NULL */
	int is_stream;		/* standard output, pipe or terminal */
	int in_place;		/* device or -O: never truncated or renamed */
	struct e2q_committer committer;	/* renames tmp_path once sandboxed */
};

int e2q_output_open(const char *path, const char *source, int want_offset,
		    struct e2q_output *out);
int e2q_output_commit(struct e2q_output *out);
/*
 * Whether the temporary file can grow to `size` bytes before a byte is
 * written: 0 when it can (or the output is written in place or a stream);
 * otherwise the largest size it takes, found with ftruncate() (a file size
 * limit of its filesystem, 16 TiB on ext4, or of the process).  The file is
 * left empty.  Prints nothing.
 */
uint64_t e2q_output_size_limit(const struct e2q_output *out, uint64_t size);
void e2q_output_abort(struct e2q_output *out);
/* Renames tmp_path over path and flushes the folder; an errno, and then
 * neither file is left. */
int e2q_rename_durably(const char *tmp_path, const char *path);

#endif /* E2Q_OUTPUT_FILE_H */
