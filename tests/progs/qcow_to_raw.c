/*
 * qcow_to_raw.c --- test driver for the qcow reader's random access.
 *
 *   qcow_to_raw [-l SNAPSHOT] IMAGE RAW
 *
 * Reads the whole guest disk of IMAGE (or of its internal snapshot) through
 * e2q_qcow_pread() in chunks of an odd size, so that reads start and end
 * inside clusters, subclusters and compressed clusters, and writes it to the
 * sparse raw file RAW.  `e2qcow -r` converts through
 * e2q_qcow_convert_to_raw() instead, which batches whole clusters: this
 * driver is how r_qcow_formats checks the random-access path byte for byte.
 * The buffer is filled with a pattern before each read, so that bytes the
 * reader fails to write (a hole or zero area it skips) differ.
 * On failure prints one line "IMAGE: STRUCTURE at offset N: MESSAGE",
 * removes RAW and exits 2.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow/qcow_reader.h"
#include "support/raw_output.h"
#include "e2q_err.h"

#define CHUNK 77777	/* odd: reads start and end inside clusters */
#define POISON 0xa5	/* fills the buffer: bytes pread leaves unwritten show */
#define MAX_HOLE_BLOCK (1U << 20)	/* raw_output's limit */

static unsigned int block_size(const e2q_qcow_image *img)
{
	unsigned int cs = e2q_qcow_cluster_size(img);

	return cs > MAX_HOLE_BLOCK ? MAX_HOLE_BLOCK : cs;
}

static errcode_t copy_by_pread(e2q_qcow_image *img, e2q_raw_output *out,
			       struct e2q_qcow_problem *problem)
{
	uint64_t size = e2q_qcow_virtual_size(img), off = 0;
	unsigned char *buf = malloc(CHUNK);
	errcode_t err = 0;

	if (!buf)
		return ENOMEM;
	while (!err && off < size) {
		size_t n = size - off < CHUNK ? (size_t) (size - off) : CHUNK;

		memset(buf, POISON, n);
		err = e2q_qcow_pread(img, buf, n, off, problem);
		if (!err)
			err = e2q_raw_output_write(out, off, buf, n);
		off += n;
	}
	free(buf);
	return err;
}

int main(int argc, char **argv)
{
	struct e2q_qcow_open_params params = { NULL, 0 };
	struct e2q_qcow_problem problem = { NULL, 0 };
	e2q_qcow_image *img = NULL;
	e2q_raw_output *out = NULL;
	int opt, fd, ofd = -1;
	errcode_t err;

	while ((opt = getopt(argc, argv, "l:")) != -1) {
		if (opt == 'l')
			params.snapshot = optarg;
		else
			return 1;
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: qcow_to_raw [-l SNAP] IMAGE RAW\n");
		return 1;
	}
	add_error_table(&et_e2q_error_table);
	fd = open(argv[optind], O_RDONLY);
	if (fd < 0) {
		perror(argv[optind]);
		return 2;
	}
	err = e2q_qcow_open(fd, &params, &img, &problem);
	if (!err) {
		ofd = open(argv[optind + 1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (ofd < 0)
			err = errno;
	}
	if (!err)
		err = e2q_raw_output_new(ofd, 0, e2q_qcow_virtual_size(img),
					 block_size(img), 0, &out);
	if (!err)
		err = copy_by_pread(img, out, &problem);
	if (!err)
		err = e2q_raw_output_finish(out);
	e2q_raw_output_free(out);
	e2q_qcow_close(img);
	close(fd);
	if (ofd >= 0 && close(ofd) < 0 && !err)
		err = errno;
	if (err) {
		fprintf(stderr, "%s: %s at offset %llu: %s\n", argv[optind],
			problem.structure ? problem.structure : "image",
			(unsigned long long) problem.offset,
			error_message(err));
		if (ofd >= 0)
			unlink(argv[optind + 1]);
		return 2;
	}
	return 0;
}
