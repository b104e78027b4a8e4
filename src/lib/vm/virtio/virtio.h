/* virtio-mmio devices (virtio 1.x, transport version 2). */
#ifndef VESSEL_VM_VIRTIO_H
#define VESSEL_VM_VIRTIO_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "vm/device.h"
#include "vm/virtio/queue.h"

#define VS_VIRTIO_MAX_QUEUES 3 /* vsock: rx, tx, event */

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER	  2
#define VIRTIO_STATUS_DRIVER_OK	  4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED	  0x80
#define VIRTIO_F_VERSION_1	  (1ULL << 32)
#define VIRTIO_INT_VRING	  1
#define VIRTIO_INT_CONFIG	  2

typedef struct vs_virtio_dev vs_virtio_dev;

typedef struct vs_virtio_ops {
	const char *name;
	uint32_t device_id;
	unsigned nqueues;
	/* Called with the device lock held. */
	void (*notify)(vs_virtio_dev *d, unsigned queue);
	void (*config_read)(vs_virtio_dev *d, uint64_t off, void *data, unsigned len);
	void (*reset)(vs_virtio_dev *d);
	void (*destroy)(vs_virtio_dev *d);
	/* Called (lock held) when the driver sets DRIVER_OK. */
	void (*driver_ok)(vs_virtio_dev *d);
	/* Called (lock held) when the driver enables a queue (checked) or
	 * disables a ready one. */
	void (*queue_ready)(vs_virtio_dev *d, unsigned queue, bool ready);
	/* Called (lock held) when the device enters DEVICE_NEEDS_RESET, so a
	 * device whose queues run elsewhere can stop them too. */
	void (*needs_reset)(vs_virtio_dev *d);
	/* The queues are served by another process (vhost-user): ioeventfds
	 * are created but not watched here (the device hands them to the
	 * backend), and InterruptStatus reads "used buffer" while the device
	 * is running, since the backend cannot set it (see mmio.c). */
	bool vhost;
} vs_virtio_ops;

struct vs_virtio_dev {
	vs_dev_ctx *ctx; /* NULL in unit tests (no KVM) */
	const vs_guest_mem *mem;
	const vs_virtio_ops *ops;
	void *priv;
	uint64_t features; /* offered, VERSION_1 included */
	pthread_mutex_t lock;
	uint64_t base;
	unsigned gsi;
	uint32_t status, isr, queue_sel, dev_feat_sel, drv_feat_sel, config_gen;
	uint64_t driver_features;
	vs_vq vq[VS_VIRTIO_MAX_QUEUES];
	int ioeventfd[VS_VIRTIO_MAX_QUEUES];
	int irqfd;
	bool warned;
};

/* Allocate a device (ctx NULL: unit tests, mem then set by the caller);
 * attach gives it an MMIO window, GSI, ioeventfds and irqfd, and lists the
 * window for the DSDT. The caller frees the device with vs_virtio_destroy
 * also when attach fails. */
vs_virtio_dev *vs_virtio_new(vs_dev_ctx *ctx, const vs_virtio_ops *ops, uint64_t features,
			     void *priv);
int vs_virtio_attach(vs_virtio_dev *d, vs_err *err);
void vs_virtio_destroy(vs_virtio_dev *d);
/* vs_device.destroy for a virtio device's state (a vs_virtio_dev). */
void vs_virtio_destroy_state(void *state);

/* With the lock held: raise a used-buffer interrupt if the queue wants one. */
void vs_virtio_notify_used(vs_virtio_dev *d, unsigned queue);
/* With the lock held: set InterruptStatus bits and pulse the line. */
void vs_virtio_interrupt(vs_virtio_dev *d, uint32_t why);
/* With the lock held: the driver broke the protocol. Set DEVICE_NEEDS_RESET,
 * tell the driver (config interrupt), stop using the device until reset. */
void vs_virtio_fail(vs_virtio_dev *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool vs_virtio_live(const vs_virtio_dev *d);

/* Transport register access, exposed for unit tests. */
void vs_virtio_mmio_read(void *dev, uint64_t off, void *data, unsigned len);
void vs_virtio_mmio_write(void *dev, uint64_t off, const void *data, unsigned len);

/* Device-specific state for blk, exposed so unit tests can drive requests
 * without KVM. */
vs_virtio_dev *vs_virtio_blk_new(vs_dev_ctx *ctx, const vs_guest_mem *mem, int fd, bool readonly,
				 uint64_t size, vs_err *err);
vs_virtio_dev *vs_virtio_rng_new(vs_dev_ctx *ctx, const vs_guest_mem *mem);

#endif
