/* virtio-vsock: the guest connects to host port 5000 (a listener the test
 * opens at PATH_5000), sends data with header and payload in one descriptor
 * and in two, and reads the host's checksum back; connects to a closed port
 * and gets RST; then accepts the host's `CONNECT 6000` with a small
 * advertised buffer and receives more than that buffer, checking that the
 * host never sends beyond the credit, and sends a checksum back. */
#include "virtio.h"

#define Q_RX	  0
#define Q_TX	  1
#define Q_EVENT	  2
#define HDR	  44
#define RX_BUFS	  8
#define RX_SIZE	  (HDR + 4096)
#define GUEST_BUF 4096 /* our buf_alloc: small, so the host must wait for credit */

#define OP_REQUEST	 1
#define OP_RESPONSE	 2
#define OP_RST		 3
#define OP_SHUTDOWN	 4
#define OP_RW		 5
#define OP_CREDIT_UPDATE 6

static uint8_t rings[3][16384] __attribute__((aligned(4096)));
static uint8_t rxbuf[RX_BUFS][RX_SIZE];
static uint8_t txhdr[HDR], txdata[HDR + 2048];
static uint8_t evbuf[8];
static struct vdev dev;
static uint64_t cid;
static uint32_t fwd_cnt; /* bytes we consumed on the current connection */

struct hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

static void put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void encode(uint8_t *p, const struct hdr *h)
{
	put(p, h->src_cid, 8);
	put(p + 8, h->dst_cid, 8);
	put(p + 16, h->src_port, 4);
	put(p + 20, h->dst_port, 4);
	put(p + 24, h->len, 4);
	put(p + 28, h->type, 2);
	put(p + 30, h->op, 2);
	put(p + 32, h->flags, 4);
	put(p + 36, h->buf_alloc, 4);
	put(p + 40, h->fwd_cnt, 4);
}

static void decode(const uint8_t *p, struct hdr *h)
{
	h->src_cid = get(p, 8);
	h->dst_cid = get(p + 8, 8);
	h->src_port = (uint32_t)get(p + 16, 4);
	h->dst_port = (uint32_t)get(p + 20, 4);
	h->len = (uint32_t)get(p + 24, 4);
	h->type = (uint16_t)get(p + 28, 2);
	h->op = (uint16_t)get(p + 30, 2);
	h->flags = (uint32_t)get(p + 32, 4);
	h->buf_alloc = (uint32_t)get(p + 36, 4);
	h->fwd_cnt = (uint32_t)get(p + 40, 4);
}

/* Receive buffers live at descriptors 0..RX_BUFS-1 of the rx queue. */
static void rx_post(uint16_t i)
{
	struct vqueue *vq = &dev.q[Q_RX];
	vq->desc[i].addr = (uint64_t)(uintptr_t)rxbuf[i];
	vq->desc[i].len = RX_SIZE;
	vq->desc[i].flags = VDESC_WRITE;
	vq->desc[i].next = 0;
	vq->avail[2 + vq->avail_idx % vq->num] = i;
	barrier();
	vq->avail[1] = ++vq->avail_idx;
	barrier();
	vreg_set(&dev, VREG_QUEUE_NOTIFY, Q_RX);
}

/* The next packet from the host: its payload is copied to `data` (up to
 * cap), the buffer goes back to the device. -1 when none comes. */
static int rx_next(struct hdr *h, uint8_t *data, uint32_t cap)
{
	struct vqueue *vq = &dev.q[Q_RX];
	for (unsigned long spin = 0; spin < 20000000; spin++) {
		barrier();
		uint16_t idx = *(volatile uint16_t *)(vq->used + 2);
		if (idx == vq->used_seen) {
			if (vreg(&dev, VREG_STATUS) & VSTAT_NEEDS_RESET)
				return -1;
			continue;
		}
		volatile uint8_t *e = vq->used + 4 + 8 * (vq->used_seen % vq->num);
		uint16_t id = (uint16_t) * (volatile uint32_t *)e;
		uint32_t len = *(volatile uint32_t *)(e + 4);
		vq->used_seen++;
		if (id >= RX_BUFS || len < HDR)
			return -1;
		decode(rxbuf[id], h);
		uint32_t n = h->len < cap ? h->len : cap;
		if (data)
			memcpy(data, rxbuf[id] + HDR, n);
		rx_post(id);
		return 0;
	}
	return -1;
}

static long send(uint16_t op, uint32_t src, uint32_t dst, const void *data, uint32_t len, int split,
		 uint32_t flags)
{
	struct hdr h = {
		.src_cid = cid,
		.dst_cid = 2,
		.src_port = src,
		.dst_port = dst,
		.len = len,
		.type = 1,
		.op = op,
		.flags = flags,
		.buf_alloc = GUEST_BUF,
		.fwd_cnt = fwd_cnt,
	};
	if (split) { /* header and payload in two descriptors */
		encode(txhdr, &h);
		struct vbuf b[2] = { { txhdr, HDR, 0 }, { (void *)data, len, 0 } };
		return virtio_xfer(&dev, Q_TX, b, len ? 2 : 1);
	}
	encode(txdata, &h);
	memcpy(txdata + HDR, data, len);
	struct vbuf b = { txdata, HDR + len, 0 };
	return virtio_xfer(&dev, Q_TX, &b, 1);
}

static uint8_t msg[2048], in[8192];

static void guest_to_host(void)
{
	struct hdr h;
	/* A port nobody listens on: RST. */
	fwd_cnt = 0;
	send(OP_REQUEST, 1234, 5999, NULL, 0, 0, 0);
	int rc = rx_next(&h, NULL, 0);
	print("CLOSED rc=%d op=%u src=%u dst=%u\n", rc, h.op, h.src_port, h.dst_port);

	send(OP_REQUEST, 1235, 5000, NULL, 0, 0, 0);
	rc = rx_next(&h, NULL, 0);
	print("CONNECT rc=%d op=%u\n", rc, h.op);
	for (unsigned i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 31 + 7);
	send(OP_RW, 1235, 5000, msg, 1000, 0, 0);	 /* one descriptor */
	send(OP_RW, 1235, 5000, msg + 1000, 1048, 1, 0); /* two descriptors */
	print("SENT fnv=%x\n", fnv1a(msg, sizeof(msg)));
	/* The host answers with a line; it may come in several packets. */
	uint32_t got = 0;
	while (got < sizeof(in) - 1 && (got == 0 || in[got - 1] != '\n')) {
		if (rx_next(&h, in + got, (uint32_t)(sizeof(in) - 1 - got)) < 0 || h.op != OP_RW)
			break;
		got += h.len;
	}
	in[got] = 0;
	print("REPLY %s", (const char *)in);
	send(OP_SHUTDOWN, 1235, 5000, NULL, 0, 0, 3);
	rc = rx_next(&h, NULL, 0);
	print("CLOSE rc=%d op=%u\n", rc, h.op);
}

static void host_to_guest(void)
{
	struct hdr h;
	fwd_cnt = 0;
	print("LISTENING\n");
	if (rx_next(&h, NULL, 0) < 0 || h.op != OP_REQUEST || h.dst_port != 6000) {
		print("ACCEPT none op=%u\n", h.op);
		return;
	}
	uint32_t peer = h.src_port;
	print("ACCEPT port=%u peer_ge_2^30=%u\n", h.dst_port, peer >= (1u << 30));
	send(OP_RESPONSE, 6000, peer, NULL, 0, 0, 0);
	/* Receive until the host shuts down; hold on to the data (no credit
	 * update) until a full buffer is in, so that credit really runs out. */
	uint32_t total = 0, unacked = 0, overrun = 0, hash = 2166136261u, stalls = 0;
	for (;;) {
		if (rx_next(&h, in, sizeof(in)) < 0)
			break;
		if (h.op == OP_SHUTDOWN)
			break;
		if (h.op != OP_RW)
			continue;
		for (uint32_t i = 0; i < h.len; i++)
			hash = (hash ^ in[i]) * 16777619u;
		total += h.len;
		unacked += h.len;
		if (unacked > GUEST_BUF)
			overrun = 1;
		if (unacked == GUEST_BUF) {
			stalls++;
			fwd_cnt += unacked;
			unacked = 0;
			send(OP_CREDIT_UPDATE, 6000, peer, NULL, 0, 0, 0);
		}
	}
	print("RECEIVED bytes=%u fnv=%x overrun=%u stalls=%u\n", total, hash, overrun, stalls);
	char line[32];
	int n = 0;
	const char *hex = "0123456789abcdef";
	for (int i = 7; i >= 0; i--)
		line[n++] = hex[(hash >> (4 * i)) & 15];
	line[n++] = '\n';
	fwd_cnt += unacked;
	send(OP_RW, 6000, peer, line, (uint32_t)n, 1, 0);
	send(OP_SHUTDOWN, 6000, peer, NULL, 0, 0, 3);
	int rc = rx_next(&h, NULL, 0);
	print("HCLOSE rc=%d op=%u\n", rc, h.op);
}

void guest_main(const uint8_t *bp)
{
	(void)bp;
	uintptr_t base = virtio_find(19);
	if (!base) {
		print("NO_VSOCK\n");
		poweroff();
	}
	virtio_begin(&dev, base, 0);
	cid = (uint64_t)vreg(&dev, VREG_CONFIG) | ((uint64_t)vreg(&dev, VREG_CONFIG + 4) << 32);
	print("CID %u\n", (unsigned)cid);
	virtio_queue(&dev, Q_RX, 16, rings[0]);
	virtio_queue(&dev, Q_TX, 8, rings[1]);
	virtio_queue(&dev, Q_EVENT, 8, rings[2]);
	virtio_driver_ok(&dev);
	struct vbuf ev = { evbuf, sizeof(evbuf), 1 };
	virtio_post(&dev, Q_EVENT, &ev, 1);
	for (uint16_t i = 0; i < RX_BUFS; i++)
		rx_post(i);
	guest_to_host();
	host_to_guest();
	print("DEVSTATUS %x\n", vreg(&dev, VREG_STATUS));
	print("DONE\n");
	poweroff();
}
