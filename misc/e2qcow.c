/*
 * e2qcow.c --- main(): parse the command line, resolve the one action it
 * asks for, run it.
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
#include "support/write_behind.h"
#include "misc/e2qcow.h"
#include "version.h"

const char *e2q_program_name = "e2qcow";

static enum e2q_exit show_help(const struct e2q_options *o)
{
	(void) o;
	e2q_usage(stdout);
	return E2Q_EXIT_OK;
}

static enum e2q_exit show_version(const struct e2q_options *o)
{
	(void) o;
	printf("e2qcow %s (%s)\n", E2QCOW_VERSION, E2QCOW_DATE);
	return E2Q_EXIT_OK;
}

/* Every action, and the one function that carries it out. */
static enum e2q_exit (*const action_table[E2Q_DO_COUNT])(
	const struct e2q_options *) = {
	[E2Q_DO_HELP] = show_help,
	[E2Q_DO_VERSION] = show_version,
	[E2Q_DO_EXPORT_QCOW2] = e2q_run_export,
	[E2Q_DO_EXPORT_RAW] = e2q_run_export,
	[E2Q_DO_EXPORT_E2I] = e2q_run_export,
	[E2Q_DO_CONVERT] = e2q_run_convert,
	[E2Q_DO_COPY] = e2q_run_copy,
	[E2Q_DO_MOVE] = e2q_run_copy,
	[E2Q_DO_INSTALL] = e2q_run_install,
	[E2Q_DO_VERIFY] = e2q_run_verify,
	[E2Q_DO_INFO] = e2q_run_info,
	[E2Q_DO_CHECK] = e2q_run_check,
};

/* E2QCOW_WRITE_BEHIND_KB: the write-behind window, 0 to turn it off. */
static void apply_environment(void)
{
	const char *s = getenv("E2QCOW_WRITE_BEHIND_KB");
	unsigned long long kb;
	char *end;

	if (!s || !*s)
		return;
	kb = strtoull(s, &end, 10);
	if (!*end && kb <= (1ULL << 30))
		e2q_write_behind_set_window(kb << 10);
}

int main(int argc, char **argv)
{
	struct e2q_options opts;
	enum e2q_exit rc;

#ifdef ENABLE_NLS
	e2q_nls_init();
#endif
	add_error_table(&et_ext2_error_table);
	add_error_table(&et_e2q_error_table);
	apply_environment();
	rc = e2q_parse_options(argc, argv, &opts);
	if (rc == E2Q_EXIT_OK)
		rc = e2q_resolve_action(&opts);
	if (rc == E2Q_EXIT_OK)
		rc = action_table[opts.action](&opts);
	remove_error_table(&et_e2q_error_table);
	remove_error_table(&et_ext2_error_table);
	return rc;
}
