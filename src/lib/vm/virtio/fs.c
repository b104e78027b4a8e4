/* virtio-fs (virtio 1.x device 26) served by a vhost-user backend: vessel
 * does the transport and config space (tag, one request queue), and on
 * DRIVER_OK hands guest memory and both queues (hiprio 0, requests 1) to the
 * backend. The queues' kick eventfds are the KVM ioeventfds on QueueNotify
 * (datamatch: queue index) and their call eventfd is the device's KVM irqfd,
 * so FUSE requests and replies never pass through the VMM. Without those
 * KVM features the same eventfds are driven from the MMIO exit and the I/O
 * thread instead.
 *
 * The backend is virtiofsd, started here (--fs TAG=DIR[,ro], see
 * vhost_user/virtiofsd.h) or already listening (--vhost-user-fs TAG=SOCKET).
 * If it dies, closes the socket, says anything unasked, or fails or stalls
 * on a request, the VM ends (VS_VM_EXIT_DEVICE) with a message saying so. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "vm/vhost_user/frontend.h"
#include "vm/vhost_user/virtiofsd.h"
#include "vm/virtio/virtio.h"

#define VIRTIO_ID_FS 26
#define FS_NQUEUES   2 /* hiprio + one request queue */
#define FS_TAG_MAX   36
#define FS_CONFIG    (FS_TAG_MAX + 4)

typedef struct fs_dev {
	vs_virtio_dev *d;
	vs_vhu vhu;
	vs_virtiofsd daemon;
	const char *what; /* the backend, for messages */
	uint8_t config[FS_CONFIG];
	int kick[FS_NQUEUES];
	bool own_kick[FS_NQUEUES]; /* ours to close (no ioeventfd) */
	int call;		   /* eventfd the I/O thread forwards; -1: irqfd */
	bool started[FS_NQUEUES];
	bool dead;
} fs_dev;

/* Lock held. The backend can no longer be trusted to serve the queues:
 * mark the device failed and end the VM with why. */
static void backend_failed(fs_dev *s, const char *why)
{
	vs_virtio_dev *d = s->d;
	if (s->dead)
		return;
	s->dead = true;
	d->status |= VIRTIO_STATUS_FAILED;
	char msg[VS_ERR_MSG_MAX + 128];
	if (s->daemon.pid > 0) {
		char how[64];
		vs_virtiofsd_reap_now(&s->daemon, how, sizeof(how));
		snprintf(msg, sizeof(msg), "virtio-fs: %s: %s (virtiofsd %s)", s->what, why, how);
	} else {
		snprintf(msg, sizeof(msg), "virtio-fs: %s: %s", s->what, why);
	}
	if (d->ctx)
		d->ctx->end(d->ctx->host, VS_VM_EXIT_DEVICE, 0, msg);
	else
		vs_error("%s", msg);
}

static int start_queue(fs_dev *s, unsigned q, vs_err *err)
{
	vs_virtio_dev *d = s->d;
	const vs_vq *vq = &d->vq[q];
	/* vs_vq_check proved these ranges lie inside RAM when the queue was
	 * enabled, and they cannot change while it is. */
	void *desc = vs_mem_ptr(d->mem, vq->desc, 16ULL * vq->num);
	void *avail = vs_mem_ptr(d->mem, vq->avail, 6 + 2ULL * vq->num);
	void *used = vs_mem_ptr(d->mem, vq->used, 6 + 8ULL * vq->num);
	if (!desc || !avail || !used)
		return vs_fail(err, EFAULT, "queue %u lies outside guest RAM", q);
	vs_vhu_vring r = {
		.num = vq->num,
		.desc = (uint64_t)(uintptr_t)desc,
		.avail = (uint64_t)(uintptr_t)avail,
		.used = (uint64_t)(uintptr_t)used,
		.kick = s->kick[q],
		.call = s->call >= 0 ? s->call : d->irqfd,
	};
	if (vs_vhu_start_vring(&s->vhu, q, &r, err) < 0)
		return -1;
	s->started[q] = true;
	return 0;
}

static void fs_driver_ok(vs_virtio_dev *d)
{
	fs_dev *s = d->priv;
	if (s->dead || !vs_virtio_live(d))
		return;
	vs_err err = { 0 };
	/* FEATURES_OK held only for bits we offered, all the backend's. */
	if (vs_vhu_set_features(&s->vhu, d->driver_features, &err) < 0 ||
	    vs_vhu_set_mem_table(&s->vhu, d->mem, &err) < 0)
		goto fail;
	for (unsigned q = 0; q < FS_NQUEUES; q++)
		if (d->vq[q].ready && start_queue(s, q, &err) < 0)
			goto fail;
	return;
fail:
	backend_failed(s, err.msg);
}

/* The driver disabled a ring the backend runs (GET_VRING_BASE stops it)
 * or enabled one after DRIVER_OK (handed over like the others). */
static void fs_queue_ready(vs_virtio_dev *d, unsigned q, bool ready)
{
	fs_dev *s = d->priv;
	vs_err err = { 0 };
	if (s->dead || !(d->status & VIRTIO_STATUS_DRIVER_OK))
		return;
	if (!ready && s->started[q]) {
		s->started[q] = false;
		if (vs_vhu_stop_vring(&s->vhu, q, NULL, &err) < 0)
			backend_failed(s, err.msg);
	} else if (ready && !s->started[q] && vs_virtio_live(d)) {
		if (start_queue(s, q, &err) < 0)
			backend_failed(s, err.msg);
	}
}

/* The backend stops every ring it runs (GET_VRING_BASE). */
static void stop_all(fs_dev *s)
{
	for (unsigned q = 0; q < FS_NQUEUES; q++) {
		if (!s->started[q])
			continue;
		s->started[q] = false;
		vs_err err = { 0 };
		if (!s->dead && vs_vhu_stop_vring(&s->vhu, q, NULL, &err) < 0)
			backend_failed(s, err.msg);
	}
}

/* A device that needs reset ignores its queues until then: so must the
 * backend. */
static void fs_needs_reset(vs_virtio_dev *d)
{
	stop_all(d->priv);
}

static void fs_reset(vs_virtio_dev *d)
{
	fs_dev *s = d->priv;
	stop_all(s);
	if (s->dead)
		d->status |= VIRTIO_STATUS_FAILED;
}

/* A kick that reached us as an MMIO exit (no ioeventfd): pass it on. */
static void fs_notify(vs_virtio_dev *d, unsigned q)
{
	fs_dev *s = d->priv;
	uint64_t one = 1;
	if (q < FS_NQUEUES && s->own_kick[q] && write(s->kick[q], &one, sizeof(one)) < 0)
		vs_debug("virtio-fs: kick queue %u: %s", q, strerror(errno));
}

static void fs_config_read(vs_virtio_dev *d, uint64_t off, void *data, unsigned len)
{
	fs_dev *s = d->priv;
	if (off < FS_CONFIG && len <= FS_CONFIG - off)
		memcpy(data, s->config + off, len);
}

static void fs_destroy(vs_virtio_dev *d)
{
	fs_dev *s = d->priv;
	if (!s)
		return;
	/* Closing our end is what makes virtiofsd exit; stop reaps it. */
	vs_vhu_close(&s->vhu);
	vs_virtiofsd_stop(&s->daemon);
	for (unsigned q = 0; q < FS_NQUEUES; q++)
		if (s->own_kick[q])
			close(s->kick[q]);
	if (s->call >= 0)
		close(s->call);
	free(s);
	d->priv = NULL;
}

static const vs_virtio_ops fs_ops = {
	.name = "fs",
	.device_id = VIRTIO_ID_FS,
	.nqueues = FS_NQUEUES,
	.notify = fs_notify,
	.config_read = fs_config_read,
	.reset = fs_reset,
	.destroy = fs_destroy,
	.driver_ok = fs_driver_ok,
	.queue_ready = fs_queue_ready,
	.needs_reset = fs_needs_reset,
	.vhost = true,
};

/* I/O thread: the backend's socket is readable outside a request of ours
 * (we hold the lock through each one): it closed, or said something
 * unasked. Either way it is no longer a backend we can use. */
static int backend_io(void *arg, int fd)
{
	fs_dev *s = arg;
	vs_virtio_dev *d = s->d;
	int rc = 0;
	pthread_mutex_lock(&d->lock);
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		goto out;
	rc = -1;
	if (n > 0)
		backend_failed(s, "sent a message vessel did not ask for");
	else
		backend_failed(s, "the backend closed the vhost-user connection");
out:
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* I/O thread, only without an irqfd: the backend signalled a used buffer. */
static int backend_called(void *arg, int fd)
{
	fs_dev *s = arg;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	pthread_mutex_lock(&s->d->lock);
	vs_virtio_interrupt(s->d, VIRTIO_INT_VRING);
	pthread_mutex_unlock(&s->d->lock);
	return 0;
}

static int fs_connect(fs_dev *s, const vs_vm_config *cfg, vs_err *err)
{
	if (cfg->fs_conn_fd >= 0) {
		s->what = "virtiofsd";
		int c = fcntl(cfg->fs_conn_fd, F_DUPFD_CLOEXEC, 0);
		if (c < 0)
			return vs_fail_errno(err, "virtio-fs: dup fd %d", cfg->fs_conn_fd);
		vs_vhu_init(&s->vhu, c, VS_VHU_TIMEOUT_MS);
		return 0;
	}
	if (cfg->fs_socket) {
		s->what = cfg->fs_socket;
		return vs_vhu_connect(&s->vhu, cfg->fs_socket, VS_VHU_TIMEOUT_MS, err);
	}
	s->what = cfg->virtiofsd ? cfg->virtiofsd : VS_VIRTIOFSD_PATH;
	int conn;
	if (vs_virtiofsd_start(&s->daemon, cfg->virtiofsd, cfg->fs_dir, cfg->fs_readonly, &conn,
			       err) < 0)
		return -1;
	vs_vhu_init(&s->vhu, conn, VS_VHU_TIMEOUT_MS);
	return 0;
}

static bool fs_wanted(const vs_vm_config *cfg)
{
	return cfg->fs_tag != NULL;
}

static int fs_create(vs_dev_ctx *ctx, const vs_vm_config *cfg, void **state, vs_err *err)
{
	size_t taglen = strlen(cfg->fs_tag);
	if (!taglen || taglen > FS_TAG_MAX)
		return vs_fail(err, EINVAL, "--fs: tag \"%s\" must have 1 to %d bytes", cfg->fs_tag,
			       FS_TAG_MAX);
	if (!cfg->fs_socket && !cfg->fs_dir && cfg->fs_conn_fd < 0)
		return vs_fail(err, EINVAL, "--fs: no directory or socket for tag %s", cfg->fs_tag);
	fs_dev *s = calloc(1, sizeof(*s));
	if (!s)
		return vs_fail_errno(err, "allocating virtio-fs");
	s->vhu.fd = s->call = -1;
	for (unsigned q = 0; q < FS_NQUEUES; q++)
		s->kick[q] = -1;
	memcpy(s->config, cfg->fs_tag, taglen);
	s->config[FS_TAG_MAX] = 1; /* num_request_queues, le32 */
	vs_virtio_dev *d = vs_virtio_new(ctx, &fs_ops, 0, s);
	if (!d) {
		free(s);
		return vs_fail(err, 0, "allocating virtio-fs");
	}
	s->d = d;
	*state = d;
	if (fs_connect(s, cfg, err) < 0)
		return -1;
	if (vs_vhu_handshake(&s->vhu, err) < 0)
		return vs_err_wrap(err, "virtio-fs: %s", s->what);
	if (!(s->vhu.features & VIRTIO_F_VERSION_1))
		return vs_fail(err, 0, "virtio-fs: %s does not offer VIRTIO_F_VERSION_1", s->what);
	/* Offer the guest only what vessel's transport and checks cover: no
	 * event index or indirect tables (their extra ring fields are not in
	 * vs_vq_check's bounds). */
	d->features = VIRTIO_F_VERSION_1;
	if (vs_virtio_attach(d, err) < 0)
		return -1;
	for (unsigned q = 0; q < FS_NQUEUES; q++) {
		s->kick[q] = d->ioeventfd[q];
		if (s->kick[q] >= 0)
			continue;
		if ((s->kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			return vs_fail_errno(err, "virtio-fs: eventfd");
		s->own_kick[q] = true;
	}
	if (d->irqfd < 0) {
		if ((s->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			return vs_fail_errno(err, "virtio-fs: eventfd");
		if (ctx->add_io(ctx->host, s->call, backend_called, s, err) < 0)
			return -1;
	}
	return ctx->add_io(ctx->host, s->vhu.fd, backend_io, s, err);
}

const vs_device vs_virtio_fs_device = {
	.name = "virtio-fs",
	.wanted = fs_wanted,
	.create = fs_create,
	.destroy = vs_virtio_destroy_state,
};
