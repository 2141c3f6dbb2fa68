/*
 * fail.c --- the one failure helper of the program: every message about a
 * failure goes through here, so that each is one line in the same form and
 * each error maps to its exit code in one place.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>

#include <ext2fs/ext2fs.h>

#include "nls-enable.h"
#include "qcow/qcow_reader.h"
#include "misc/e2qcow.h"

static enum e2q_exit exit_code_of(enum e2q_exit code, errcode_t err)
{
	if (err == ENOMEM || err == EXT2_ET_NO_MEMORY)
		return E2Q_EXIT_INTERNAL;
	return code;
}

enum e2q_exit e2q_fail(enum e2q_exit code, errcode_t err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	com_err_va(e2q_program_name, err, fmt, ap);
	va_end(ap);
	return exit_code_of(code, err);
}

enum e2q_exit e2q_fail_image(enum e2q_exit code, const char *path,
			     errcode_t err,
			     const struct e2q_qcow_problem *problem,
			     const char *otherwise)
{
	if (problem && problem->structure)
		return e2q_fail(code, err, _("in %s at offset %llu of %s"),
				problem->structure,
				(unsigned long long) problem->offset, path);
	return e2q_fail(code, err, otherwise, path);
}
