/* virtio-console: transmit a line to the host console, then receive one. */
#include "virtio.h"

static uint8_t rxring[16384] __attribute__((aligned(4096)));
static uint8_t txring[16384] __attribute__((aligned(4096)));
static char rx[64];
static struct vdev dev;

void guest_main(const uint8_t *bp)
{
	(void)bp;
	uintptr_t base = virtio_find(3);
	if (!base) {
		print("NO_CONSOLE\n");
		poweroff();
	}
	virtio_begin(&dev, base, 0);
	virtio_queue(&dev, 0, 8, rxring);
	virtio_queue(&dev, 1, 8, txring);
	virtio_driver_ok(&dev);
	static const char msg[] = "HVC hello from virtio-console\n";
	struct vbuf t = { (void *)msg, sizeof(msg) - 1, 0 };
	print("TX used=%d\n", (int)virtio_xfer(&dev, 1, &t, 1));
	struct vbuf r = { rx, sizeof(rx) - 1, 1 };
	virtio_post(&dev, 0, &r, 1);
	print("RXREADY\n");
	long n = virtio_wait(&dev, 0, 200000000UL);
	if (n > 0 && n < (long)sizeof(rx))
		rx[n] = 0;
	for (long i = 0; i < n; i++)
		if (rx[i] == '\n')
			rx[i] = 0;
	print("RX len=%d data=%s\n", (int)n, rx);
	poweroff();
}
