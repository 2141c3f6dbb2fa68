/*
 * image_lock.c --- an image that a running VM writes to is not read: the
 * qemu lock test of qemu_lock.h, with qemu-img convert's permissions, and
 * -U (--force-share) to read it anyway.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "nls-enable.h"
#include "e2q_err.h"
#include "qemu_lock.h"
#include "misc/e2qcow.h"

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
