/*
 * options.c --- the e2qcow command line, parsed into struct e2q_options.
 *
 * e2image's habits: single-letter options, SOURCE then DEST; conflicts are
 * checked in one place, after parsing, so each message names the pair.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "nls-enable.h"
#include "qcow/qcow_compress.h"
#include "misc/e2qcow.h"
#include "version.h"

#define SHORT_OPTS "QrIafpncyshUVb:B:o:O:z:j:l:"


enum {
	OPT_INFO = 256, OPT_CHECK, OPT_VERIFY, OPT_KEEP_XATTRS, OPT_SCRAMBLE_MAP,
	OPT_BACKING
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
	{ "force-share", no_argument, NULL, 'U' },
	{ NULL, 0, NULL, 0 }
};

void e2q_usage(FILE *f)
{
	fprintf(f, _("Usage: %s -Q|-r [-afnps] [-z TYPE[:LEVEL]] [-j THREADS] "
		     "[-l SNAPSHOT]\n             [-b SUPERBLOCK [-B BLOCKSIZE]] "
		     "[-o SRC_OFFSET] [-O DST_OFFSET] SOURCE IMAGE\n"
		     "       %s -r IMAGE.qcow2 RAW\n"
		     "       %s [-fn] SOURCE IMAGE.e2i\n"
		     "       %s -I [-fny] DEVICE IMAGE.e2i\n"
		     "       %s -ra [-cfnp] [-o SRC_OFFSET] [-O DST_OFFSET] "
		     "SOURCE [DEST]\n"
		     "       %s --verify [-b SUPERBLOCK [-B BLOCKSIZE]] "
		     "[-o SRC_OFFSET] SOURCE IMAGE\n"
		     "       %s --info|--check IMAGE\n"), e2q_program_name,
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
		"  -n              dry run: walk the filesystem, write nothing\n"
		"  -p              show progress on stderr, and a summary\n"
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
		"the online CPUs)\n"
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

static int parse_number(const char *arg, const char *what,
			unsigned long long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(arg, &end, 0);
	if (errno || end == arg || *end || arg[0] == '-') {
		com_err(e2q_program_name, 0, _("invalid %s: %s"), what, arg);
		return -1;
	}
	return 0;
}

static int set_mode(struct e2q_options *o, enum e2q_mode mode)
{
	if (o->mode != E2Q_MODE_NORMAL && o->mode != mode) {
		com_err(e2q_program_name, 0, "%s",
			_("only one of -Q, -r, -I, --info, --check and --verify "
			  "may be given"));
		return -1;
	}
	o->mode = mode;
	return 0;
}

/*
 * -z [zlib|zstd][:LEVEL], or -z LEVEL: the type defaults to zstd when this
 * build has it, else zlib; the level to the type's default.
 */
static int parse_compression(struct e2q_options *o, const char *arg)
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
	else if (name_len) {
		com_err(e2q_program_name, 0, _("unknown compression type "
			"\"%.*s\": use zlib or zstd"), (int) name_len, arg);
		return -1;
	}
	if (!e2q_qcow_codec_available(o->compress_type)) {
		com_err(e2q_program_name, 0, "%s", _("this e2qcow was built "
			"without zstd; use -z zlib"));
		return -1;
	}
	if (level && parse_number(level, _("compression level"), &n))
		return -1;
	if (level && (n == 0 || n > 99 ||
		      e2q_qcow_codec_check_level(o->compress_type, (int) n))) {
		com_err(e2q_program_name, 0, _("compression level %s is out "
			"of range for %s"), level, o->compress_type ==
			E2Q_QCOW_CODEC_ZLIB ? "zlib (1-9)" : "zstd (1-22)");
		return -1;
	}
	o->compress_level = (int) n;
	return 0;
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

/* Returns 0 to go on, or 1 + exit code to stop. */
static int apply_option(struct e2q_options *o, int c, const char *arg)
{
	unsigned long long n;
	enum e2q_mode mode;

	if (mode_of_option(c, &mode))
		return set_mode(o, mode) ? 1 + E2Q_EXIT_USAGE : 0;
	switch (c) {
	case 'a': o->all_data = 1; return 0;
	case 'c': o->check_existing = 1; return 0;
	case 'y': o->assume_yes = 1; return 0;
	case 's': o->scramble = 1; return 0;
	case 'z':
		o->compression = arg;
		return parse_compression(o, arg) ? 1 + E2Q_EXIT_USAGE : 0;
	case 'l': o->snapshot = arg; return 0;
	case OPT_KEEP_XATTRS: o->keep_xattrs = 1; return 0;
	case OPT_SCRAMBLE_MAP: o->scramble_map = arg; return 0;
	case OPT_BACKING:
		if (o->nbacking == E2Q_MAX_BACKING) {
			com_err(e2q_program_name, 0, _("at most %d --backing "
				"files"), E2Q_MAX_BACKING);
			return 1 + E2Q_EXIT_USAGE;
		}
		o->backing[o->nbacking++] = arg;
		return 0;
	case 'j':
		if (parse_number(arg, _("number of threads"), &n))
			return 1 + E2Q_EXIT_USAGE;
		if (n == 0 || n > 1024) {
			com_err(e2q_program_name, 0,
				_("invalid number of threads: %s (1 to 1024)"), arg);
			return 1 + E2Q_EXIT_USAGE;
		}
		o->jobs = (unsigned int) n;
		return 0;
	case 'f': o->force = 1; return 0;
	case 'U': o->force_share = 1; return 0;
	case 'n': o->dry_run = 1; return 0;
	case 'p': o->progress = 1; return 0;
	case 'h': e2q_usage(stdout); return 1 + E2Q_EXIT_OK;
	case 'V':
		printf("e2qcow %s (%s)\n", E2QCOW_VERSION, E2QCOW_DATE);
		return 1 + E2Q_EXIT_OK;
	case 'b':
		if (parse_number(arg, _("superblock"), &n))
			return 1 + E2Q_EXIT_USAGE;
		o->superblock = n;
		return 0;
	case 'B':
		if (parse_number(arg, _("block size"), &n) || n > 65536)
			return 1 + E2Q_EXIT_USAGE;
		o->blocksize = (unsigned int) n;
		return 0;
	case 'o': case 'O':
		if (parse_number(arg, _("offset"), &n))
			return 1 + E2Q_EXIT_USAGE;
		*(c == 'o' ? &o->src_offset : &o->dst_offset) = n;
		*(c == 'o' ? &o->src_offset_set : &o->dst_offset_set) = 1;
		return 0;
	default:
		e2q_usage(stderr);
		return 1 + E2Q_EXIT_USAGE;
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
	return NULL;
}

int e2q_parse_options(int argc, char **argv, struct e2q_options *o)
{
	const char *conflict;
	int c, stop, least, most;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, SHORT_OPTS, long_opts, NULL)) != -1) {
		stop = apply_option(o, c, optarg);
		if (stop)
			return stop - 1;
	}
	operand_counts(o, &least, &most);
	if (argc - optind < least || argc - optind > most) {
		e2q_usage(stderr);
		return E2Q_EXIT_USAGE;
	}
	o->source = argv[optind];
	o->dest = argc - optind > 1 ? argv[optind + 1] : NULL;
	conflict = check_conflicts(o);
	if (conflict) {
		com_err(e2q_program_name, 0, "%s", conflict);
		return E2Q_EXIT_USAGE;
	}
	return -1;
}
