/*
 * options.c --- the e2qcow command line, parsed into struct e2q_options.
 *
 * e2image's habits: single-letter options, SOURCE then DEST; conflicts are
 * checked in one place, after parsing, so each message names the pair.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "nls-enable.h"
#include "misc/e2qcow.h"
#include "version.h"

#define SHORT_OPTS "QrafpnhVb:B:o:O:"


static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

void e2q_usage(FILE *f)
{
	fprintf(f, _("Usage: %s -Q|-r [-afnp] [-b SUPERBLOCK [-B BLOCKSIZE]] "
		     "[-o SRC_OFFSET] [-O DST_OFFSET] SOURCE IMAGE\n"
		     "       %s -r IMAGE.qcow2 RAW\n"), e2q_program_name,
		e2q_program_name);
	fputs(_("\nCopies the metadata of an ext2/ext3/ext4 filesystem into a "
		"qcow2 image (-Q)\nor a sparse raw image (-r), and converts "
		"qcow2/qcow images back to raw.\n\n"
		"  -Q              write a qcow2 image\n"
		"  -r              write a raw sparse image (IMAGE - is stdout); "
		"with a qcow\n"
		"                  or qcow2 SOURCE, convert it to raw\n"
		"  -a              include file data, not only metadata\n"
		"  -f              allow a filesystem mounted read-write\n"
		"  -n              dry run: walk the filesystem, write nothing\n"
		"  -p              show progress on stderr, and a summary\n"
		"  -b SUPERBLOCK   open the filesystem from this backup "
		"superblock\n"
		"  -B BLOCKSIZE    block size to use with -b\n"
		"  -o SRC_OFFSET   byte offset of the filesystem in SOURCE\n"
		"  -O DST_OFFSET   byte offset of the image in IMAGE (-r only)\n"
		"  -h, --help      show this help\n"
		"  -V, --version   show the version\n\n"
		"Exit status: 0 done, 1 usage error, 2 source missing, "
		"unreadable or corrupt,\n3 output not written, 4 refused "
		"(mounted read-write, output is the source),\n5 image written "
		"but filesystem damaged, 8 internal error.\n"), f);
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
			_("-Q and -r cannot be used together"));
		return -1;
	}
	o->mode = mode;
	return 0;
}

/* Returns 0 to go on, or 1 + exit code to stop. */
static int apply_option(struct e2q_options *o, int c, const char *arg)
{
	unsigned long long n;

	switch (c) {
	case 'Q': return set_mode(o, E2Q_MODE_QCOW2) ? 1 + E2Q_EXIT_USAGE : 0;
	case 'r': return set_mode(o, E2Q_MODE_RAW) ? 1 + E2Q_EXIT_USAGE : 0;
	case 'a': o->all_data = 1; return 0;
	case 'f': o->force = 1; return 0;
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

static const char *check_conflicts(const struct e2q_options *o)
{
	if (o->mode == E2Q_MODE_NORMAL)
		return _("one of -Q or -r is required (the .e2i format "
			 "is not written yet)");
	if (o->dst_offset_set && o->mode != E2Q_MODE_RAW)
		return _("-O is only allowed with -r");
	if (o->blocksize && !o->superblock)
		return _("-B needs -b");
	if (o->dest && strcmp(o->dest, "-") == 0 && o->mode == E2Q_MODE_QCOW2)
		return _("a qcow2 image cannot be written to standard output "
			 "yet; use -r");
	return NULL;
}

int e2q_parse_options(int argc, char **argv, struct e2q_options *o)
{
	const char *conflict;
	int c, stop;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, SHORT_OPTS, long_opts, NULL)) != -1) {
		stop = apply_option(o, c, optarg);
		if (stop)
			return stop - 1;
	}
	if (argc - optind != 2) {
		e2q_usage(stderr);
		return E2Q_EXIT_USAGE;
	}
	o->source = argv[optind];
	o->dest = argv[optind + 1];
	conflict = check_conflicts(o);
	if (conflict) {
		com_err(e2q_program_name, 0, "%s", conflict);
		return E2Q_EXIT_USAGE;
	}
	return -1;
}
