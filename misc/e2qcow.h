/*
 * e2qcow.h --- what the e2qcow program's parts share: the parsed command
 * line, the exit codes, and one entry point per mode.
 *
 * misc/ is the only place that talks to the user.  Each mode lives in its own
 * file (mode_*.c), takes the parsed options and returns an exit code; it
 * prints its own one-line errors through com_err() with _() messages.
 */
#ifndef E2Q_E2QCOW_H
#define E2Q_E2QCOW_H

#include <stdint.h>
#include <stdio.h>
#include <et/com_err.h>

/* Exit codes: documented in --help, the README and the man page. */
#define E2Q_EXIT_OK		0	/* done */
#define E2Q_EXIT_USAGE		1	/* bad command line */
#define E2Q_EXIT_SOURCE		2	/* source missing, unreadable, not ext2, corrupt image */
#define E2Q_EXIT_OUTPUT		3	/* output could not be written (nothing left behind) */
#define E2Q_EXIT_REFUSED	4	/* refused: mounted read-write, output is the source */
#define E2Q_EXIT_DAMAGED	5	/* image written, but the filesystem is damaged */
#define E2Q_EXIT_MISMATCH	6	/* --verify found differences */
#define E2Q_EXIT_IN_USE		7	/* image open for writing in qemu (-U) */
#define E2Q_EXIT_INTERNAL	8	/* out of memory, internal error */

enum e2q_mode {
	E2Q_MODE_NORMAL = 0,	/* .e2i image (neither -r nor -Q) */
	E2Q_MODE_QCOW2,		/* -Q */
	E2Q_MODE_RAW,		/* -r */
	E2Q_MODE_INSTALL,	/* -I */
	E2Q_MODE_INFO,		/* --info */
	E2Q_MODE_CHECK,		/* --check */
	E2Q_MODE_VERIFY,	/* --verify */
};

struct e2q_options {
	enum e2q_mode mode;
	const char *source;		/* device, filesystem image or qcow image */
	const char *dest;		/* output path, "-" for stdout; may be NULL */
	int all_data;			/* -a */
	int force;			/* -f */
	int force_share;		/* -U, --force-share */
	int progress;			/* -p */
	int dry_run;			/* -n */
	int check_existing;		/* -c (with -ra) */
	int assume_yes;			/* -y */
	int scramble;			/* -s */
	int keep_xattrs;		/* --keep-xattrs */
	const char *scramble_map;	/* --scramble-map FILE */
	unsigned long long superblock;	/* -b */
	unsigned int blocksize;		/* -B */
	uint64_t src_offset;		/* -o */
	uint64_t dst_offset;		/* -O */
	int src_offset_set, dst_offset_set;
	const char *compression;	/* -z TYPE[:LEVEL] */
	int compress_type, compress_level; /* from -z: e2q_qcow_codec_type, 0 = default */
	unsigned int jobs;		/* -j */
	const char *snapshot;		/* -l */
#define E2Q_MAX_BACKING	16
	const char *backing[E2Q_MAX_BACKING];	/* --backing, parent first */
	unsigned int nbacking;
};

/* options.c */
/* Returns -1 to run, or the exit code to stop with (after --help, errors). */
int e2q_parse_options(int argc, char **argv, struct e2q_options *opts);
void e2q_usage(FILE *f);

extern const char *e2q_program_name;

/* modes, one file each */
int e2q_mode_export(const struct e2q_options *opts);		/* mode_export.c: -Q, -r from ext2 */
int e2q_mode_convert(const struct e2q_options *opts);		/* mode_convert.c: -r from qcow */
int e2q_source_is_qcow(const char *path);			/* mode_convert.c */
/* mode_convert.c: one line naming the structure and offset of a bad image,
 * or, when the reader named none, `otherwise` ("while ... %s") and path */
struct e2q_qcow_problem;
void e2q_report_image_problem(const char *path, errcode_t err,
			      const struct e2q_qcow_problem *problem,
			      const char *otherwise);
int e2q_mode_info(const struct e2q_options *opts);		/* mode_info.c: --info */
int e2q_mode_check(const struct e2q_options *opts);		/* mode_check.c: --check */
int e2q_mode_e2i(const struct e2q_options *opts);		/* mode_e2i.c: .e2i image */
int e2q_mode_install(const struct e2q_options *opts);		/* mode_install.c: -I */
int e2q_mode_move(const struct e2q_options *opts);		/* mode_move.c: -ra copy, move */
int e2q_mode_verify(const struct e2q_options *opts);		/* mode_verify.c: --verify */
/* open_source.c: opens SOURCE read-only (a qcow image through the qcow
 * io_manager; -o, -b, -B, -l), printing any error; returns an exit code */
struct struct_ext2_filsys;
int e2q_open_source_fs(const struct e2q_options *opts,
		       struct struct_ext2_filsys **fs);
/* open_source.c: refuses (exit 4, one line) a SOURCE mounted read-write
 * unless -f; 0 otherwise */
int e2q_refuse_if_mounted_rw(const struct e2q_options *opts);
/* image_lock.c: refuses (exit 7, one line) an image that a qemu process
 * has open in a way that makes reading it unsafe, as qemu-img convert
 * would; with -U warns and goes on.  fd: open on path, or -1. */
int e2q_refuse_if_image_in_use(const struct e2q_options *opts,
			       const char *path, int fd);
/* open_source.c: the e2q_meta_options problem callback; priv is SOURCE */
void e2q_report_walk_problem(void *source, errcode_t code, unsigned int ino,
			     unsigned int group);

#endif /* E2Q_E2QCOW_H */
