/*
 * e2qcow.c --- main(): set up, parse the command line, run one mode.
 *
 * Copyright 2026 the e2qcow developers.
 * This file may be redistributed under the terms of the GNU General Public
 * License, version 2.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <ext2fs/ext2fs.h>

#include "nls-enable.h"
#include "e2q_err.h"
#include "misc/e2qcow.h"

const char *e2q_program_name = "e2qcow";

/* The program's modes. */
static int (*const mode_table[])(const struct e2q_options *) = {
	[E2Q_MODE_NORMAL] = e2q_mode_e2i,
	[E2Q_MODE_QCOW2] = e2q_mode_export,
	[E2Q_MODE_RAW] = e2q_mode_export,
	[E2Q_MODE_INSTALL] = e2q_mode_install,
	[E2Q_MODE_INFO] = e2q_mode_info,
	[E2Q_MODE_CHECK] = e2q_mode_check,
	[E2Q_MODE_VERIFY] = e2q_mode_verify,
};

static int run_mode(const struct e2q_options *o)
{
	int qcow_source;

	if (o->mode == E2Q_MODE_QCOW2 || o->mode == E2Q_MODE_RAW) {
		qcow_source = e2q_source_is_qcow(o->source);
		if (o->nbacking && !qcow_source) {
			com_err(e2q_program_name, 0, _("--backing needs a qcow2 "
				"or qcow image as SOURCE, not %s"), o->source);
			return E2Q_EXIT_USAGE;
		}
		/* a qcow image is converted whole, unless re-exported: -Q, -s */
		if (o->mode == E2Q_MODE_RAW && qcow_source && !o->scramble &&
		    !o->all_data)
			return e2q_mode_convert(o);
		/* -ra: a whole copy, or a move inside SOURCE, byte for byte */
		if (o->mode == E2Q_MODE_RAW && o->all_data && qcow_source) {
			com_err(e2q_program_name, 0,
				_("-ra copies a filesystem, not the qcow image "
				  "%s; convert it with -r first"), o->source);
			return E2Q_EXIT_USAGE;
		}
		if (o->mode == E2Q_MODE_RAW && o->all_data)
			return e2q_mode_move(o);
	}
	return mode_table[o->mode](o);
}

int main(int argc, char **argv)
{
	struct e2q_options opts;
	int rc;

#ifdef ENABLE_NLS
	e2q_nls_init();
#endif
	add_error_table(&et_ext2_error_table);
	add_error_table(&et_e2q_error_table);
	rc = e2q_parse_options(argc, argv, &opts);
	if (rc < 0)
		rc = run_mode(&opts);
	remove_error_table(&et_e2q_error_table);
	remove_error_table(&et_ext2_error_table);
	return rc;
}
