/* Shared by the vsock test guests: header coding, receive buffers at
 * descriptors 0..RX_BUFS-1 of the rx queue, and one-at-a-time transmit. */
#ifndef VESSEL_GUEST_VSOCK_H
#define VESSEL_GUEST_VSOCK_H

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
static int rx_wait(struct hdr *h, uint8_t *data, uint32_t cap, unsigned long spins)
{
	struct vqueue *vq = &dev.q[Q_RX];
	for (unsigned long spin = 0; spin < spins; spin++) {
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

static int rx_next(struct hdr *h, uint8_t *data, uint32_t cap)
{
	return rx_wait(h, data, cap, 20000000);
}

/* Reset, queues laid out, rx buffers and one event buffer posted. */
static void vsock_setup(uintptr_t base)
{
	virtio_begin(&dev, base, 0);
	cid = (uint64_t)vreg(&dev, VREG_CONFIG) | ((uint64_t)vreg(&dev, VREG_CONFIG + 4) << 32);
	virtio_queue(&dev, Q_RX, 16, rings[0]);
	virtio_queue(&dev, Q_TX, 8, rings[1]);
	virtio_queue(&dev, Q_EVENT, 8, rings[2]);
	virtio_driver_ok(&dev);
	struct vbuf ev = { evbuf, sizeof(evbuf), 1 };
	virtio_post(&dev, Q_EVENT, &ev, 1);
	for (uint16_t i = 0; i < RX_BUFS; i++)
		rx_post(i);
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
	if (split == 2 && len >= 3) { /* the header, then the payload in three pieces */
		encode(txhdr, &h);
		const uint8_t *d = data;
		uint32_t a = len / 3, b2 = len / 3;
		struct vbuf b[4] = { { txhdr, HDR, 0 },
				     { (void *)d, a, 0 },
				     { (void *)(d + a), b2, 0 },
				     { (void *)(d + a + b2), len - a - b2, 0 } };
		return virtio_xfer(&dev, Q_TX, b, 4);
	}
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

#endif
