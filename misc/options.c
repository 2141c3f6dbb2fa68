/*
 * options.c --- the e2qcow command line, parsed into struct e2q_options and
 * resolved into the one action it asks for.
 *
 * e2image's habits: single-letter options, SOURCE then DEST; conflicts are
 * checked in one place, after parsing, so each message names the pair.
 * Then one look at the operands (is SOURCE a qcow image, is DEST standard
 * output) picks the action; operands that no action takes are refused
 * there, before anything is opened for writing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nls-enable.h"
#include "qcow/qcow_compress.h"
#include "qcow/qcow_reader.h"
#include "misc/e2qcow.h"

#define SHORT_OPTS "QrIafpncyshUVb:B:o:O:z:j:l:"


enum {
	OPT_INFO = 256, OPT_CHECK, OPT_VERIFY, OPT_KEEP_XATTRS, OPT_SCRAMBLE_MAP,
	OPT_BACKING, OPT_OUTPUT, OPT_NO_SANDBOX, OPT_FREEZE, OPT_JOURNAL_DEVICE
};

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "info", no_argument, NULL, OPT_INFO },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "keep-xattrs", no_argument, NULL, OPT_KEEP_XATTRS },
	{ "scramble-map", required_argument, NULL, OPT_SCRAMBLE_MAP },
	{ "backing", required_argument, NULL, OPT_BACKING },
	{ "output", required_argument, NULL, OPT_OUTPUT },
	{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
	{ "freeze", no_argument, NULL, OPT_FREEZE },
	{ "journal-device", required_argument, NULL, OPT_JOURNAL_DEVICE },
	{ "force-share", no_argument, NULL, 'U' },
	{ NULL, 0, NULL, 0 }
};

void e2q_usage(FILE *f)
{
	fprintf(f, _("Usage: %s -Q|-r [-afnps] [--freeze] [-z TYPE[:LEVEL]] [-j THREADS] "
		     "[-l SNAPSHOT]\n             [-b SUPERBLOCK [-B BLOCKSIZE]] "
		     "[-o SRC_OFFSET] [-O DST_OFFSET] SOURCE IMAGE\n"
		     "       %s -r IMAGE.qcow2 RAW\n"
		     "       %s [-fn] SOURCE IMAGE.e2i\n"
		     "       %s -I [-fny] DEVICE IMAGE.e2i\n"
		     "       %s -ra [-cfnp] [-o SRC_OFFSET] [-O DST_OFFSET] "
		     "SOURCE [DEST]\n"
		     "       %s --verify [-b SUPERBLOCK [-B BLOCKSIZE]] "
		     "[-o SRC_OFFSET] SOURCE IMAGE\n"
		     "       %s --info|--check [--output=json] IMAGE\n"), e2q_program_name,
		e2q_program_name, e2q_program_name, e2q_program_name,
		e2q_program_name, e2q_program_name, e2q_program_name);
	fputs(_("\nCopies the metadata of an ext2/ext3/ext4 filesystem into a "
		"qcow2 image (-Q)\nor a sparse raw image (-r), and converts "
		"qcow2/qcow images back to raw.\n\n"
		"  -Q              write a qcow2 image\n"
		"  -r              write a raw sparse image (IMAGE - is stdout); "
		"with a qcow\n"
		"                  or qcow2 SOURCE, convert it to raw\n"
		"  (neither)       write e2image's .e2i image (for dumpe2fs -i, "
		"debugfs -i)\n"
		"  -I              install the metadata of IMAGE.e2i onto "
		"DEVICE\n"
		"  -a              include file data, not only metadata\n"
		"  -ra             copy the whole filesystem to DEST; with one "
		"file and -o/-O,\n"
		"                  move it inside SOURCE\n"
		"  -c              with -ra, write only the blocks that differ\n"
		"  -y              with -I, do not ask for confirmation\n"
		"  -f              allow a filesystem mounted read-write; with "
		"-I, a device\n"
		"                  that holds another filesystem\n"
		"  --freeze        freeze the mounted filesystem of SOURCE "
		"(FIFREEZE) for the\n"
		"                  capture, so that it is consistent; thawed "
		"on every exit\n"
		"  --journal-device DEV  with -Q or -r, capture the external "
		"journal DEV\n"
		"                  into IMAGE.journal.qcow2 (or .raw) beside "
		"IMAGE (found by\n"
		"                  its UUID in /dev/disk/by-uuid when not "
		"given)\n"
		"  -n              dry run: walk the filesystem, write nothing\n"
		"  -p              show progress on stderr, and a summary\n"
		"  --output=FORMAT human (default) or json: --info and --check "
		"print one JSON\n"
		"                  object; -p prints one JSON object per line "
		"on stderr\n"
		"  -s              scramble (-Q, -r): directory entry names, "
		"symlink targets\n"
		"                  and xattr values are replaced, the image "
		"stays a valid\n"
		"                  filesystem; non-zero journal blocks are "
		"zeroed\n"
		"  --keep-xattrs   with -s, keep extended attribute values\n"
		"  --scramble-map FILE  with -s, write the original and new "
		"names (mode 600)\n"
		"  --info          describe a qcow2 or qcow IMAGE: version, sizes, "
		"features,\n"
		"                  backing file (never opened), snapshots\n"
		"  --check         check a qcow2 or qcow IMAGE as strictly as "
		"qemu-img check;\n"
		"                  exit 0 clean, 2 corrupt, 3 leaks only, 63 "
		"cannot check\n"
		"  -l SNAPSHOT     read this internal snapshot (id or name) of "
		"a qcow2 SOURCE\n"
		"  --backing FILE  with -r IMAGE RAW, read IMAGE's backing file "
		"from FILE\n"
		"                  (qcow2, qcow or raw); repeat for each level "
		"of the chain;\n"
		"                  the names recorded in images are never "
		"opened\n"
		"  --verify        compare the metadata blocks of IMAGE (qcow2, "
		"qcow, raw)\n"
		"                  with SOURCE and list each that differs\n"
		"  -z [zlib|zstd][:LEVEL]  compress the qcow2 image (-Q): zlib "
		"makes a\n"
		"                  version 2 image any qemu reads, zstd a "
		"version 3 one\n"
		"  -j THREADS      compress on this many threads (default: "
		"the CPUs, at most 8;\n"
		"                  above 32 counts as 32)\n"
		"  --no-sandbox    parse images unconfined (for debugging): "
		"by default -r IMAGE,\n"
		"                  --info, --check, --verify and a qcow SOURCE "
		"run under\n"
		"                  seccomp and Landlock, unable to open files "
		"or run programs\n"
		"  -b SUPERBLOCK   open the filesystem from this backup "
		"superblock\n"
		"  -B BLOCKSIZE    block size to use with -b\n"
		"  -o SRC_OFFSET   byte offset of the filesystem in SOURCE\n"
		"  -O DST_OFFSET   byte offset of the image in IMAGE (-r only)\n"
		"  -h, --help      show this help\n"
		"  -U, --force-share  read an image that a running qemu has "
		"open for writing\n"
		"                  (refused otherwise, as qemu-img does, exit "
		"7); the result\n"
		"                  may be inconsistent\n"
		"  -V, --version   show the version\n\n"
		"Exit status: 0 done, 1 usage error, 2 source missing, "
		"unreadable or corrupt,\n3 output not written, 4 refused "
		"(mounted read-write, output is the source),\n5 image written "
		"but filesystem damaged, 6 --verify found differences,\n7 image "
		"in use by a running qemu (see -U), 8 internal error.\n"
		"Exit 0 means the output is on the disk (flushed).\n"), f);
}

/* The options below print their own message and return E2Q_EXIT_USAGE. */
static enum e2q_exit parse_number(const char *arg, const char *what,
				  unsigned long long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(arg, &end, 0);
	if (errno || end == arg || *end || arg[0] == '-')
		return e2q_fail(E2Q_EXIT_USAGE, 0, _("invalid %s: %s"), what, arg);
	return E2Q_EXIT_OK;
}

static enum e2q_exit set_mode(struct e2q_options *o, enum e2q_mode mode)
{
	if (o->mode != E2Q_MODE_NORMAL && o->mode != mode)
		return e2q_fail(E2Q_EXIT_USAGE, 0, "%s",
				_("only one of -Q, -r, -I, --info, --check and "
				  "--verify may be given"));
	o->mode = mode;
	return E2Q_EXIT_OK;
}

/*
 * -z [zlib|zstd][:LEVEL], or -z LEVEL: the type defaults to zstd when this
 * build has it, else zlib; the level to the type's default.
 */
static enum e2q_exit parse_compression(struct e2q_options *o, const char *arg)
{
	const char *colon = strchr(arg, ':');
	size_t name_len = colon ? (size_t) (colon - arg) : strlen(arg);
	const char *level = colon ? colon + 1 : NULL;
	unsigned long long n = 0;

	if (!colon && arg[0] >= '0' && arg[0] <= '9') {
		name_len = 0;
		level = arg;
	}
	o->compress_type = e2q_qcow_codec_available(E2Q_QCOW_CODEC_ZSTD) ?
			   E2Q_QCOW_CODEC_ZSTD : E2Q_QCOW_CODEC_ZLIB;
	if (name_len == 4 && strncmp(arg, "zlib", 4) == 0)
		o->compress_type = E2Q_QCOW_CODEC_ZLIB;
	else if (name_len == 4 && strncmp(arg, "zstd", 4) == 0)
		o->compress_type = E2Q_QCOW_CODEC_ZSTD;
	else if (name_len)
		return e2q_fail(E2Q_EXIT_USAGE, 0, _("unknown compression type "
				"\"%.*s\": use zlib or zstd"), (int) name_len, arg);
	if (!e2q_qcow_codec_available(o->compress_type))
		return e2q_fail(E2Q_EXIT_USAGE, 0, "%s", _("this e2qcow was "
				"built without zstd; use -z zlib"));
	if (level && parse_number(level, _("compression level"), &n))
		return E2Q_EXIT_USAGE;
	if (level && (n == 0 || n > 99 ||
		      e2q_qcow_codec_check_level(o->compress_type, (int) n)))
		return e2q_fail(E2Q_EXIT_USAGE, 0, _("compression level %s is "
				"out of range for %s"), level, o->compress_type ==
				E2Q_QCOW_CODEC_ZLIB ? "zlib (1-9)" : "zstd (1-22)");
	o->compress_level = (int) n;
	return E2Q_EXIT_OK;
}

/* Options that choose a mode; returns 0 when c is not one of them. */
static int mode_of_option(int c, enum e2q_mode *mode)
{
	switch (c) {
	case 'Q': *mode = E2Q_MODE_QCOW2; return 1;
	case 'r': *mode = E2Q_MODE_RAW; return 1;
	case 'I': *mode = E2Q_MODE_INSTALL; return 1;
	case OPT_INFO: *mode = E2Q_MODE_INFO; return 1;
	case OPT_CHECK: *mode = E2Q_MODE_CHECK; return 1;
	case OPT_VERIFY: *mode = E2Q_MODE_VERIFY; return 1;
	default: return 0;
	}
}

static enum e2q_exit add_backing(struct e2q_options *o, const char *arg)
{
	if (o->nbacking == E2Q_MAX_BACKING)
		return e2q_fail(E2Q_EXIT_USAGE, 0, _("at most %d --backing "
				"files"), E2Q_MAX_BACKING);
	o->backing[o->nbacking++] = arg;
	return E2Q_EXIT_OK;
}

static enum e2q_exit set_jobs(struct e2q_options *o, const char *arg)
{
	unsigned long long n;

	if (parse_number(arg, _("number of threads"), &n))
		return E2Q_EXIT_USAGE;
	if (n == 0 || n > 1024)
		return e2q_fail(E2Q_EXIT_USAGE, 0, _("invalid number of "
				"threads: %s (1 to 1024)"), arg);
	o->jobs = (unsigned int) n;
	return E2Q_EXIT_OK;
}

/* --output=human|json */
static enum e2q_exit set_output(struct e2q_options *o, const char *arg)
{
	if (strcmp(arg, "json") && strcmp(arg, "human"))
		return e2q_fail(E2Q_EXIT_USAGE, 0, _("unknown output format "
				"\"%s\": use human or json"), arg);
	o->output_json = strcmp(arg, "json") == 0;
	o->output_set = 1;
	return E2Q_EXIT_OK;
}

/* -b, -B, -o and -O: numbers. */
static enum e2q_exit set_number_option(struct e2q_options *o, int c,
				       const char *arg)
{
	unsigned long long n;

	switch (c) {
	case 'b':
		if (parse_number(arg, _("superblock"), &n))
			return E2Q_EXIT_USAGE;
		o->superblock = n;
		return E2Q_EXIT_OK;
	case 'B':
		if (parse_number(arg, _("block size"), &n) || n > 65536)
			return E2Q_EXIT_USAGE;
		o->blocksize = (unsigned int) n;
		return E2Q_EXIT_OK;
	default:	/* 'o', 'O' */
		if (parse_number(arg, _("offset"), &n))
			return E2Q_EXIT_USAGE;
		*(c == 'o' ? &o->src_offset : &o->dst_offset) = n;
		*(c == 'o' ? &o->src_offset_set : &o->dst_offset_set) = 1;
		return E2Q_EXIT_OK;
	}
}

/* One option; -h and -V set the action, which ends the parsing. */
static enum e2q_exit apply_option(struct e2q_options *o, int c,
				  const char *arg)
{
	enum e2q_mode mode;

	if (mode_of_option(c, &mode))
		return set_mode(o, mode);
	switch (c) {
	case 'a': o->all_data = 1; return E2Q_EXIT_OK;
	case 'c': o->check_existing = 1; return E2Q_EXIT_OK;
	case 'y': o->assume_yes = 1; return E2Q_EXIT_OK;
	case 's': o->scramble = 1; return E2Q_EXIT_OK;
	case 'f': o->force = 1; return E2Q_EXIT_OK;
	case 'n': o->dry_run = 1; return E2Q_EXIT_OK;
	case 'p': o->progress = 1; return E2Q_EXIT_OK;
	case 'l': o->snapshot = arg; return E2Q_EXIT_OK;
	case 'z':
		o->compression = arg;
		return parse_compression(o, arg);
	case 'j': return set_jobs(o, arg);
	case OPT_KEEP_XATTRS: o->keep_xattrs = 1; return E2Q_EXIT_OK;
	case OPT_SCRAMBLE_MAP: o->scramble_map = arg; return E2Q_EXIT_OK;
	case OPT_OUTPUT: return set_output(o, arg);
	case OPT_NO_SANDBOX: o->no_sandbox = 1; return E2Q_EXIT_OK;
	case OPT_FREEZE: o->freeze = 1; return E2Q_EXIT_OK;
	case OPT_JOURNAL_DEVICE: o->journal_device = arg; return E2Q_EXIT_OK;
	case OPT_BACKING: return add_backing(o, arg);
	case 'U': o->force_share = 1; return E2Q_EXIT_OK;
	case 'h': o->action = E2Q_DO_HELP; return E2Q_EXIT_OK;
	case 'V': o->action = E2Q_DO_VERSION; return E2Q_EXIT_OK;
	case 'b': case 'B': case 'o': case 'O':
		return set_number_option(o, c, arg);
	default:
		e2q_usage(stderr);
		return E2Q_EXIT_USAGE;
	}
}

/* How many file names each mode takes: at least, at most. */
static void operand_counts(const struct e2q_options *o, int *least, int *most)
{
	*least = *most = 2;
	if (o->mode == E2Q_MODE_INFO || o->mode == E2Q_MODE_CHECK)
		*least = *most = 1;
	/* -ra with offsets and one file moves a filesystem inside it */
	if (o->mode == E2Q_MODE_RAW && o->all_data &&
	    (o->src_offset_set || o->dst_offset_set))
		*least = 1;
}

static const char *check_conflicts(const struct e2q_options *o)
{
	if ((o->scramble_map || o->keep_xattrs) && !o->scramble)
		return _("--scramble-map and --keep-xattrs need -s");
	if (o->scramble && o->mode != E2Q_MODE_QCOW2 && o->mode != E2Q_MODE_RAW)
		return _("-s works with -Q and -r only");
	if (o->scramble && o->mode == E2Q_MODE_RAW && o->all_data)
		return _("-s cannot be used with -ra");
	if (o->all_data && o->mode == E2Q_MODE_NORMAL)
		return _("-a is only allowed with -r or -Q");
	if (o->dst_offset_set && o->mode != E2Q_MODE_RAW)
		return _("-O is only allowed with -r");
	if (o->blocksize && !o->superblock)
		return _("-B needs -b");
	if (o->check_existing && (o->mode != E2Q_MODE_RAW || !o->all_data))
		return _("-c is only allowed with -ra");
	if (o->nbacking && o->mode != E2Q_MODE_RAW)
		return _("--backing is only allowed with -r IMAGE RAW");
	if (o->compression && o->mode != E2Q_MODE_QCOW2)
		return _("-z is only allowed with -Q");
	if (o->freeze && o->mode != E2Q_MODE_QCOW2 && o->mode != E2Q_MODE_RAW &&
	    o->mode != E2Q_MODE_NORMAL)
		return _("--freeze is only allowed with -Q, -r or an .e2i "
			 "image");
	if (o->journal_device && o->mode != E2Q_MODE_QCOW2 &&
	    o->mode != E2Q_MODE_RAW)
		return _("--journal-device is only allowed with -Q or -r");
	if (o->journal_device && o->scramble)
		return _("-s cannot scramble a journal device");
	if (o->output_set && o->mode != E2Q_MODE_INFO &&
	    o->mode != E2Q_MODE_CHECK && !o->progress)
		return _("--output is only allowed with --info, --check or -p");
	return NULL;
}

/*
 * The default of -j: the processors this process may run on, at most
 * E2Q_DEFAULT_JOBS.  Beyond eight, compression outruns what one thread can
 * read and write, and each worker only adds its 2 MiB of batches; a tool of
 * the same kind hung on machines with more than 32 processors.
 */
static unsigned int default_jobs(void)
{
	cpu_set_t set;
	long cpus = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		cpus = CPU_COUNT(&set);
	if (cpus <= 0)
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus <= 0)
		return 1;
	return cpus < E2Q_DEFAULT_JOBS ? (unsigned int) cpus : E2Q_DEFAULT_JOBS;
}

enum e2q_exit e2q_parse_options(int argc, char **argv, struct e2q_options *o)
{
	const char *conflict;
	enum e2q_exit rc;
	int c, least, most;

	memset(o, 0, sizeof(*o));
	o->action = E2Q_DO_COUNT;	/* not resolved yet */
	while ((c = getopt_long(argc, argv, SHORT_OPTS, long_opts, NULL)) != -1) {
		rc = apply_option(o, c, optarg);
		if (rc != E2Q_EXIT_OK || o->action != E2Q_DO_COUNT)
			return rc;
	}
	operand_counts(o, &least, &most);
	if (argc - optind < least || argc - optind > most) {
		e2q_usage(stderr);
		return E2Q_EXIT_USAGE;
	}
	o->source = argv[optind];
	o->dest = argc - optind > 1 ? argv[optind + 1] : NULL;
	conflict = check_conflicts(o);
	if (conflict)
		return e2q_fail(E2Q_EXIT_USAGE, 0, "%s", conflict);
	if (o->progress && o->output_json)
		o->progress = 2;	/* E2Q_PROGRESS_JSON */
	if (!o->jobs)
		o->jobs = default_jobs();
	return E2Q_EXIT_OK;
}

/* ---- the one look at the operands, and the action they call for ---- */

int e2q_source_is_qcow(const char *path)
{
	int fd = open(path, O_RDONLY);
	int is_qcow;

	if (fd < 0)
		return 0;
	is_qcow = e2q_qcow_probe(fd);
	close(fd);
	return is_qcow;
}

static int is_stdout(const char *path)
{
	return path && strcmp(path, "-") == 0;
}

/* -r: a conversion, a re-export (-s), a copy or move (-a), or an export. */
static enum e2q_exit resolve_raw(struct e2q_options *o)
{
	if (!o->all_data) {
		o->action = o->source_is_qcow && !o->scramble ?
			    E2Q_DO_CONVERT : E2Q_DO_EXPORT_RAW;
		return E2Q_EXIT_OK;
	}
	if (o->source_is_qcow)
		return e2q_fail(E2Q_EXIT_USAGE, 0, _("-ra copies a filesystem, "
				"not the qcow image %s; convert it with -r "
				"first"), o->source);
	if (!o->dest && o->src_offset == o->dst_offset)
		return e2q_fail(E2Q_EXIT_USAGE, 0, "%s", _("nothing to move: "
				"-o and -O give the same offset"));
	if (is_stdout(o->dest) && o->check_existing)
		return e2q_fail(E2Q_EXIT_USAGE, 0, "%s", _("-c cannot compare "
				"with standard output"));
	/* -ra to a stream is what -r writes, with the data */
	o->action = is_stdout(o->dest) ? E2Q_DO_EXPORT_RAW :
		    o->dest ? E2Q_DO_COPY : E2Q_DO_MOVE;
	return E2Q_EXIT_OK;
}

enum e2q_exit e2q_resolve_action(struct e2q_options *o)
{
	static const enum e2q_action of_mode[] = {
		[E2Q_MODE_NORMAL] = E2Q_DO_EXPORT_E2I,
		[E2Q_MODE_QCOW2] = E2Q_DO_EXPORT_QCOW2,
		[E2Q_MODE_INSTALL] = E2Q_DO_INSTALL,
		[E2Q_MODE_INFO] = E2Q_DO_INFO,
		[E2Q_MODE_CHECK] = E2Q_DO_CHECK,
		[E2Q_MODE_VERIFY] = E2Q_DO_VERIFY,
	};

	if (o->action != E2Q_DO_COUNT)
		return E2Q_EXIT_OK;		/* -h, -V */
	/* --info and --check open IMAGE themselves, whatever it is */
	if (o->mode != E2Q_MODE_INFO && o->mode != E2Q_MODE_CHECK)
		o->source_is_qcow = e2q_source_is_qcow(o->source);
	if (o->nbacking && !o->source_is_qcow)
		return e2q_fail(E2Q_EXIT_USAGE, 0, _("--backing needs a qcow2 "
				"or qcow image as SOURCE, not %s"), o->source);
	if (o->mode == E2Q_MODE_RAW)
		return resolve_raw(o);
	o->action = of_mode[o->mode];
	return E2Q_EXIT_OK;
}
