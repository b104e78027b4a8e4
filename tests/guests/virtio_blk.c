/* virtio-blk round trip: read sector 0 (written by the host), write a
 * pattern to sector 1, flush, read it back, get-id, an out-of-range read and
 * an unknown request type. With "ro" on the command line the write must fail
 * with VIRTIO_BLK_S_IOERR. */
#include "virtio.h"

struct req {
	uint32_t type, reserved;
	uint64_t sector;
};

static uint8_t ring[16384] __attribute__((aligned(4096)));
static uint8_t data[512], pattern[512];
static struct req hdr;
static volatile uint8_t status;
static struct vdev dev;

static long request(uint32_t type, uint64_t sector, void *buf, uint32_t len, int dev_writes)
{
	hdr = (struct req){ type, 0, sector };
	status = 0xff;
	struct vbuf b[3] = { { &hdr, sizeof(hdr), 0 },
			     { buf, len, dev_writes },
			     { (void *)&status, 1, 1 } };
	if (!len)
		b[1] = b[2];
	long used = virtio_xfer(&dev, 0, b, len ? 3 : 2);
	return used < 0 ? -1 : status;
}

void guest_main(const uint8_t *bp)
{
	const char *cmdline = (const char *)(uintptr_t) * (const uint32_t *)(bp + 0x228);
	uintptr_t base = virtio_find(2);
	if (!base) {
		print("NO_BLK\n");
		poweroff();
	}
	dev.base = base;
	vreg_set(&dev, VREG_DEV_FEAT_SEL, 0);
	uint32_t feat = vreg(&dev, VREG_DEV_FEAT);
	print("FEATURES ro=%u flush=%u\n", (feat >> 5) & 1, (feat >> 9) & 1);
	if (virtio_begin(&dev, base, (1u << 9) | (1u << 5) | (1u << 2)) < 0) {
		print("FEATURES_REFUSED\n");
		poweroff();
	}
	virtio_queue(&dev, 0, 16, ring);
	virtio_driver_ok(&dev);
	uint64_t cap = vreg(&dev, VREG_CONFIG) | ((uint64_t)vreg(&dev, VREG_CONFIG + 4) << 32);
	print("CAPACITY %u\n", (uint32_t)cap);

	long st = request(0, 0, data, 512, 1); /* before hashing: argument order is unspecified */
	print("READ0 status=%d fnv=%x\n", (int)st, fnv1a(data, 512));
	for (int i = 0; i < 512; i++)
		pattern[i] = (uint8_t)(i * 7 + 3);
	print("WRITE status=%d\n", (int)request(1, 1, pattern, 512, 0));
	print("FLUSH status=%d\n", (int)request(4, 0, 0, 0, 0));
	memset(data, 0, sizeof(data));
	st = request(0, 1, data, 512, 1);
	print("READ1 status=%d fnv=%x pattern=%x\n", (int)st, fnv1a(data, 512),
	      fnv1a(pattern, 512));
	char id[21];
	memset(id, 0, sizeof(id));
	st = request(8, 0, id, 20, 1);
	print("ID status=%d id=%s\n", (int)st, id);
	print("OOR status=%d\n", (int)request(0, cap, data, 512, 1));
	print("UNSUPP status=%d\n", (int)request(99, 0, data, 512, 1));
	print("DEVSTATUS %x\n", vreg(&dev, VREG_STATUS));
	print("DONE %s\n", cmdline_arg(cmdline, "ro") ? "ro" : "rw");
	poweroff();
}
