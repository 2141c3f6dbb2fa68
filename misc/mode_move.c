/*
 * mode_move.c --- -ra: copy a whole filesystem (metadata and data) to
 * another file or device, or move it to another offset inside its own file
 * (one operand with -o and/or -O).
 *
 * A copy to a new file carries what e2image -ra carries, byte for byte.  A
 * copy written over old contents (a device, -O, -c, or a move) also
 * carries every allocated block, the backup superblocks and descriptors and
 * the whole inode tables, or the old contents would show through.
 *
 * Interruptions (SIGINT, SIGTERM, SIGHUP) are acted on between batches.
 * While the source is untouched the copy stops at once and says so.  Once a
 * move has overwritten part of the source, stopping would leave neither
 * copy whole: the first interruption only warns, a second one stops and
 * says exactly which bytes remain to be moved.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "nls-enable.h"
#include "e2q_err.h"
#include "e2meta/e2meta.h"
#include "e2copy/block_copy.h"
#include "misc/e2qcow.h"
#include "misc/freeze.h"
#include "misc/open_source.h"
#include "misc/output_file.h"
#include "misc/progress.h"

static volatile sig_atomic_t interruptions;

struct move {
	const struct e2q_options *opts;
	ext2_filsys fs;
	ext2fs_block_bitmap map;
	struct e2q_meta_stats meta;
	int same_file;		/* one operand: a move inside SOURCE */
	int in_place;		/* written over the destination's contents */
	/*
	 * Where the copier reads, writes and compares: for a move all three
	 * are SOURCE, opened once read-write; for a copy, SOURCE read-only,
	 * DEST as output_file.h opens it, and DEST read-only for -c.
	 */
	int src_fd, dst_fd, check_fd;
	int owned[2];		/* the descriptors this file opened */
	unsigned int nowned;
	struct e2q_output out;	/* DEST of a copy */
	int out_open;
	const char *dest;	/* DEST, or SOURCE for a move */
	struct e2q_copy_params cp;
	struct e2q_copy_stats st;
	struct e2q_progress progress;
	int warned;
};

static void count_interruption(int sig)
{
	(void) sig;
	interruptions++;
}

/* Counts interruptions while on; restores what was there before when off. */
static void catch_interruptions(int on)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	static struct sigaction saved[3];
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = count_interruption;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (!on) {
			sigaction(sigs[i], &saved[i], NULL);
			continue;
		}
		sigaction(sigs[i], NULL, &saved[i]);
		/* an ignored signal (nohup, a background job) stays ignored */
		if (saved[i].sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
	}
}

static enum e2q_exit refuse_mounted(const struct move *m)
{
	const struct e2q_options *o = m->opts;
	int flags = 0;

	if (ext2fs_check_if_mounted(o->source, &flags) == 0 &&
	    (flags & EXT2_MF_MOUNTED) &&
	    (m->same_file || (!o->force && !o->freeze &&
			      !(flags & EXT2_MF_READONLY))))
		return e2q_fail(E2Q_EXIT_REFUSED, 0, m->same_file ?
				_("%s is mounted: unmount it before moving it") :
				_("%s is mounted read-write: its copy would be "
				  "inconsistent (use -f to force)"), o->source);
	flags = 0;
	if (!m->same_file && ext2fs_check_if_mounted(o->dest, &flags) == 0 &&
	    (flags & EXT2_MF_MOUNTED))
		return e2q_fail(E2Q_EXIT_REFUSED, 0, _("%s is mounted: "
				"refusing to write over it"), o->dest);
	return E2Q_EXIT_OK;
}

static enum e2q_exit mark_blocks(struct move *m)
{
	struct e2q_meta_options mo;
	errcode_t err;

	memset(&mo, 0, sizeof(mo));
	mo.all_data = 1;
	mo.whole_inode_tables = m->in_place;
	mo.problem = e2q_report_walk_problem;
	mo.priv = (void *) m->opts->source;
	err = ext2fs_allocate_block_bitmap(m->fs, "blocks to copy", &m->map);
	if (!err)
		err = e2q_meta_mark(m->fs, &mo, m->map, &m->meta);
	if (!err && m->in_place)
		err = e2q_copy_mark_allocated(m->fs, m->map);
	if (err)
		return e2q_fail(E2Q_EXIT_SOURCE, err, _("while walking %s"),
				m->opts->source);
	return E2Q_EXIT_OK;
}

/* Opens path and keeps the descriptor to close it at the end. */
static enum e2q_exit open_fd(struct move *m, const char *path, int flags,
			     int *fd)
{
	*fd = open(path, flags);
	if (*fd < 0)
		return e2q_fail(flags == O_RDONLY ? E2Q_EXIT_SOURCE :
				E2Q_EXIT_OUTPUT, errno, _("while opening %s"),
				path);
	m->owned[m->nowned++] = *fd;
	return E2Q_EXIT_OK;
}

/* Source and destination descriptors; DEST opened as output_file.h says. */
static enum e2q_exit open_files(struct move *m)
{
	const struct e2q_options *o = m->opts;
	enum e2q_exit rc;

	if (m->same_file) {
		rc = open_fd(m, o->source, O_RDWR, &m->src_fd);
		m->dst_fd = m->check_fd = m->src_fd;
		return rc;
	}
	rc = open_fd(m, o->source, O_RDONLY, &m->src_fd);
	if (!rc)
		rc = e2q_output_open(o->dest, o->source,
				     o->dst_offset_set || o->check_existing,
				     &m->out);
	m->out_open = !rc;
	m->dst_fd = m->out_open ? m->out.fd : -1;
	if (!rc && o->check_existing)
		rc = open_fd(m, o->dest, O_RDONLY, &m->check_fd);
	return rc;
}

/* For -n: everything read-only, and nothing created; the copier writes
 * nothing and compares with DEST where it exists. */
static enum e2q_exit open_files_read_only(struct move *m)
{
	const struct e2q_options *o = m->opts;
	enum e2q_exit rc;

	rc = open_fd(m, o->source, O_RDONLY, &m->src_fd);
	if (!rc && m->same_file)
		m->check_fd = m->src_fd;
	else if (!rc && access(o->dest, F_OK) == 0)
		rc = open_fd(m, o->dest, O_RDONLY, &m->check_fd);
	m->dst_fd = m->check_fd;
	return rc;
}

/* Fills the copy parameters; refuses a device too small for the copy. */
static enum e2q_exit plan_copy(struct move *m)
{
	const struct e2q_options *o = m->opts;
	struct e2q_copy_params *cp = &m->cp;
	struct stat st;
	off_t end;

	cp->src_fd = m->src_fd;
	cp->dst_fd = m->dst_fd;
	cp->dst_read_fd = m->check_fd;
	cp->src_offset = o->src_offset;
	cp->dst_offset = o->dst_offset;
	cp->block_size = m->fs->blocksize;
	cp->blocks = ext2fs_blocks_count(m->fs->super);
	cp->lead_blocks = m->fs->super->s_first_data_block;
	cp->flags = (m->same_file ? E2Q_COPY_SAME_FILE : 0) |
		    (o->check_existing ? E2Q_COPY_CHECK : 0) |
		    (o->dry_run ? E2Q_COPY_DRY_RUN : 0);
	if (cp->dst_fd < 0)
		return E2Q_EXIT_OK;	/* -n, and DEST does not exist yet */
	if (fstat(cp->dst_fd, &st) == 0 && S_ISREG(st.st_mode)) {
		cp->flags |= E2Q_COPY_HOLES;
		cp->dst_size = (uint64_t) st.st_size;
		return E2Q_EXIT_OK;
	}
	end = lseek(cp->dst_fd, 0, SEEK_END);
	if (end >= 0 && (uint64_t) end <
	    cp->dst_offset + cp->blocks * cp->block_size)
		return e2q_fail(E2Q_EXIT_REFUSED, E2Q_ET_DEVICE_TOO_SMALL,
				_("%s holds %llu bytes; the copy needs %llu"),
				m->dest, (unsigned long long) end,
				(unsigned long long) (cp->dst_offset +
				cp->blocks * cp->block_size));
	return E2Q_EXIT_OK;
}

static void warn_unsafe_stop(struct move *m, const struct e2q_copy_stats *st)
{
	if (m->progress.on_terminal)
		fputc('\n', stderr);
	com_err(e2q_program_name, 0,
		_("part of %s is already overwritten: stopping now would "
		  "leave neither copy usable, so the move goes on (%llu of "
		  "%llu blocks left); interrupt again to stop anyway"),
		m->dest, (unsigned long long) (st->marked - st->done),
		(unsigned long long) st->marked);
	m->warned = 1;
}

static int checkpoint(const struct e2q_copy_stats *st, void *priv)
{
	struct move *m = priv;

	e2q_progress_update(&m->progress, st->done);
	if (!interruptions)
		return 0;
	if (!st->source_touched || interruptions > 1)
		return 1;
	if (!m->warned)
		warn_unsafe_stop(m, st);
	return 0;
}

/* What the user must do after a stop that left the move half done. */
static void explain_broken_move(const struct move *m)
{
	const struct e2q_copy_params *cp = &m->cp;
	unsigned long long bs = cp->block_size;
	unsigned long long from = cp->src_offset + m->st.remain_first * bs;
	unsigned long long to = cp->dst_offset + m->st.remain_first * bs;
	unsigned long long len = (m->st.remain_end - m->st.remain_first) * bs;
	int overlap = m->st.backwards && to < from + len;

	com_err(e2q_program_name, 0,
		_("interrupted: the move of %s stopped half done; the "
		  "filesystem is not usable until bytes %llu to %llu are "
		  "copied to offset %llu"),
		m->dest, from, from + len, to);
	if (overlap)
		fprintf(stderr, _("Copy them from the last block down to the "
				  "first: a forward copy such as dd would "
				  "overwrite bytes before reading them.\n"));
	else
		fprintf(stderr, _("For example: dd if=%s of=%s bs=1M "
				  "iflag=skip_bytes,count_bytes "
				  "oflag=seek_bytes skip=%llu seek=%llu "
				  "count=%llu conv=notrunc\n"),
			m->dest, m->dest, from, to, len);
}

static void explain_interruption(const struct move *m)
{
	if (m->same_file && m->st.source_touched)
		explain_broken_move(m);
	else if (m->same_file)
		com_err(e2q_program_name, 0,
			_("interrupted before any block of the filesystem was "
			  "overwritten: it is intact at offset %llu of %s"),
			(unsigned long long) m->cp.src_offset, m->dest);
	else if (m->out.tmp_path)
		com_err(e2q_program_name, 0,
			_("interrupted: %s is unchanged and nothing was "
			  "written"),
			m->opts->source);
	else
		com_err(e2q_program_name, 0,
			_("interrupted: %s is unchanged; %s holds an incomplete "
			  "copy: run the command again to complete it"),
			m->opts->source, m->dest);
}

/* A regular file shorter than the copied filesystem is extended. */
static errcode_t extend_to_size(const struct move *m)
{
	const struct e2q_copy_params *cp = &m->cp;
	uint64_t end = cp->dst_offset + cp->blocks * cp->block_size;
	struct stat st;

	if (fstat(cp->dst_fd, &st) < 0)
		return errno;
	if (!S_ISREG(st.st_mode) || (uint64_t) st.st_size >= end)
		return 0;
	return ftruncate(cp->dst_fd, (off_t) end) < 0 ? errno : 0;
}

static errcode_t finish_copy(struct move *m)
{
	errcode_t err = extend_to_size(m);

	if (!err && m->same_file && fsync(m->dst_fd) < 0 && errno != EINVAL)
		err = errno;
	return err;
}

static enum e2q_exit run_copy(struct move *m)
{
	errcode_t err;

	m->cp.checkpoint = checkpoint;
	m->cp.priv = m;
	e2q_copy_plan(&m->cp, m->map, &m->st);
	e2q_progress_start(&m->progress, m->opts->progress,
			   m->same_file ? _("Moving") : _("Copying"),
			   m->st.marked, m->cp.block_size);
	catch_interruptions(1);
	err = e2q_copy_blocks(&m->cp, m->map, &m->st);
	catch_interruptions(0);
	if (!err)
		err = finish_copy(m);
	if (err == E2Q_ET_INTERRUPTED) {
		explain_interruption(m);
		return E2Q_EXIT_OUTPUT;
	}
	if (err)
		return e2q_fail(E2Q_EXIT_OUTPUT, err, _("while copying %s to %s"),
				m->opts->source, m->dest);
	e2q_progress_end(&m->progress, m->st.done,
			 m->st.done * m->cp.block_size,
			 m->st.written * m->cp.block_size);
	return E2Q_EXIT_OK;
}

static enum e2q_exit report_dry_run(struct move *m)
{
	const struct e2q_options *o = m->opts;
	errcode_t err = 0;

	if (o->check_existing && m->check_fd >= 0)
		err = e2q_copy_blocks(&m->cp, m->map, &m->st);
	else
		e2q_copy_plan(&m->cp, m->map, &m->st);
	if (err)
		return e2q_fail(E2Q_EXIT_SOURCE, err, _("while comparing %s "
				"with %s"), o->source, m->dest);
	printf(_("%s: %llu blocks of %u bytes (%.1f MiB) would be copied "
		 "from offset %llu to offset %llu of %s%s\n"), o->source,
	       (unsigned long long) m->st.marked, m->cp.block_size,
	       (double) m->st.marked * m->cp.block_size / 1048576.0,
	       (unsigned long long) o->src_offset,
	       (unsigned long long) o->dst_offset, m->dest,
	       m->st.backwards ? _(", from the last block down") : "");
	if (o->check_existing)
		printf(_("%llu blocks already hold the data to be copied\n"),
		       (unsigned long long) m->st.matched);
	return E2Q_EXIT_OK;
}

static enum e2q_exit copy_or_move(struct move *m)
{
	enum e2q_exit rc = m->opts->dry_run ? open_files_read_only(m)
					    : open_files(m);

	if (!rc)
		rc = plan_copy(m);
	if (!rc && m->opts->dry_run)
		return report_dry_run(m);
	if (!rc)
		rc = run_copy(m);
	if (!rc && m->opts->check_existing)
		printf(_("%llu blocks already held the data to be copied\n"),
		       (unsigned long long) m->st.matched);
	return rc;
}

static void close_move(struct move *m, enum e2q_exit rc)
{
	unsigned int i;

	if (m->out_open && (rc || m->opts->dry_run))
		e2q_output_abort(&m->out);
	for (i = 0; i < m->nowned; i++)
		close(m->owned[i]);
	if (m->map)
		ext2fs_free_block_bitmap(m->map);
	if (m->fs)
		ext2fs_close_free(&m->fs);
}

/* output_file.h writes such a destination in place. */
static int exists_not_regular(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && !S_ISREG(st.st_mode);
}

enum e2q_exit e2q_run_copy(const struct e2q_options *o)
{
	struct move m;
	enum e2q_exit rc;

	memset(&m, 0, sizeof(m));
	m.opts = o;
	m.src_fd = m.dst_fd = m.check_fd = -1;
	m.same_file = o->action == E2Q_DO_MOVE;
	m.dest = m.same_file ? o->source : o->dest;
	m.in_place = m.same_file || o->dst_offset_set || o->check_existing ||
		     exists_not_regular(m.dest);
	rc = refuse_mounted(&m);
	if (!rc) {
		const char *outputs[] = { m.dest, NULL };

		rc = e2q_freeze_source(o, outputs);
	}
	if (!rc)
		rc = e2q_open_source_fs(o, &m.fs, NULL);
	if (!rc)
		rc = mark_blocks(&m);
	if (!rc)
		rc = copy_or_move(&m);
	e2q_thaw_source();	/* the copy is read: SOURCE may change again */
	if (!rc && m.out_open && !o->dry_run) {
		m.out_open = 0;
		rc = e2q_output_commit(&m.out);
	}
	if (!rc && m.meta.problems)
		rc = E2Q_EXIT_DAMAGED;
	close_move(&m, rc);
	return rc;
}
