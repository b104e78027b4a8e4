#include "virtio.h"

uintptr_t virtio_find(uint32_t device_id)
{
	for (int i = 0; i < VIRTIO_MMIO_SLOTS; i++) {
		uintptr_t b = VIRTIO_MMIO_BASE + 0x1000UL * i;
		if (mmio_read32(b + VREG_MAGIC) == 0x74726976 &&
		    mmio_read32(b + VREG_DEVICE_ID) == device_id)
			return b;
	}
	return 0;
}

int virtio_begin(struct vdev *d, uintptr_t base, uint64_t want)
{
	memset(d, 0, sizeof(*d));
	d->base = base;
	vreg_set(d, VREG_STATUS, 0);
	vreg_set(d, VREG_STATUS, VSTAT_ACK);
	vreg_set(d, VREG_STATUS, VSTAT_ACK | VSTAT_DRIVER);
	vreg_set(d, VREG_DEV_FEAT_SEL, 0);
	uint64_t offered = vreg(d, VREG_DEV_FEAT);
	vreg_set(d, VREG_DEV_FEAT_SEL, 1);
	offered |= (uint64_t)vreg(d, VREG_DEV_FEAT) << 32;
	uint64_t f = (want | (1ULL << 32)) & offered;
	if (want & (1ULL << 63))
		f = want; /* hostile tests: ask for what is not offered */
	vreg_set(d, VREG_DRV_FEAT_SEL, 0);
	vreg_set(d, VREG_DRV_FEAT, (uint32_t)f);
	vreg_set(d, VREG_DRV_FEAT_SEL, 1);
	vreg_set(d, VREG_DRV_FEAT, (uint32_t)(f >> 32));
	vreg_set(d, VREG_STATUS, VSTAT_ACK | VSTAT_DRIVER | VSTAT_FEATURES_OK);
	return (vreg(d, VREG_STATUS) & VSTAT_FEATURES_OK) ? 0 : -1;
}

void virtio_queue(struct vdev *d, unsigned q, uint16_t num, uint8_t *ring)
{
	struct vqueue *vq = &d->q[q];
	memset(ring, 0, 16384);
	vq->num = num;
	vq->desc = (struct vdesc *)ring;
	vq->avail = (volatile uint16_t *)(ring + 16 * num);
	vq->used = ring + 8192;
	vq->avail_idx = vq->used_seen = 0;
	vreg_set(d, VREG_QUEUE_SEL, q);
	vreg_set(d, VREG_QUEUE_NUM, num);
	vreg_set(d, VREG_DESC_LO, (uint32_t)(uintptr_t)vq->desc);
	vreg_set(d, VREG_DESC_HI, 0);
	vreg_set(d, VREG_AVAIL_LO, (uint32_t)(uintptr_t)vq->avail);
	vreg_set(d, VREG_AVAIL_HI, 0);
	vreg_set(d, VREG_USED_LO, (uint32_t)(uintptr_t)vq->used);
	vreg_set(d, VREG_USED_HI, 0);
	vreg_set(d, VREG_QUEUE_READY, 1);
}

void virtio_driver_ok(struct vdev *d)
{
	vreg_set(d, VREG_STATUS, vreg(d, VREG_STATUS) | VSTAT_DRIVER_OK);
}

void virtio_post(struct vdev *d, unsigned q, const struct vbuf *bufs, int n)
{
	struct vqueue *vq = &d->q[q];
	/* Chains always start at descriptor (2 * avail_idx) % num so that a
	 * posted receive buffer and a later chain do not share descriptors. */
	uint16_t first = (uint16_t)((vq->avail_idx * 4u) % vq->num);
	for (int i = 0; i < n; i++) {
		uint16_t k = (uint16_t)((first + i) % vq->num);
		vq->desc[k].addr = (uint64_t)(uintptr_t)bufs[i].addr;
		vq->desc[k].len = bufs[i].len;
		vq->desc[k].flags = (uint16_t)((bufs[i].write ? VDESC_WRITE : 0) |
					       (i + 1 < n ? VDESC_NEXT : 0));
		vq->desc[k].next = (uint16_t)((k + 1) % vq->num);
	}
	vq->avail[2 + vq->avail_idx % vq->num] = first;
	barrier();
	vq->avail[1] = ++vq->avail_idx;
	barrier();
	vreg_set(d, VREG_QUEUE_NOTIFY, q);
}

long virtio_wait(struct vdev *d, unsigned q, unsigned long spins)
{
	struct vqueue *vq = &d->q[q];
	for (unsigned long i = 0; i < spins; i++) {
		barrier();
		uint16_t idx = *(volatile uint16_t *)(vq->used + 2);
		if (idx != vq->used_seen) {
			volatile uint8_t *e = vq->used + 4 + 8 * (vq->used_seen % vq->num);
			vq->used_seen++;
			return *(volatile uint32_t *)(e + 4);
		}
		if (vreg(d, VREG_STATUS) & VSTAT_NEEDS_RESET)
			return -1;
	}
	return -1;
}

long virtio_xfer(struct vdev *d, unsigned q, const struct vbuf *bufs, int n)
{
	virtio_post(d, q, bufs, n);
	return virtio_wait(d, q, 2000000);
}
