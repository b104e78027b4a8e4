/* A minimal polling virtio-mmio (version 2) driver for test guests. */
#ifndef VESSEL_GUEST_VIRTIO_H
#define VESSEL_GUEST_VIRTIO_H

#include "guest.h"

#define VIRTIO_MMIO_BASE  0xd0000000UL
#define VIRTIO_MMIO_SLOTS 5

#define VREG_MAGIC	   0x000
#define VREG_DEVICE_ID	   0x008
#define VREG_DEV_FEAT	   0x010
#define VREG_DEV_FEAT_SEL  0x014
#define VREG_DRV_FEAT	   0x020
#define VREG_DRV_FEAT_SEL  0x024
#define VREG_QUEUE_SEL	   0x030
#define VREG_QUEUE_NUM_MAX 0x034
#define VREG_QUEUE_NUM	   0x038
#define VREG_QUEUE_READY   0x044
#define VREG_QUEUE_NOTIFY  0x050
#define VREG_INT_STATUS	   0x060
#define VREG_STATUS	   0x070
#define VREG_DESC_LO	   0x080
#define VREG_DESC_HI	   0x084
#define VREG_AVAIL_LO	   0x090
#define VREG_AVAIL_HI	   0x094
#define VREG_USED_LO	   0x0a0
#define VREG_USED_HI	   0x0a4
#define VREG_CONFIG	   0x100

#define VSTAT_ACK	  1
#define VSTAT_DRIVER	  2
#define VSTAT_DRIVER_OK	  4
#define VSTAT_FEATURES_OK 8
#define VSTAT_NEEDS_RESET 0x40

#define VDESC_NEXT  1
#define VDESC_WRITE 2

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct vqueue {
	uint16_t num;
	struct vdesc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[] */
	volatile uint8_t *used;	  /* flags, idx, {id, len}[] */
	uint16_t avail_idx, used_seen;
};

struct vdev {
	uintptr_t base;
	struct vqueue q[3];
};

struct vbuf {
	void *addr;
	uint32_t len;
	int write; /* device writes into it */
};

/* Base of the first device with this id, 0 if none. */
uintptr_t virtio_find(uint32_t device_id);
static inline uint32_t vreg(struct vdev *d, uint32_t off)
{
	return mmio_read32(d->base + off);
}
static inline void vreg_set(struct vdev *d, uint32_t off, uint32_t v)
{
	mmio_write32(d->base + off, v);
}
/* Reset, negotiate (VERSION_1 | want, only bits offered); -1 if the device
 * refused FEATURES_OK. */
int virtio_begin(struct vdev *d, uintptr_t base, uint64_t want);
/* Lay queue q out in ring (16 KiB, 4 KiB aligned) and enable it. */
void virtio_queue(struct vdev *d, unsigned q, uint16_t num, uint8_t *ring);
void virtio_driver_ok(struct vdev *d);
/* Post one chain and poll for its completion: used length, or -1 when the
 * device did not answer (or asked for a reset). */
long virtio_xfer(struct vdev *d, unsigned q, const struct vbuf *bufs, int n);
/* Post without waiting / wait for the next used element. */
void virtio_post(struct vdev *d, unsigned q, const struct vbuf *bufs, int n);
long virtio_wait(struct vdev *d, unsigned q, unsigned long spins);

#endif
