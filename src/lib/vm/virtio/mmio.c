/* virtio-mmio transport, register layout of virtio 1.x section 4.2.2. The
 * driver is untrusted: bad sizes, addresses and feature sets are refused
 * (FEATURES_OK withheld, DEVICE_NEEDS_RESET set), never acted on. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/log.h"
#include "vm/virtio/virtio.h"

#define REG_MAGIC	     0x000
#define REG_VERSION	     0x004
#define REG_DEVICE_ID	     0x008
#define REG_VENDOR_ID	     0x00c
#define REG_DEVICE_FEATURES  0x010
#define REG_DEVICE_FEAT_SEL  0x014
#define REG_DRIVER_FEATURES  0x020
#define REG_DRIVER_FEAT_SEL  0x024
#define REG_QUEUE_SEL	     0x030
#define REG_QUEUE_NUM_MAX    0x034
#define REG_QUEUE_NUM	     0x038
#define REG_QUEUE_READY	     0x044
#define REG_QUEUE_NOTIFY     0x050
#define REG_INTERRUPT_STATUS 0x060
#define REG_INTERRUPT_ACK    0x064
#define REG_STATUS	     0x070
#define REG_QUEUE_DESC_LOW   0x080
#define REG_QUEUE_DESC_HIGH  0x084
#define REG_QUEUE_AVAIL_LOW  0x090
#define REG_QUEUE_AVAIL_HIGH 0x094
#define REG_QUEUE_USED_LOW   0x0a0
#define REG_QUEUE_USED_HIGH  0x0a4
#define REG_CONFIG_GEN	     0x0fc
#define REG_CONFIG	     0x100

#define VENDOR_VESSEL 0x4c535356 /* "VSSL" */

/* The virtio GSIs are declared edge-triggered (x86/acpi.c), so a pulse is
 * the whole interrupt: KVM_IRQ_LINE 1 then 0, or one write to the irqfd
 * (an irqfd without a resamplefd injects exactly such a pulse). That is
 * also why a vhost-user backend can be given the irqfd itself as its call
 * eventfd: its writes are the same pulses, with no resample to wire up. */
static void interrupt(vs_virtio_dev *d, uint32_t why)
{
	d->isr |= why;
	if (!d->ctx)
		return; /* unit tests: no KVM */
	if (d->irqfd >= 0) {
		uint64_t one = 1;
		if (write(d->irqfd, &one, sizeof(one)) == sizeof(one))
			return;
	}
	d->ctx->set_irq(d->ctx->host, d->gsi, 1);
	d->ctx->set_irq(d->ctx->host, d->gsi, 0);
}

void vs_virtio_interrupt(vs_virtio_dev *d, uint32_t why)
{
	interrupt(d, why);
}

bool vs_virtio_live(const vs_virtio_dev *d)
{
	return (d->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(d->status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

void vs_virtio_notify_used(vs_virtio_dev *d, unsigned queue)
{
	if (vs_vq_wants_interrupt(d->mem, &d->vq[queue]))
		interrupt(d, VIRTIO_INT_VRING);
}

void vs_virtio_fail(vs_virtio_dev *d, const char *fmt, ...)
{
	if (!d->warned) {
		char msg[256];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		vs_warn("virtio-%s: %s; device needs reset", d->ops->name, msg);
		d->warned = true; /* one line per device, not a flood */
	}
	if (d->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (d->ops->needs_reset)
		d->ops->needs_reset(d);
	if (d->status & VIRTIO_STATUS_DRIVER_OK)
		interrupt(d, VIRTIO_INT_CONFIG);
}

static void reset(vs_virtio_dev *d)
{
	d->status = d->isr = d->queue_sel = d->dev_feat_sel = d->drv_feat_sel = 0;
	d->driver_features = 0;
	d->warned = false;
	for (unsigned i = 0; i < VS_VIRTIO_MAX_QUEUES; i++)
		vs_vq_reset(&d->vq[i]);
	if (d->ops->reset)
		d->ops->reset(d);
}

static vs_vq *cur_queue(vs_virtio_dev *d)
{
	return d->queue_sel < d->ops->nqueues ? &d->vq[d->queue_sel] : NULL;
}

void vs_virtio_mmio_read(void *dev, uint64_t off, void *data, unsigned len)
{
	vs_virtio_dev *d = dev;
	memset(data, 0, len);
	pthread_mutex_lock(&d->lock);
	if (off >= REG_CONFIG) {
		if (d->ops->config_read)
			d->ops->config_read(d, off - REG_CONFIG, data, len);
		goto out;
	}
	if (len != 4 || (off & 3))
		goto out; /* registers are 32-bit only */
	vs_vq *q = cur_queue(d);
	uint32_t v = 0;
	switch (off) {
	case REG_MAGIC:
		v = 0x74726976; /* "virt" */
		break;
	case REG_VERSION:
		v = 2;
		break;
	case REG_DEVICE_ID:
		v = d->ops->device_id;
		break;
	case REG_VENDOR_ID:
		v = VENDOR_VESSEL;
		break;
	case REG_DEVICE_FEATURES:
		v = d->dev_feat_sel == 0   ? (uint32_t)d->features
		    : d->dev_feat_sel == 1 ? (uint32_t)(d->features >> 32)
					   : 0;
		break;
	case REG_QUEUE_NUM_MAX:
		v = q ? VS_VQ_MAX_SIZE : 0;
		break;
	case REG_QUEUE_READY:
		v = q && q->ready;
		break;
	case REG_INTERRUPT_STATUS:
		v = d->isr;
		/* A vhost-user backend signals used buffers through its call
		 * eventfd and cannot set this register. Linux's virtio-mmio
		 * handler returns IRQ_NONE for a status of 0, and after enough
		 * of those disables the line, so while the backend runs the
		 * queues every read says "used buffer" (Firecracker does the
		 * same); the driver then checks its rings, which is harmless
		 * when nothing is new. A pending config interrupt shows too. */
		if (d->ops->vhost && (d->status & VIRTIO_STATUS_DRIVER_OK))
			v |= VIRTIO_INT_VRING;
		break;
	case REG_STATUS:
		v = d->status;
		break;
	case REG_CONFIG_GEN:
		v = d->config_gen;
		break;
	}
	memcpy(data, &v, 4);
out:
	pthread_mutex_unlock(&d->lock);
}

static void set_status(vs_virtio_dev *d, uint32_t v)
{
	if (v == 0) {
		reset(d);
		return;
	}
	/* FEATURES_OK only sticks if we can honour what the driver chose. */
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(d->status & VIRTIO_STATUS_FEATURES_OK)) {
		if ((d->driver_features & ~d->features) ||
		    !(d->driver_features & VIRTIO_F_VERSION_1))
			v &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
	}
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_FEATURES_OK))
		v &= ~(uint32_t)VIRTIO_STATUS_DRIVER_OK;
	/* The driver may add bits, never clear them (only reset does). */
	bool was_ok = d->status & VIRTIO_STATUS_DRIVER_OK;
	d->status |= v & ~(uint32_t)VIRTIO_STATUS_NEEDS_RESET;
	if (!was_ok && (d->status & VIRTIO_STATUS_DRIVER_OK) && d->ops->driver_ok)
		d->ops->driver_ok(d);
}

static void set_addr(vs_virtio_dev *d, vs_vq *q, uint64_t *field, bool high, uint32_t v)
{
	if (!q || q->ready) {
		vs_virtio_fail(d, "queue address written while the queue is live");
		return;
	}
	*field = high ? ((*field & 0xffffffffULL) | ((uint64_t)v << 32))
		      : ((*field & ~0xffffffffULL) | v);
}

void vs_virtio_mmio_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	vs_virtio_dev *d = dev;
	pthread_mutex_lock(&d->lock);
	if (off >= REG_CONFIG) {
		/* Our config spaces are read-only: drop the write, say so. */
		vs_debug("virtio-%s: ignoring a write to read-only config at 0x%llx", d->ops->name,
			 (unsigned long long)(off - REG_CONFIG));
		goto out;
	}
	if (len != 4 || (off & 3))
		goto out;
	uint32_t v;
	memcpy(&v, data, 4);
	vs_vq *q = cur_queue(d);
	switch (off) {
	case REG_DEVICE_FEAT_SEL:
		d->dev_feat_sel = v;
		break;
	case REG_DRIVER_FEAT_SEL:
		d->drv_feat_sel = v;
		break;
	case REG_DRIVER_FEATURES:
		if (d->status & VIRTIO_STATUS_FEATURES_OK)
			break;
		if (d->drv_feat_sel == 0)
			d->driver_features = (d->driver_features & ~0xffffffffULL) | v;
		else if (d->drv_feat_sel == 1)
			d->driver_features =
				(d->driver_features & 0xffffffffULL) | ((uint64_t)v << 32);
		break;
	case REG_QUEUE_SEL:
		d->queue_sel = v;
		break;
	case REG_QUEUE_NUM:
		if (q && !q->ready)
			q->num = v > 0xffff ? 0 : (uint16_t)v;
		break;
	case REG_QUEUE_READY:
		if (!q)
			break;
		if (!v) {
			bool was = q->ready;
			q->ready = false;
			if (was && d->ops->queue_ready)
				d->ops->queue_ready(d, d->queue_sel, false);
			break;
		}
		if (q->ready)
			break;
		const char *bad = vs_vq_check(d->mem, q, VS_VQ_MAX_SIZE);
		if (bad) {
			vs_virtio_fail(d, "queue %u: %s", d->queue_sel, bad);
			break;
		}
		q->ready = true;
		if (d->ops->queue_ready)
			d->ops->queue_ready(d, d->queue_sel, true);
		break;
	case REG_QUEUE_NOTIFY:
		if (v < d->ops->nqueues && d->vq[v].ready && vs_virtio_live(d))
			d->ops->notify(d, v);
		break;
	case REG_INTERRUPT_ACK:
		d->isr &= ~v;
		break;
	case REG_STATUS:
		set_status(d, v);
		break;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
		set_addr(d, q, q ? &q->desc : NULL, off == REG_QUEUE_DESC_HIGH, v);
		break;
	case REG_QUEUE_AVAIL_LOW:
	case REG_QUEUE_AVAIL_HIGH:
		set_addr(d, q, q ? &q->avail : NULL, off == REG_QUEUE_AVAIL_HIGH, v);
		break;
	case REG_QUEUE_USED_LOW:
	case REG_QUEUE_USED_HIGH:
		set_addr(d, q, q ? &q->used : NULL, off == REG_QUEUE_USED_HIGH, v);
		break;
	}
out:
	pthread_mutex_unlock(&d->lock);
}

static const vs_bus_ops mmio_ops = { vs_virtio_mmio_read, vs_virtio_mmio_write };

vs_virtio_dev *vs_virtio_new(vs_dev_ctx *ctx, const vs_virtio_ops *ops, uint64_t features,
			     void *priv)
{
	vs_virtio_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->ctx = ctx;
	d->mem = ctx ? ctx->mem : NULL;
	d->ops = ops;
	d->priv = priv;
	d->features = features | VIRTIO_F_VERSION_1;
	d->irqfd = -1;
	for (unsigned i = 0; i < VS_VIRTIO_MAX_QUEUES; i++)
		d->ioeventfd[i] = -1;
	pthread_mutex_init(&d->lock, NULL);
	return d;
}

/* I/O thread: the guest kicked a queue through its ioeventfd. */
static int kicked(void *arg, int fd)
{
	vs_virtio_dev *d = arg;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	pthread_mutex_lock(&d->lock);
	for (unsigned q = 0; q < d->ops->nqueues; q++)
		if (d->ioeventfd[q] == fd && d->vq[q].ready && vs_virtio_live(d))
			d->ops->notify(d, q);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

int vs_virtio_attach(vs_virtio_dev *d, vs_err *err)
{
	vs_dev_ctx *ctx = d->ctx;
	const vs_dev_window *w = vs_dev_next_window(ctx);
	if (!w)
		return vs_fail(err, 0, "too many virtio devices");
	d->base = w->base;
	d->gsi = w->gsi;
	if (vs_bus_register(ctx->mmio, d->base, VS_VIRTIO_MMIO_SIZE, &mmio_ops, d, d->ops->name,
			    err) < 0)
		return -1;
	if (ctx->has_irqfd) {
		d->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		struct kvm_irqfd irqfd = { .fd = (uint32_t)d->irqfd, .gsi = d->gsi };
		if (d->irqfd < 0 || ioctl(ctx->vm_fd, KVM_IRQFD, &irqfd) < 0) {
			vs_debug("virtio-%s: no irqfd (%s), using KVM_IRQ_LINE", d->ops->name,
				 strerror(errno));
			if (d->irqfd >= 0)
				close(d->irqfd);
			d->irqfd = -1;
		}
	}
	for (unsigned q = 0; ctx->has_ioeventfd && q < d->ops->nqueues; q++) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0)
			return vs_fail_errno(err, "eventfd");
		struct kvm_ioeventfd io = {
			.datamatch = q,
			.addr = d->base + REG_QUEUE_NOTIFY,
			.len = 4,
			.fd = fd,
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};
		if (ioctl(ctx->vm_fd, KVM_IOEVENTFD, &io) < 0) {
			/* Kicks then reach us as MMIO exits; same result. */
			vs_debug("virtio-%s: no ioeventfd: %s", d->ops->name, strerror(errno));
			close(fd);
			continue;
		}
		d->ioeventfd[q] = fd;
		if (d->ops->vhost)
			continue; /* the backend reads it */
		if (ctx->add_io(ctx->host, fd, kicked, d, err) < 0)
			return -1;
	}
	return 0;
}

void vs_virtio_destroy(vs_virtio_dev *d)
{
	if (!d)
		return;
	if (d->ops->destroy)
		d->ops->destroy(d);
	for (unsigned i = 0; i < VS_VIRTIO_MAX_QUEUES; i++)
		if (d->ioeventfd[i] >= 0)
			close(d->ioeventfd[i]);
	if (d->irqfd >= 0)
		close(d->irqfd);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

void vs_virtio_destroy_state(void *state)
{
	vs_virtio_destroy(state);
}
