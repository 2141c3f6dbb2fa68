/*
 * e2qcow.h --- what the e2qcow program's parts share: the parsed command
 * line, the one action it resolves to, the exit codes, and the failure
 * helper every part reports through.
 *
 * misc/ is the only place that talks to the user.  The program runs in
 * three steps (e2qcow.c): e2q_parse_options() fills struct e2q_options,
 * e2q_resolve_action() looks at the operands once and picks the one action,
 * and the action's entry point (one per row of the table in e2qcow.c) runs
 * it and returns an exit code.  Nothing after the resolution probes the
 * operands again or dispatches elsewhere.
 *
 * Conventions: a function returning `enum e2q_exit` has printed its own
 * message when it returns anything but E2Q_EXIT_OK; a function returning
 * errcode_t has printed nothing.  e2q_fail() turns the second into the
 * first.
 */
#ifndef E2Q_E2QCOW_H
#define E2Q_E2QCOW_H

#include <stdint.h>
#include <stdio.h>
#include <et/com_err.h>

#include "qcow/qcow_compress.h"

/* Exit codes: documented in --help, the README and the man page. */
enum e2q_exit {
	E2Q_EXIT_OK = 0,	/* done */
	E2Q_EXIT_USAGE = 1,	/* bad command line */
	E2Q_EXIT_SOURCE = 2,	/* source missing, unreadable, not ext2, corrupt image */
	E2Q_EXIT_OUTPUT = 3,	/* output could not be written (nothing left behind) */
	E2Q_EXIT_REFUSED = 4,	/* refused: mounted read-write, output is the source */
	E2Q_EXIT_DAMAGED = 5,	/* image written, but the filesystem is damaged */
	E2Q_EXIT_MISMATCH = 6,	/* --verify found differences */
	E2Q_EXIT_IN_USE = 7,	/* image open for writing in qemu (-U) */
	E2Q_EXIT_INTERNAL = 8,	/* out of memory, internal error */
	/* --check alone exits as qemu-img check does: */
	E2Q_EXIT_CHECK_CLEAN = 0,
	E2Q_EXIT_CHECK_CORRUPT = 2,	/* errors found */
	E2Q_EXIT_CHECK_LEAKS = 3,	/* leaked clusters only */
	E2Q_EXIT_CHECK_CANNOT = 63,	/* the image cannot be checked */
};

/* -j without a value: the processors e2qcow may use, at most this */
#define E2Q_DEFAULT_JOBS	8

/* The mode options choose (-Q, -r, -I, --info, --check, --verify). */
enum e2q_mode {
	E2Q_MODE_NORMAL = 0,	/* .e2i image (neither -r nor -Q) */
	E2Q_MODE_QCOW2,		/* -Q */
	E2Q_MODE_RAW,		/* -r */
	E2Q_MODE_INSTALL,	/* -I */
	E2Q_MODE_INFO,		/* --info */
	E2Q_MODE_CHECK,		/* --check */
	E2Q_MODE_VERIFY,	/* --verify */
};

/* What the program does: the mode and the operands, resolved once. */
enum e2q_action {
	E2Q_DO_HELP = 0,	/* -h */
	E2Q_DO_VERSION,		/* -V */
	E2Q_DO_EXPORT_QCOW2,	/* -Q SOURCE IMAGE */
	E2Q_DO_EXPORT_RAW,	/* -r SOURCE IMAGE (and -ra SOURCE -) */
	E2Q_DO_EXPORT_E2I,	/* SOURCE IMAGE.e2i */
	E2Q_DO_CONVERT,		/* -r IMAGE.qcow2 RAW */
	E2Q_DO_COPY,		/* -ra SOURCE DEST */
	E2Q_DO_MOVE,		/* -ra -o/-O SOURCE */
	E2Q_DO_INSTALL,		/* -I DEVICE IMAGE.e2i */
	E2Q_DO_VERIFY,		/* --verify SOURCE IMAGE */
	E2Q_DO_INFO,		/* --info IMAGE */
	E2Q_DO_CHECK,		/* --check IMAGE */
	E2Q_DO_COUNT
};

struct e2q_options {
	enum e2q_mode mode;
	enum e2q_action action;		/* set by e2q_resolve_action() */
	int source_is_qcow;		/* SOURCE is a qcow2/qcow image */
	const char *source;		/* device, filesystem image or qcow image */
	const char *dest;		/* output path, "-" for stdout; may be NULL */
	int all_data;			/* -a */
	int force;			/* -f */
	int force_share;		/* -U, --force-share */
	int progress;			/* -p: 1; 2 with --output=json
					 * (JSON lines, see progress.h) */
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
	enum e2q_qcow_codec_type compress_type;	/* from -z */
	int compress_level;		/* from -z; 0: the type's default */
	unsigned int jobs;		/* -j; default: the CPUs, at most 8 */
	const char *snapshot;		/* -l */
#define E2Q_MAX_BACKING	16
	const char *backing[E2Q_MAX_BACKING];	/* --backing, parent first */
	unsigned int nbacking;
	int output_json;		/* --output=json */
	int output_set;			/* --output given */
	int no_sandbox;			/* --no-sandbox */
	int freeze;			/* --freeze */
	const char *journal_device;	/* --journal-device DEV */
};

extern const char *e2q_program_name;

/* options.c: fills *opts; E2Q_EXIT_OK to go on (opts->action is HELP or
 * VERSION for -h and -V), E2Q_EXIT_USAGE after printing the problem. */
enum e2q_exit e2q_parse_options(int argc, char **argv,
				struct e2q_options *opts);
void e2q_usage(FILE *f);

/* options.c: the one look at the operands (is SOURCE a qcow image?) and
 * the action they call for; E2Q_EXIT_USAGE for operands no action takes. */
enum e2q_exit e2q_resolve_action(struct e2q_options *opts);
int e2q_source_is_qcow(const char *path);

/*
 * fail.c: the one failure helper.  Prints "e2qcow: <err's message> <fmt>"
 * (fmt a _() message naming the file and what was being done) and returns
 * the exit code for it: `code`, or E2Q_EXIT_INTERNAL when err is an
 * out-of-memory error.
 */
enum e2q_exit e2q_fail(enum e2q_exit code, errcode_t err, const char *fmt, ...)
#ifdef __GNUC__
	__attribute__((format(printf, 3, 4)))
#endif
	;
/* One line naming the structure and offset of a bad image, or, when the
 * reader named none, `otherwise` ("while ... %s") with path. */
struct e2q_qcow_problem;
enum e2q_exit e2q_fail_image(enum e2q_exit code, const char *path,
			     errcode_t err,
			     const struct e2q_qcow_problem *problem,
			     const char *otherwise);

/* The actions, one file each (export.c runs the three exports). */
enum e2q_exit e2q_run_export(const struct e2q_options *opts);	/* export.c */
enum e2q_exit e2q_run_convert(const struct e2q_options *opts);	/* mode_convert.c */
enum e2q_exit e2q_run_copy(const struct e2q_options *opts);	/* mode_move.c: copy and move */
enum e2q_exit e2q_run_install(const struct e2q_options *opts);	/* mode_install.c */
enum e2q_exit e2q_run_verify(const struct e2q_options *opts);	/* mode_verify.c */
enum e2q_exit e2q_run_info(const struct e2q_options *opts);	/* mode_info.c */
enum e2q_exit e2q_run_check(const struct e2q_options *opts);	/* mode_check.c */
/* mode_info.c: --output=json's object for an image refused: filename,
 * error (code, message, and the structure and offset when known) */
void e2q_json_image_error(const char *path, errcode_t err,
			  const struct e2q_qcow_problem *problem);
/* mode_info.c: for --info and --check, a warning line (text) or the
 * "warnings" array (JSON) for each table larger than qemu accepts: qemu
 * refuses the image, e2qcow reads it; never an error */
struct e2q_json;
struct e2q_qcow_image;
void e2q_print_qemu_warnings(const char *path,
			     const struct e2q_qcow_image *img);
void e2q_json_qemu_warnings(struct e2q_json *j,
			    const struct e2q_qcow_image *img);
/* image_lock.c: refuses (exit 7, one line) an image that a qemu process
 * has open in a way that makes reading it unsafe, as qemu-img convert
 * would; with -U warns and goes on.  fd: open on path, or -1 (then it is
 * opened here: before any sandbox). */
enum e2q_exit e2q_refuse_if_image_in_use(const struct e2q_options *opts,
					 const char *path, int fd);
/* image_lock.c: opens SOURCE, the image --info and --check read, tests
 * qemu's locks and enters the sandbox; *fd is open when it returns 0,
 * else -1 with the failure printed (as a JSON error too with --output). */
enum e2q_exit e2q_open_image_confined(const struct e2q_options *opts,
				      int *fd);

#endif /* E2Q_E2QCOW_H */
