/* virtio-vsock under a hostile driver: a flood of REQUESTs from 10,000
 * ports (the connection cap answers RST), a connection that sends far
 * beyond the credit it was given (reset, that connection only), then a tx
 * ring index far ahead,
 * a header whose len lies about the payload, a descriptor outside RAM. Each
 * must set DEVICE_NEEDS_RESET, and after a reset the device works again and
 * the event queue reports TRANSPORT_RESET. */
#include "vsock_guest.h"

static uintptr_t base;

static void drain(unsigned *resp, unsigned *rst)
{
	struct hdr h;
	while (rx_wait(&h, NULL, 0, 200) == 0) {
		if (h.op == OP_RESPONSE)
			(*resp)++;
		else if (h.op == OP_RST)
			(*rst)++;
	}
}

static void flood(void)
{
	unsigned resp = 0, rst = 0;
	for (uint32_t p = 0; p < 10000; p++) {
		send(OP_REQUEST, 20000 + p, 5000, NULL, 0, 0, 0);
		drain(&resp, &rst);
	}
	for (int i = 0; i < 100; i++)
		drain(&resp, &rst);
	print("FLOOD responses=%u rsts=%u status=%x\n", resp, rst, vreg(&dev, VREG_STATUS));
}

/* Connect to the listener (which never reads) and send 2 KiB packets
 * regardless of credit: the device must reset this connection (RST), not
 * buffer without bound, and the device stays up. */
static void credit_flood(void)
{
	static uint8_t junk[2048];
	struct hdr h;
	send(OP_REQUEST, 30000, 5000, NULL, 0, 0, 0);
	unsigned ok = rx_next(&h, NULL, 0) == 0 && h.op == OP_RESPONSE, rst = 0;
	uint32_t sent = 0;
	while (ok && !rst && sent < (4u << 20)) {
		send(OP_RW, 30000, 5000, junk, sizeof(junk), 0, 0);
		sent += sizeof(junk);
		while (rx_wait(&h, NULL, 0, 50) == 0)
			if (h.op == OP_RST && h.dst_port == 30000)
				rst = 1;
	}
	print("CREDIT connected=%u rst=%u beyond_buf_alloc=%u status=%x\n", ok, rst,
	      sent > (256u << 10), vreg(&dev, VREG_STATUS));
}

/* After a reset: TRANSPORT_RESET arrives, and a closed port answers RST. */
static void check_recovered(const char *tag)
{
	vsock_setup(base);
	long ev = virtio_wait(&dev, Q_EVENT, 2000000);
	struct hdr h = { 0 };
	send(OP_REQUEST, 77, 5999, NULL, 0, 0, 0);
	int rc = rx_next(&h, NULL, 0);
	print("%s event_len=%d event=%u rst=%u status=%x\n", tag, (int)ev, evbuf[0],
	      rc == 0 && h.op == OP_RST, vreg(&dev, VREG_STATUS));
}

static unsigned needs_reset(void)
{
	for (int i = 0; i < 1000000; i++)
		if (vreg(&dev, VREG_STATUS) & VSTAT_NEEDS_RESET)
			return 1;
	return 0;
}

void guest_main(const uint8_t *bp)
{
	(void)bp;
	base = virtio_find(19);
	if (!base) {
		print("NO_VSOCK\n");
		poweroff();
	}
	vsock_setup(base);
	flood();
	check_recovered("RECOVER0");
	credit_flood();

	/* The available index runs far ahead of the ring. */
	struct vqueue *tx = &dev.q[Q_TX];
	tx->avail[1] = (uint16_t)(tx->avail_idx + 100);
	vreg_set(&dev, VREG_QUEUE_NOTIFY, Q_TX);
	print("BADIDX needs_reset=%u\n", needs_reset());
	check_recovered("RECOVER1");

	/* A header claiming 1000 bytes of payload in a 44-byte buffer. */
	struct hdr h = { .src_cid = cid,
			 .dst_cid = 2,
			 .src_port = 1,
			 .dst_port = 5999,
			 .len = 1000,
			 .type = 1,
			 .op = OP_RW,
			 .buf_alloc = GUEST_BUF };
	encode(txhdr, &h);
	struct vbuf b = { txhdr, HDR, 0 };
	virtio_post(&dev, Q_TX, &b, 1);
	print("LYING needs_reset=%u\n", needs_reset());
	check_recovered("RECOVER2");

	/* A descriptor far outside guest RAM. */
	struct vbuf far = { (void *)0x7f0000000000UL, HDR, 0 };
	virtio_post(&dev, Q_TX, &far, 1);
	print("OUTSIDE needs_reset=%u\n", needs_reset());
	check_recovered("RECOVER3");
	print("DONE\n");
	poweroff();
}
