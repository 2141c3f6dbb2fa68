/*
 * qcow_io.c --- the read-only io_manager of qcow_io.h.
 *
 * The channel holds the image file descriptor and the reader handle;
 * blocks are read through e2q_qcow_pread(), which validates every table it
 * uses.  The option "snapshot" reopens the image on that snapshot:
 * ext2fs_open2() applies io options right after the open, before it reads
 * anything.  A failed reopen leaves the channel without an image: reads
 * then fail with EXT2_ET_MAGIC_IO_CHANNEL.  Reads may come from several
 * threads at once (CHANNEL_FLAGS_THREADS): one at a time goes through the
 * reader, whose table cache is the channel's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcowio/qcow_io.h"
#include "e2q_err.h"


struct qcow_io_private {
	int fd;
	pthread_mutex_t read_lock;	/* img, problem and stats, in reads */
	e2q_qcow_image *img;
	struct e2q_qcow_problem problem;
	struct struct_io_stats stats;
};

static __thread struct e2q_qcow_problem last_open_problem;
static __thread const char *given_name;	/* e2q_qcow_io_use_fd() */
static __thread int given_fd = -1;

void e2q_qcow_io_use_fd(const char *name, int fd)
{
	given_name = fd >= 0 ? name : NULL;
	given_fd = fd;
}

static int open_file(const char *name)
{
	if (given_fd >= 0 && given_name && !strcmp(name, given_name))
		return fcntl(given_fd, F_DUPFD_CLOEXEC, 0);
	return open(name, O_RDONLY | O_CLOEXEC);
}

static struct qcow_io_private *private_of(io_channel channel)
{
	if (!channel || channel->magic != EXT2_ET_MAGIC_IO_CHANNEL)
		return NULL;
	return channel->private_data;
}

/* The channel's private part, with an image open, or NULL. */
static struct qcow_io_private *readable(io_channel channel)
{
	struct qcow_io_private *priv = private_of(channel);

	return priv && priv->img ? priv : NULL;
}

static errcode_t open_image(struct qcow_io_private *priv,
			    const char *snapshot)
{
	struct e2q_qcow_open_params params;
	errcode_t err;

	memset(&params, 0, sizeof(params));
	params.snapshot = snapshot;
	memset(&priv->problem, 0, sizeof(priv->problem));
	err = e2q_qcow_open(priv->fd, &params, &priv->img, &priv->problem);
	if (err)
		last_open_problem = priv->problem;
	return err;
}

static errcode_t new_channel(const char *name, struct qcow_io_private *priv,
			     io_channel *ret)
{
	io_channel io;

	io = calloc(1, sizeof(*io));
	if (!io)
		return ENOMEM;
	io->name = strdup(name);
	if (!io->name) {
		free(io);
		return ENOMEM;
	}
	io->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	io->flags = CHANNEL_FLAGS_THREADS;
	io->manager = e2q_qcow_io_manager;
	io->block_size = 1024;
	io->refcount = 1;
	io->private_data = priv;
	*ret = io;
	return 0;
}

static errcode_t qcow_io_open(const char *name, int flags, io_channel *ret)
{
	struct qcow_io_private *priv;
	errcode_t err;

	*ret = NULL;
	memset(&last_open_problem, 0, sizeof(last_open_problem));
	if (!name)
		return EXT2_ET_BAD_DEVICE_NAME;
	if (flags & IO_FLAG_RW)
		return EROFS;
	priv = calloc(1, sizeof(*priv));
	if (!priv)
		return ENOMEM;
	priv->stats.num_fields = 2;
	pthread_mutex_init(&priv->read_lock, NULL);
	priv->fd = open_file(name);
	err = priv->fd < 0 ? (errcode_t) errno : open_image(priv, NULL);
	if (!err)
		err = new_channel(name, priv, ret);
	if (err) {
		e2q_qcow_close(priv->img);
		if (priv->fd >= 0)
			close(priv->fd);
		pthread_mutex_destroy(&priv->read_lock);
		free(priv);
	}
	return err;
}

static errcode_t qcow_io_close(io_channel channel)
{
	struct qcow_io_private *priv = private_of(channel);

	if (!priv)
		return EXT2_ET_MAGIC_IO_CHANNEL;
	if (--channel->refcount > 0)
		return 0;
	e2q_qcow_close(priv->img);
	close(priv->fd);
	pthread_mutex_destroy(&priv->read_lock);
	free(priv);
	free(channel->name);
	free(channel);
	return 0;
}

static errcode_t qcow_io_set_blksize(io_channel channel, int blksize)
{
	if (!private_of(channel))
		return EXT2_ET_MAGIC_IO_CHANNEL;
	if (blksize <= 0)
		return EXT2_ET_INVALID_ARGUMENT;
	channel->block_size = blksize;
	return 0;
}

/* Reads what lies inside the virtual disk; the rest is zeros. */
static errcode_t read_bytes(io_channel channel, uint64_t offset, size_t size,
			    void *data)
{
	struct qcow_io_private *priv = channel->private_data;
	uint64_t vsize = e2q_qcow_virtual_size(priv->img);
	size_t avail = 0;
	errcode_t err = 0;

	if (offset < vsize)
		avail = vsize - offset < size ? (size_t) (vsize - offset)
					      : size;
	memset((char *) data + avail, 0, size - avail);
	pthread_mutex_lock(&priv->read_lock);
	if (avail)
		err = e2q_qcow_pread(priv->img, data, avail, offset,
				     &priv->problem);
	if (!err && avail < size)
		err = EXT2_ET_SHORT_READ;
	if (!err)
		priv->stats.bytes_read += size;
	pthread_mutex_unlock(&priv->read_lock);
	return err;
}

static errcode_t qcow_io_read_blk64(io_channel channel,
				    unsigned long long block, int count,
				    void *data)
{
	uint64_t size, offset;
	errcode_t err;

	if (!readable(channel))
		return EXT2_ET_MAGIC_IO_CHANNEL;
	size = count < 0 ? (uint64_t) -(int64_t) count
			 : (uint64_t) count * (uint64_t) channel->block_size;
	if (size > SIZE_MAX || (channel->block_size &&
	    block > UINT64_MAX / (uint64_t) channel->block_size))
		return EXT2_ET_INVALID_ARGUMENT;
	offset = block * (uint64_t) channel->block_size;
	err = read_bytes(channel, offset, (size_t) size, data);
	if (err && channel->read_error)
		err = channel->read_error(channel, (unsigned long) block,
					  count, data, (size_t) size, 0, err);
	return err;
}

static errcode_t qcow_io_read_blk(io_channel channel, unsigned long block,
				  int count, void *data)
{
	return qcow_io_read_blk64(channel, block, count, data);
}

static errcode_t qcow_io_write_blk(io_channel channel, unsigned long block,
				   int count, const void *data)
{
	(void) channel; (void) block; (void) count; (void) data;
	return EROFS;
}

static errcode_t qcow_io_write_blk64(io_channel channel,
				     unsigned long long block, int count,
				     const void *data)
{
	(void) channel; (void) block; (void) count; (void) data;
	return EROFS;
}

static errcode_t qcow_io_write_byte(io_channel channel, unsigned long offset,
				    int count, const void *data)
{
	(void) channel; (void) offset; (void) count; (void) data;
	return EROFS;
}

static errcode_t qcow_io_no_range(io_channel channel,
				  unsigned long long block,
				  unsigned long long count)
{
	(void) channel; (void) block; (void) count;
	return EROFS;
}

static errcode_t qcow_io_flush(io_channel channel)
{
	return private_of(channel) ? 0 : EXT2_ET_MAGIC_IO_CHANNEL;
}

static errcode_t qcow_io_set_option(io_channel channel, const char *option,
				    const char *arg)
{
	struct qcow_io_private *priv = private_of(channel);

	if (!priv)
		return EXT2_ET_MAGIC_IO_CHANNEL;
	if (strcmp(option, "snapshot") != 0 || !arg)
		return EXT2_ET_INVALID_ARGUMENT;
	/* ext2fs_open2() sets options right after the open, before any read */
	e2q_qcow_close(priv->img);
	priv->img = NULL;
	return open_image(priv, arg);
}

static errcode_t qcow_io_get_stats(io_channel channel, io_stats *stats)
{
	struct qcow_io_private *priv = private_of(channel);

	if (!priv)
		return EXT2_ET_MAGIC_IO_CHANNEL;
	if (stats)
		*stats = &priv->stats;
	return 0;
}

int e2q_qcow_io_last_problem(io_channel channel,
			     struct e2q_qcow_problem *problem)
{
	struct qcow_io_private *priv = private_of(channel);
	const struct e2q_qcow_problem *p = priv ? &priv->problem
						: &last_open_problem;

	if (!p->structure)
		return 0;
	*problem = *p;
	return 1;
}

static struct struct_io_manager qcow_io_manager_struct = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "e2qcow qcow2/qcow read-only I/O manager",
	.open = qcow_io_open,
	.close = qcow_io_close,
	.set_blksize = qcow_io_set_blksize,
	.read_blk = qcow_io_read_blk,
	.write_blk = qcow_io_write_blk,
	.flush = qcow_io_flush,
	.write_byte = qcow_io_write_byte,
	.set_option = qcow_io_set_option,
	.get_stats = qcow_io_get_stats,
	.read_blk64 = qcow_io_read_blk64,
	.write_blk64 = qcow_io_write_blk64,
	.discard = qcow_io_no_range,
	.zeroout = qcow_io_no_range,
};

io_manager e2q_qcow_io_manager = &qcow_io_manager_struct;
