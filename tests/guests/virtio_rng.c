/* virtio-rng: two reads return full, different, non-zero buffers. */
#include "virtio.h"

static uint8_t ring[16384] __attribute__((aligned(4096)));
static uint8_t a[64], b[64];
static struct vdev dev;

static int all_zero(const uint8_t *p, int n)
{
	for (int i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

void guest_main(const uint8_t *bp)
{
	(void)bp;
	uintptr_t base = virtio_find(4);
	if (!base) {
		print("NO_RNG\n");
		poweroff();
	}
	virtio_begin(&dev, base, 0);
	virtio_queue(&dev, 0, 8, ring);
	virtio_driver_ok(&dev);
	struct vbuf ba = { a, sizeof(a), 1 }, bb = { b, sizeof(b), 1 };
	long la = virtio_xfer(&dev, 0, &ba, 1), lb = virtio_xfer(&dev, 0, &bb, 1);
	print("RNG len=%d,%d differ=%u zero=%u\n", (int)la, (int)lb, memcmp(a, b, 64) != 0,
	      all_zero(a, 64) || all_zero(b, 64));
	print("RNG bytes ");
	for (int i = 0; i < 16; i++)
		print("%2x", a[i]);
	print("\nDONE\n");
	poweroff();
}
