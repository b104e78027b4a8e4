/* virtio-blk over a raw image file: read, write, flush, get-id. Read-only
 * disks advertise VIRTIO_BLK_F_RO and fail writes with VIRTIO_BLK_S_IOERR. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/log.h"
#include "vm/virtio/virtio.h"

#define VIRTIO_ID_BLOCK	     2
#define VIRTIO_BLK_F_SEG_MAX (1ULL << 2)
#define VIRTIO_BLK_F_RO	     (1ULL << 5)
#define VIRTIO_BLK_F_FLUSH   (1ULL << 9)
#define VIRTIO_BLK_T_IN	     0
#define VIRTIO_BLK_T_OUT     1
#define VIRTIO_BLK_T_FLUSH   4
#define VIRTIO_BLK_T_GET_ID  8
#define VIRTIO_BLK_S_OK	     0
#define VIRTIO_BLK_S_IOERR   1
#define VIRTIO_BLK_S_UNSUPP  2
#define VIRTIO_BLK_ID_BYTES  20
#define SECTOR		     512

struct blk {
	int fd;
	bool readonly;
	uint64_t sectors;
	char id[VIRTIO_BLK_ID_BYTES];
};

struct req_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static bool in_range(struct blk *b, uint64_t sector, uint64_t bytes)
{
	return bytes % SECTOR == 0 && sector <= b->sectors && bytes / SECTOR <= b->sectors - sector;
}

static int do_io(struct blk *b, vs_vq_chain *c, bool write, uint64_t sector, size_t len)
{
	struct iovec iov[VS_VQ_MAX_SEGS];
	int n = write ? vs_vq_iov(c, false, sizeof(struct req_hdr), len, iov, VS_VQ_MAX_SEGS)
		      : vs_vq_iov(c, true, 0, len, iov, VS_VQ_MAX_SEGS);
	if (n < 0)
		return -1;
	off_t off = (off_t)(sector * SECTOR);
	size_t done = 0;
	int i = 0;
	while (done < len) {
		ssize_t r = write ? pwritev(b->fd, iov + i, n - i, off + (off_t)done)
				  : preadv(b->fd, iov + i, n - i, off + (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
		/* Advance past what was transferred (short reads/writes). */
		size_t skip = (size_t)r;
		while (i < n && skip >= iov[i].iov_len)
			skip -= iov[i++].iov_len;
		if (i < n) {
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + skip;
			iov[i].iov_len -= skip;
		}
	}
	return 0;
}

/* Handle one request; returns bytes written into the chain. */
static uint32_t handle(struct blk *b, vs_vq_chain *c)
{
	if (c->in_len < 1)
		return 0; /* nowhere to put a status: drop it */
	size_t status_at = c->in_len - 1;
	uint8_t status = VIRTIO_BLK_S_IOERR;
	uint32_t used = 1;
	struct req_hdr h;
	if (vs_vq_read(c, 0, &h, sizeof(h)) != sizeof(h))
		goto done;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
		if (in_range(b, h.sector, status_at) &&
		    do_io(b, c, false, h.sector, status_at) == 0) {
			status = VIRTIO_BLK_S_OK;
			used = (uint32_t)c->in_len;
		}
		break;
	case VIRTIO_BLK_T_OUT: {
		size_t len = c->out_len - sizeof(h);
		if (!b->readonly && in_range(b, h.sector, len) &&
		    do_io(b, c, true, h.sector, len) == 0)
			status = VIRTIO_BLK_S_OK;
		break;
	}
	case VIRTIO_BLK_T_FLUSH:
		if (b->readonly || fdatasync(b->fd) == 0)
			status = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		size_t n = status_at < VIRTIO_BLK_ID_BYTES ? status_at : VIRTIO_BLK_ID_BYTES;
		vs_vq_write(c, 0, b->id, n);
		status = VIRTIO_BLK_S_OK;
		used = (uint32_t)(n + 1);
		break;
	}
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
done:
	vs_vq_write(c, status_at, &status, 1);
	return used;
}

static void blk_notify(vs_virtio_dev *d, unsigned q)
{
	vs_vq_chain c;
	bool any = false;
	int rc;
	while ((rc = vs_vq_pop(d->mem, &d->vq[q], &c)) == 1) {
		uint32_t used = handle(d->priv, &c);
		vs_vq_push(d->mem, &d->vq[q], c.head, used);
		any = true;
	}
	if (rc < 0)
		vs_virtio_fail(d, "request queue: %s", c.error);
	if (any)
		vs_virtio_notify_used(d, q);
}

static void blk_config(vs_virtio_dev *d, uint64_t off, void *data, unsigned len)
{
	struct blk *b = d->priv;
	uint8_t cfg[24] = { 0 };
	memcpy(cfg, &b->sectors, 8);
	uint32_t seg_max = VS_VQ_MAX_SEGS - 2; /* header and status take two */
	memcpy(cfg + 12, &seg_max, 4);
	if (off < sizeof(cfg) && len <= sizeof(cfg) - off)
		memcpy(data, cfg + off, len);
}

static void blk_destroy(vs_virtio_dev *d)
{
	struct blk *b = d->priv;
	if (b->fd >= 0)
		close(b->fd);
	free(b);
}

static const vs_virtio_ops blk_ops = {
	.name = "blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nqueues = 1,
	.notify = blk_notify,
	.config_read = blk_config,
	.destroy = blk_destroy,
};

vs_virtio_dev *vs_virtio_blk_new(vs_dev_ctx *ctx, const vs_guest_mem *mem, int fd, bool readonly,
				 uint64_t size, vs_err *err)
{
	struct blk *b = calloc(1, sizeof(*b));
	if (!b) {
		vs_fail(err, ENOMEM, "virtio-blk");
		return NULL;
	}
	b->fd = fd;
	b->readonly = readonly;
	b->sectors = size / SECTOR;
	struct stat st;
	if (fstat(fd, &st) == 0)
		snprintf(b->id, sizeof(b->id), "vessel-%llx", (unsigned long long)st.st_ino);
	uint64_t feat =
		VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_FLUSH | (readonly ? VIRTIO_BLK_F_RO : 0);
	vs_virtio_dev *d = vs_virtio_new(ctx, &blk_ops, feat, b);
	if (!d) {
		free(b);
		vs_fail(err, ENOMEM, "virtio-blk");
		return NULL;
	}
	if (mem)
		d->mem = mem;
	return d;
}

static bool blk_wanted(const vs_vm_config *cfg)
{
	return cfg->disk != NULL || cfg->disk_fd >= 0;
}

static int blk_create(vs_dev_ctx *ctx, const vs_vm_config *cfg, void **state, vs_err *err)
{
	const char *path = cfg->disk ? cfg->disk : "(passed fd)";
	bool readonly = cfg->disk_readonly;
	int fd = cfg->disk_fd >= 0 ? fcntl(cfg->disk_fd, F_DUPFD_CLOEXEC, 0)
				   : open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return vs_fail_errno(err, "opening disk %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return vs_fail(err, e, "stat %s", path);
	}
	if (st.st_size % SECTOR)
		vs_warn("disk %s: size is not a multiple of 512; the tail is not visible", path);
	vs_virtio_dev *d = vs_virtio_blk_new(ctx, NULL, fd, readonly, (uint64_t)st.st_size, err);
	if (!d) {
		close(fd);
		return -1;
	}
	*state = d;
	return vs_virtio_attach(d, err);
}

const vs_device vs_virtio_blk_device = {
	.name = "virtio-blk",
	.wanted = blk_wanted,
	.create = blk_create,
	.destroy = vs_virtio_destroy_state,
};
