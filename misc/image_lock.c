/*
 * image_lock.c --- an image that a running VM writes to is not read: the
 * qemu lock test of qemu_lock.h, with qemu-img convert's permissions, and
 * -U (--force-share) to read it anyway; and the opening of the one image
 * --info and --check read: open, lock test, sandbox.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "nls-enable.h"
#include "e2q_err.h"
#include "qemu_lock.h"
#include "misc/e2qcow.h"
#include "misc/sandbox.h"

static void report_conflict(const char *path,
			    const struct e2q_qemu_lock_conflict *c, int warn)
{
	const char *perm = e2q_qemu_perm_name(c->perm);

	if (warn)
		com_err(e2q_program_name, 0, c->forbidden ?
			_("warning: %s is in use: another process forbids "
			  "\"%s\" on it; reading it anyway (-U), the result "
			  "may be inconsistent") :
			_("warning: %s is in use: another process holds "
			  "\"%s\" on it; reading it anyway (-U), the result "
			  "may be inconsistent"), path, perm);
	else
		com_err(e2q_program_name, 0, c->forbidden ?
			_("%s is in use: another process (a running VM?) "
			  "forbids \"%s\" on it; use -U to read it anyway") :
			_("%s is in use: another process (a running VM?) "
			  "holds \"%s\" on it, its image would be "
			  "inconsistent; use -U to read it anyway"),
			path, perm);
}

enum e2q_exit e2q_refuse_if_image_in_use(const struct e2q_options *o,
					 const char *path, int fd)
{
	struct e2q_qemu_lock_conflict conflict;
	int own_fd = -1;
	errcode_t err;

	if (fd < 0) {
		own_fd = open(path, O_RDONLY);
		if (own_fd < 0)
			return E2Q_EXIT_OK;	/* the mode says why */
		fd = own_fd;
	}
	err = e2q_qemu_lock_probe(fd, E2Q_QEMU_READER_PERM,
				  E2Q_QEMU_READER_SHARED, &conflict);
	if (own_fd >= 0)
		close(own_fd);
	if (err == E2Q_ET_IMAGE_IN_USE) {
		report_conflict(path, &conflict, o->force_share);
		return o->force_share ? E2Q_EXIT_OK : E2Q_EXIT_IN_USE;
	}
	if (err)
		return e2q_fail(E2Q_EXIT_SOURCE, err, _("while testing %s for "
				"qemu's locks"), path);
	return E2Q_EXIT_OK;
}

enum e2q_exit e2q_open_image_confined(const struct e2q_options *o, int *fd)
{
	enum e2q_exit rc;
	errcode_t err;

	*fd = open(o->source, O_RDONLY);
	if (*fd < 0) {
		err = errno;
		if (o->output_json)
			e2q_json_image_error(o->source, err, NULL);
		return e2q_fail(E2Q_EXIT_SOURCE, err, _("while opening %s"),
				o->source);
	}
	/* qemu's locks: not an image that a running VM writes to */
	rc = e2q_refuse_if_image_in_use(o, o->source, *fd);
	/* sandbox: IMAGE is open, not a byte of it parsed yet */
	if (!rc)
		rc = e2q_enter_sandbox(o, NULL, 0);
	if (rc) {
		close(*fd);
		*fd = -1;
	}
	return rc;
}
