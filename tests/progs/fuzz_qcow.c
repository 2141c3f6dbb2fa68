/*
 * fuzz_qcow.c --- fuzz targets for the qcow reader, and a driver that
 * replays a corpus without libFuzzer.
 *
 * The input is an image file.  Default target: e2q_qcow_open() (the header
 * parser and every table check), e2q_qcow_get_info() (every L2 table of the
 * active state), e2q_qcow_check(), e2q_qcow_pread() of the first MiB and
 * e2q_qcow_convert_to_raw() into a sparse in-memory file.  With
 * -DFUZZ_IO_MANAGER: ext2fs_open2() through e2q_qcow_io_manager and a walk
 * of the inode table.
 *
 *   clang -fsanitize=fuzzer,address ... -DWITH_LIBFUZZER   libFuzzer build
 *   cc ... fuzz_qcow.c; ./fuzz_qcow FILE...                  replay
 *
 * Any return is fine; crashes, sanitizer reports and hangs are the bugs.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qcow/qcow_check.h"
#include "qcow/qcow_reader.h"
#include "support/raw_output.h"
#ifdef FUZZ_IO_MANAGER
#include <ext2fs/ext2fs.h>
#include "qcowio/qcow_io.h"
#endif

#define MAX_CONVERTED	(256ULL << 20)	/* bigger virtual disks: skip */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs that opened: the replay's proof that the targets went past open. */
static int opened;

static int memfd_with(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_qcow", 0);

	if (fd < 0)
		return -1;
	if (write(fd, data, size) != (ssize_t) size) {
		close(fd);
		return -1;
	}
	return fd;
}

#ifndef FUZZ_IO_MANAGER
static void convert(e2q_qcow_image *img)
{
	struct e2q_qcow_problem problem;
	e2q_raw_output *out = NULL;
	unsigned int bs = e2q_qcow_cluster_size(img);
	int fd;

	if (e2q_qcow_virtual_size(img) > MAX_CONVERTED)
		return;
	fd = memfd_create("fuzz_raw", 0);
	if (fd < 0)
		return;
	if (!e2q_raw_output_new(fd, 0, e2q_qcow_virtual_size(img),
				bs > (1U << 20) ? 1U << 20 : bs, 0, &out) &&
	    !e2q_qcow_convert_to_raw(img, out, &problem))
		e2q_raw_output_finish(out);
	e2q_raw_output_free(out);
	close(fd);
}

static void exercise(int fd)
{
	struct e2q_qcow_open_params params = { NULL, E2Q_QCOW_OPEN_IGNORE_BACKING };
	struct e2q_qcow_problem problem;
	struct e2q_qcow_check_report report;
	struct e2q_qcow_info info;
	e2q_qcow_image *img;
	static unsigned char buf[1 << 20];
	uint64_t n;

	if (e2q_qcow_open(fd, &params, &img, &problem))
		return;
	opened++;
	e2q_qcow_get_info(img, &info, &problem);
	e2q_qcow_check(img, &report, &problem);
	n = e2q_qcow_virtual_size(img);
	e2q_qcow_pread(img, buf, n < sizeof(buf) ? n : sizeof(buf), 0,
		       &problem);
	e2q_qcow_close(img);
	params.flags = 0;
	if (e2q_qcow_open(fd, &params, &img, &problem))
		return;
	convert(img);
	e2q_qcow_close(img);
}
#else
static void exercise(int fd)
{
	char name[64];
	ext2_filsys fs;
	ext2_inode_scan scan;
	struct ext2_inode inode;
	ext2_ino_t ino;

	snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
	if (ext2fs_open2(name, NULL, EXT2_FLAG_64BITS, 0, 0,
			 e2q_qcow_io_manager, &fs))
		return;
	opened++;
	if (!ext2fs_open_inode_scan(fs, 0, &scan)) {
		while (!ext2fs_get_next_inode(scan, &ino, &inode) && ino)
			;
		ext2fs_close_inode_scan(scan);
	}
	ext2fs_read_bitmaps(fs);
	ext2fs_close_free(&fs);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_with(data, size);

	if (fd >= 0) {
		exercise(fd);
		close(fd);
	}
	return 0;
}

#ifndef WITH_LIBFUZZER
static int replay(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long size;

	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET)) {
		perror(path);
		if (f)
			fclose(f);
		return 1;
	}
	data = malloc(size ? (size_t) size : 1);
	if (!data || fread(data, 1, (size_t) size, f) != (size_t) size) {
		perror(path);
		free(data);
		fclose(f);
		return 1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t) size);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	int i, failed = 0;

	for (i = 1; i < argc; i++)
		failed |= replay(argv[i]);
	printf("%d inputs replayed, %d opened\n", argc - 1, opened);
	return failed;
}
#endif
