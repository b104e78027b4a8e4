/* A hostile virtio driver: bad queue sizes, rings and buffers outside RAM,
 * descriptor loops, oversized chains, a runaway available index, unknown
 * features, writes to read-only config. Each must leave the VMM running
 * with the device refusing (FEATURES_OK withheld, DEVICE_NEEDS_RESET set);
 * after a reset the device must work again. */
#include "virtio.h"

static uint8_t ring[16384] __attribute__((aligned(4096)));
static uint8_t buf[64];
static struct vdev dev;
static uintptr_t rng;

static void fresh(uint16_t num)
{
	virtio_begin(&dev, rng, 0);
	virtio_queue(&dev, 0, num, ring);
	virtio_driver_ok(&dev);
}

static unsigned needs_reset(void)
{
	for (int i = 0; i < 2000000; i++)
		if (vreg(&dev, VREG_STATUS) & VSTAT_NEEDS_RESET)
			return 1;
	return 0;
}

static void report(const char *name, unsigned nr)
{
	struct vqueue *q = &dev.q[0];
	uint16_t used = q->used ? *(volatile uint16_t *)(q->used + 2) : 0;
	print("CASE %s needs_reset=%u used=%u\n", name, nr, used);
}

/* Publish descriptor chain head 0 (already written) and kick. */
static void kick_head0(uint16_t avail_idx)
{
	struct vqueue *q = &dev.q[0];
	q->avail[2] = 0;
	barrier();
	q->avail[1] = avail_idx;
	barrier();
	vreg_set(&dev, VREG_QUEUE_NOTIFY, 0);
}

void guest_main(const uint8_t *bp)
{
	(void)bp;
	rng = virtio_find(4);
	uintptr_t blk = virtio_find(2);
	if (!rng || !blk) {
		print("MISSING_DEVICES\n");
		poweroff();
	}

	/* Queue size not a power of two. */
	virtio_begin(&dev, rng, 0);
	virtio_queue(&dev, 0, 3, ring);
	report("bad_size", needs_reset());

	/* Queue size above the maximum. */
	virtio_begin(&dev, rng, 0);
	virtio_queue(&dev, 0, 1024, ring);
	report("too_big", needs_reset());

	/* Descriptor table in the MMIO hole. */
	virtio_begin(&dev, rng, 0);
	vreg_set(&dev, VREG_QUEUE_SEL, 0);
	vreg_set(&dev, VREG_QUEUE_NUM, 8);
	vreg_set(&dev, VREG_DESC_LO, 0xfffff000);
	vreg_set(&dev, VREG_AVAIL_LO, (uint32_t)(uintptr_t)ring);
	vreg_set(&dev, VREG_USED_LO, (uint32_t)(uintptr_t)ring + 8192);
	vreg_set(&dev, VREG_QUEUE_READY, 1);
	report("ring_outside", needs_reset());

	/* Buffer far outside guest RAM. */
	fresh(8);
	dev.q[0].desc[0] = (struct vdesc){ 0x7fff00000000ULL, 64, VDESC_WRITE, 0 };
	kick_head0(1);
	report("buffer_outside", needs_reset());

	/* Buffer starting in RAM, running past its end. */
	fresh(8);
	dev.q[0].desc[0] = (struct vdesc){ 0x100000, 0xffffffffu, VDESC_WRITE, 0 };
	kick_head0(1);
	report("buffer_overrun", needs_reset());

	/* 0 -> 1 -> 0 ... */
	fresh(8);
	dev.q[0].desc[0] = (struct vdesc){ (uintptr_t)buf, 8, VDESC_WRITE | VDESC_NEXT, 1 };
	dev.q[0].desc[1] = (struct vdesc){ (uintptr_t)buf, 8, VDESC_WRITE | VDESC_NEXT, 0 };
	kick_head0(1);
	report("loop", needs_reset());

	/* A 200-descriptor chain (devices take at most 128). */
	fresh(256);
	for (int i = 0; i < 200; i++)
		dev.q[0].desc[i] =
			(struct vdesc){ (uintptr_t)buf, 1,
					(uint16_t)(VDESC_WRITE | (i < 199 ? VDESC_NEXT : 0)),
					(uint16_t)(i + 1) };
	kick_head0(1);
	report("long_chain", needs_reset());

	/* next index outside the ring. */
	fresh(8);
	dev.q[0].desc[0] = (struct vdesc){ (uintptr_t)buf, 8, VDESC_WRITE | VDESC_NEXT, 300 };
	kick_head0(1);
	report("bad_next", needs_reset());

	/* Available index 1000 entries ahead of an 8-entry ring. */
	fresh(8);
	dev.q[0].desc[0] = (struct vdesc){ (uintptr_t)buf, 8, VDESC_WRITE, 0 };
	kick_head0(1000);
	report("avail_ahead", needs_reset());

	/* Head index outside the ring. */
	fresh(8);
	dev.q[0].avail[2] = 77;
	barrier();
	dev.q[0].avail[1] = 1;
	barrier();
	vreg_set(&dev, VREG_QUEUE_NOTIFY, 0);
	report("bad_head", needs_reset());

	/* Indirect descriptor, never negotiated. */
	fresh(8);
	dev.q[0].desc[0] = (struct vdesc){ (uintptr_t)buf, 16, 4, 0 };
	kick_head0(1);
	report("indirect", needs_reset());

	/* Features the device never offered: FEATURES_OK must not stick. */
	print("CASE bad_features features_ok=%u\n",
	      virtio_begin(&dev, rng, (1ULL << 63) | (1ULL << 32) | (1ULL << 40)) == 0);

	/* Features without VERSION_1 (legacy): refused too. */
	print("CASE no_version1 features_ok=%u\n", virtio_begin(&dev, rng, 1ULL << 63) == 0);

	/* Writes to the block device's read-only config. */
	struct vdev b;
	virtio_begin(&b, blk, 0);
	uint32_t cap = vreg(&b, VREG_CONFIG);
	vreg_set(&b, VREG_CONFIG, 0x12345678);
	*(volatile uint8_t *)(blk + VREG_CONFIG + 1) = 0xee;
	print("CASE config_write unchanged=%u\n", vreg(&b, VREG_CONFIG) == cap);

	/* Odd-sized register access is ignored, not fatal. */
	(void)*(volatile uint8_t *)(rng + VREG_STATUS);
	*(volatile uint16_t *)(rng + VREG_QUEUE_NUM) = 0xffff;

	/* After a reset the device works again. */
	fresh(8);
	struct vbuf v = { buf, sizeof(buf), 1 };
	print("CASE recovered len=%d\n", (int)virtio_xfer(&dev, 0, &v, 1));
	print("DONE\n");
	poweroff();
}
