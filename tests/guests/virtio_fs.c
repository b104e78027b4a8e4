/* virtio-fs: speak FUSE over the request queue to the real virtiofsd.
 * INIT, LOOKUP + GETATTR + OPEN + READ + RELEASE of hello.txt (which the
 * host wrote; its bytes are printed for the test to check), CREATE + WRITE
 * + RELEASE of from-guest.txt (the host checks it), OPENDIR + READDIR.
 * Command line: "ro" expects the share to be read-only (CREATE and an open
 * for writing must fail); "loop" repeats GETATTR forever (the test kills
 * virtiofsd meanwhile); "hostile" breaks the transport first, and at the
 * end sends requests with lying lengths and a descriptor outside RAM. */
#include <linux/fuse.h>

#include "virtio.h"

#define Q_REQUEST 1
#define O_WRONLY  01
#define O_CREAT	  0100
#define O_TRUNC	  01000

static uint8_t hiring[16384] __attribute__((aligned(4096)));
static uint8_t reqring[16384] __attribute__((aligned(4096)));
static uint8_t in[8192] __attribute__((aligned(8)));
static uint8_t out[8192] __attribute__((aligned(8)));
static struct vdev dev;
static uint64_t unique;

static const char write_data[] = "written by the vessel virtio-fs guest\n";

/* One FUSE request: header + args (+ tail) readable, reply writable.
 * Returns the reply's error (0 or -errno), or 1 if the device gave none. */
static int fuse(uint32_t op, uint64_t node, const void *arg, uint32_t alen, const void *tail,
		uint32_t tlen, uint32_t outlen)
{
	struct fuse_in_header *h = (struct fuse_in_header *)in;
	memset(h, 0, sizeof(*h));
	h->len = (uint32_t)sizeof(*h) + alen + tlen;
	h->opcode = op;
	h->unique = ++unique;
	h->nodeid = node;
	memcpy(in + sizeof(*h), arg, alen);
	if (tlen)
		memcpy(in + sizeof(*h) + alen, tail, tlen);
	memset(out, 0, sizeof(struct fuse_out_header) + outlen);
	struct vbuf b[2] = {
		{ in, h->len, 0 },
		{ out, (uint32_t)sizeof(struct fuse_out_header) + outlen, 1 },
	};
	long n = virtio_xfer(&dev, Q_REQUEST, b, 2);
	struct fuse_out_header *o = (struct fuse_out_header *)out;
	if (n < (long)sizeof(*o) || o->unique != unique)
		return 1;
	return o->error;
}

static void *reply(void)
{
	return out + sizeof(struct fuse_out_header);
}

static uint64_t lookup(const char *name, struct fuse_attr *attr)
{
	int e = fuse(FUSE_LOOKUP, FUSE_ROOT_ID, name, (uint32_t)strlen(name) + 1, NULL, 0,
		     sizeof(struct fuse_entry_out));
	struct fuse_entry_out *eo = reply();
	print("LOOKUP %s err=%d\n", name, e);
	if (e)
		return 0;
	*attr = eo->attr;
	return eo->nodeid;
}

static int open_file(uint64_t node, uint32_t flags, uint64_t *fh)
{
	struct fuse_open_in oi = { .flags = flags };
	int e = fuse(FUSE_OPEN, node, &oi, sizeof(oi), NULL, 0, sizeof(struct fuse_open_out));
	*fh = ((struct fuse_open_out *)reply())->fh;
	return e;
}

static void release(uint32_t op, uint64_t node, uint64_t fh)
{
	struct fuse_release_in ri = { .fh = fh };
	int e = fuse(op, node, &ri, sizeof(ri), NULL, 0, 0);
	print("RELEASE err=%d\n", e);
}

static void read_hello(void)
{
	struct fuse_attr attr;
	uint64_t node = lookup("hello.txt", &attr);
	if (!node)
		return;
	struct fuse_getattr_in gi = { 0 };
	int e = fuse(FUSE_GETATTR, node, &gi, sizeof(gi), NULL, 0, sizeof(struct fuse_attr_out));
	struct fuse_attr_out *ao = reply();
	print("GETATTR err=%d size=%u mode=%x\n", e, (uint32_t)ao->attr.size, ao->attr.mode);
	uint64_t fh;
	e = open_file(node, 0, &fh);
	print("OPEN err=%d\n", e);
	if (e)
		return;
	struct fuse_read_in ri = { .fh = fh, .offset = 0, .size = 4096 };
	e = fuse(FUSE_READ, node, &ri, sizeof(ri), NULL, 0, 4096);
	uint32_t len = ((struct fuse_out_header *)out)->len - sizeof(struct fuse_out_header);
	if (e)
		len = 0;
	((char *)reply())[len] = 0;
	print("READ err=%d len=%u fnv=%x\n", e, len, fnv1a(reply(), len));
	print("DATA %s", (const char *)reply());
	release(FUSE_RELEASE, node, fh);
}

static void write_file(void)
{
	const char name[] = "from-guest.txt";
	struct fuse_create_in ci = { .flags = O_WRONLY | O_CREAT | O_TRUNC, .mode = 0100644 };
	int e = fuse(FUSE_CREATE, FUSE_ROOT_ID, &ci, sizeof(ci), name, sizeof(name),
		     sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out));
	print("CREATE err=%d\n", e);
	if (e)
		return;
	struct fuse_entry_out *eo = reply();
	struct fuse_open_out *oo = (struct fuse_open_out *)(eo + 1);
	uint64_t node = eo->nodeid, fh = oo->fh;
	struct fuse_write_in wi = { .fh = fh, .offset = 0, .size = sizeof(write_data) - 1 };
	e = fuse(FUSE_WRITE, node, &wi, sizeof(wi), write_data, wi.size,
		 sizeof(struct fuse_write_out));
	print("WRITE err=%d size=%u fnv=%x\n", e, ((struct fuse_write_out *)reply())->size,
	      fnv1a(write_data, wi.size));
	release(FUSE_RELEASE, node, fh);
}

/* On a read-only share: opening hello.txt for writing must fail too. */
static void write_existing(void)
{
	struct fuse_attr attr;
	uint64_t node = lookup("hello.txt", &attr), fh;
	if (!node)
		return;
	int e = open_file(node, O_WRONLY, &fh);
	print("OPENW err=%d\n", e);
	if (!e)
		release(FUSE_RELEASE, node, fh);
}

static void list_root(void)
{
	struct fuse_open_in oi = { 0 };
	int e = fuse(FUSE_OPENDIR, FUSE_ROOT_ID, &oi, sizeof(oi), NULL, 0,
		     sizeof(struct fuse_open_out));
	uint64_t fh = ((struct fuse_open_out *)reply())->fh;
	print("OPENDIR err=%d\n", e);
	if (e)
		return;
	struct fuse_read_in ri = { .fh = fh, .offset = 0, .size = 4096 };
	e = fuse(FUSE_READDIR, FUSE_ROOT_ID, &ri, sizeof(ri), NULL, 0, 4096);
	uint32_t len =
		e ? 0 : ((struct fuse_out_header *)out)->len - sizeof(struct fuse_out_header);
	print("READDIR err=%d\n", e);
	uint8_t *p = reply();
	for (uint32_t off = 0; off + sizeof(struct fuse_dirent) <= len;) {
		struct fuse_dirent *de = (struct fuse_dirent *)(p + off);
		char name[64];
		uint32_t n = de->namelen < sizeof(name) - 1 ? de->namelen : sizeof(name) - 1;
		memcpy(name, de->name, n);
		name[n] = 0;
		print("DIRENT %s\n", name);
		off += (uint32_t)FUSE_DIRENT_SIZE(de);
	}
	release(FUSE_RELEASEDIR, FUSE_ROOT_ID, fh);
}

static int start(uintptr_t base)
{
	if (virtio_begin(&dev, base, 0) < 0) {
		print("FEATURES refused\n");
		return -1;
	}
	virtio_queue(&dev, 0, 8, hiring);
	virtio_queue(&dev, 1, 8, reqring);
	virtio_driver_ok(&dev);
	struct fuse_init_in ii = { .major = FUSE_KERNEL_VERSION,
				   .minor = 31,
				   .max_readahead = 4096 };
	int e = fuse(FUSE_INIT, 0, &ii, 16, NULL, 0, sizeof(struct fuse_init_out));
	struct fuse_init_out *io = reply();
	print("INIT err=%d major=%u minor=%u\n", e, io->major, io->minor);
	/* The backend cannot set InterruptStatus: it must read "used buffer". */
	print("ISR %x\n", vreg(&dev, VREG_INT_STATUS));
	return e ? -1 : 0;
}

/* The VMM's own checks: each must end in DEVICE_NEEDS_RESET. */
static void hostile(uintptr_t base)
{
	/* A queue size that is not a power of two. */
	virtio_begin(&dev, base, 0);
	vreg_set(&dev, VREG_QUEUE_SEL, 1);
	vreg_set(&dev, VREG_QUEUE_NUM, 6);
	vreg_set(&dev, VREG_QUEUE_READY, 1);
	print("HOSTILE size6 needs_reset=%u\n", !!(vreg(&dev, VREG_STATUS) & VSTAT_NEEDS_RESET));
	/* A ring outside guest RAM. */
	virtio_begin(&dev, base, 0);
	vreg_set(&dev, VREG_QUEUE_SEL, 1);
	vreg_set(&dev, VREG_QUEUE_NUM, 8);
	vreg_set(&dev, VREG_DESC_LO, 0);
	vreg_set(&dev, VREG_DESC_HI, 0x100);
	vreg_set(&dev, VREG_QUEUE_READY, 1);
	print("HOSTILE ring_outside needs_reset=%u\n",
	      !!(vreg(&dev, VREG_STATUS) & VSTAT_NEEDS_RESET));
	/* Moving a live ring. */
	virtio_begin(&dev, base, 0);
	virtio_queue(&dev, 1, 8, reqring);
	vreg_set(&dev, VREG_DESC_LO, 0x1000);
	print("HOSTILE move_live needs_reset=%u\n",
	      !!(vreg(&dev, VREG_STATUS) & VSTAT_NEEDS_RESET));
	/* A feature the device did not offer: FEATURES_OK withheld. */
	print("HOSTILE bad_feature refused=%u\n", virtio_begin(&dev, base, (1ULL << 63) | 1) < 0);
	/* Kicks before DRIVER_OK are ignored, and the device still works. */
	virtio_begin(&dev, base, 0);
	virtio_queue(&dev, 1, 8, reqring);
	vreg_set(&dev, VREG_QUEUE_NOTIFY, 1);
	vreg_set(&dev, VREG_QUEUE_NOTIFY, 7);
	print("HOSTILE early_kick status=%x\n", vreg(&dev, VREG_STATUS));
}

/* FUSE requests whose lengths lie: the header claims more bytes than the
 * chain carries, and a reply buffer too small for the reply. virtiofsd
 * must answer with an error, not read or write beyond the buffers. */
static void lying_lengths(void)
{
	struct fuse_in_header *h = (struct fuse_in_header *)in;
	struct fuse_getattr_in gi = { 0 };
	memset(h, 0, sizeof(*h));
	h->len = 4096; /* the chain has 56 bytes */
	h->opcode = FUSE_GETATTR;
	h->unique = ++unique;
	h->nodeid = FUSE_ROOT_ID;
	memcpy(in + sizeof(*h), &gi, sizeof(gi));
	memset(out, 0, 64);
	struct vbuf b[2] = { { in, sizeof(*h) + sizeof(gi), 0 }, { out, 4096, 1 } };
	long n = virtio_xfer(&dev, 1, b, 2);
	struct fuse_out_header *o = (struct fuse_out_header *)out;
	print("HOSTILE lying_len used=%d err=%d\n", (int)n, n >= 16 ? o->error : 1);
	/* GETATTR whose reply (16 + 104 bytes) cannot fit in 24: virtiofsd
	 * drops it (no used element), so wait only a little. */
	b[0].len = sizeof(*h) + sizeof(gi);
	h->len = b[0].len;
	h->unique = ++unique;
	b[1].len = 24;
	memset(out, 0xaa, 256);
	virtio_post(&dev, 1, b, 2);
	n = virtio_wait(&dev, 1, 20000);
	int intact = 1;
	for (int i = 24; i < 256; i++)
		intact &= out[i] == 0xaa;
	print("HOSTILE short_reply used=%d intact=%d\n", (int)n, intact);
}

/* After a working session: a descriptor outside guest RAM goes to the
 * backend, which must refuse it (virtiofsd gives up on the device). */
static void bad_descriptor(void)
{
	struct vbuf b[2] = { { (void *)0x7ff000000000UL, 64, 0 }, { out, 4096, 1 } };
	virtio_post(&dev, Q_REQUEST, b, 2);
	long n = virtio_wait(&dev, Q_REQUEST, 200000);
	print("BADDESC used=%d\n", (int)n);
}

void guest_main(const uint8_t *bp)
{
	const char *cmdline = (const char *)(uintptr_t) * (const uint32_t *)(bp + 0x228);
	uintptr_t base = virtio_find(26);
	if (!base) {
		print("NO_FS\n");
		poweroff();
	}
	char tag[37];
	for (int i = 0; i < 36; i++)
		tag[i] = (char)mmio_read32(base + VREG_CONFIG + i); /* byte reads of config */
	tag[36] = 0;
	print("TAG %s QUEUES %u\n", tag, mmio_read32(base + VREG_CONFIG + 36));
	if (cmdline_arg(cmdline, "hostile"))
		hostile(base);
	if (start(base) < 0)
		poweroff();
	if (cmdline_arg(cmdline, "loop")) {
		print("LOOPING\n");
		struct fuse_getattr_in gi = { 0 };
		for (;;)
			fuse(FUSE_GETATTR, FUSE_ROOT_ID, &gi, sizeof(gi), NULL, 0,
			     sizeof(struct fuse_attr_out));
	}
	read_hello();
	if (cmdline_arg(cmdline, "ro"))
		write_existing();
	write_file();
	list_root();
	if (cmdline_arg(cmdline, "hostile")) {
		lying_lengths();
		bad_descriptor();
	}
	print("DONE\n");
	poweroff();
}
