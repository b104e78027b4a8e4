/* virtio-net on a tap: one receive and one transmit queue, MAC and link
 * status in config space, the 12-byte virtio_net_hdr_v1 on both sides (with
 * VERSION_1 it is 12 bytes whether MRG_RXBUF is negotiated or not, and the
 * tap is set to the same size).
 *
 * Offloads. Always offered: CSUM (a frame the guest marks NEEDS_CSUM without
 * GSO has its checksum completed here, bounds-checked, before the tap gets a
 * plain header) and MRG_RXBUF. Offered only when the tap accepts
 * TUNSETOFFLOAD with checksum, TSO4/6, ECN and UFO: GUEST_CSUM,
 * GUEST_TSO4/6/ECN/UFO and HOST_TSO4/6/ECN/UFO. The tap is told of
 * offloads (TUNSETOFFLOAD) only for the GUEST_* bits the driver accepted, and
 * of none until it has; so the kernel segments and checksums for a guest that
 * did not ask. A guest GSO frame goes to the tap with its header once it is
 * checked against what was negotiated and against the frame's own length.
 *
 * The tap is non-blocking and read on the VMM's I/O thread through an epoll
 * fd of our own holding it; while the guest has no receive buffer the tap is
 * disarmed there, so a level-triggered watch does not spin. */
#include <errno.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/log.h"
#include "vm/virtio/net.h"

#define VIRTIO_ID_NET		    1
#define VIRTIO_NET_F_CSUM	    (1ULL << 0)
#define VIRTIO_NET_F_GUEST_CSUM	    (1ULL << 1)
#define VIRTIO_NET_F_MAC	    (1ULL << 5)
#define VIRTIO_NET_F_GUEST_TSO4	    (1ULL << 7)
#define VIRTIO_NET_F_GUEST_TSO6	    (1ULL << 8)
#define VIRTIO_NET_F_GUEST_ECN	    (1ULL << 9)
#define VIRTIO_NET_F_GUEST_UFO	    (1ULL << 10)
#define VIRTIO_NET_F_HOST_TSO4	    (1ULL << 11)
#define VIRTIO_NET_F_HOST_TSO6	    (1ULL << 12)
#define VIRTIO_NET_F_HOST_ECN	    (1ULL << 13)
#define VIRTIO_NET_F_HOST_UFO	    (1ULL << 14)
#define VIRTIO_NET_F_MRG_RXBUF	    (1ULL << 15)
#define VIRTIO_NET_F_STATUS	    (1ULL << 16)
#define VIRTIO_NET_S_LINK_UP	    1
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE	    0
#define VIRTIO_NET_HDR_GSO_TCPV4    1
#define VIRTIO_NET_HDR_GSO_UDP	    3
#define VIRTIO_NET_HDR_GSO_TCPV6    4
#define VIRTIO_NET_HDR_GSO_ECN	    0x80
#define BASE_FEATURES                                                                              \
	(VIRTIO_NET_F_CSUM | VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_MRG_RXBUF)
#define OFFLOAD_FEATURES                                                                           \
	(VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_GUEST_TSO6 |             \
	 VIRTIO_NET_F_GUEST_ECN | VIRTIO_NET_F_GUEST_UFO | VIRTIO_NET_F_HOST_TSO4 |                \
	 VIRTIO_NET_F_HOST_TSO6 | VIRTIO_NET_F_HOST_ECN | VIRTIO_NET_F_HOST_UFO)
#define TUN_ALL	  (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_UFO)
#define RXQ	  0
#define TXQ	  1
#define HDR_LEN	  12
#define FRAME_MAX (65535 + 14 + 4) /* one IP packet (or GSO frame) + L2 */

struct net_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
} __attribute__((packed));

struct net {
	int tap, ep;
	bool armed;
	bool offloads;	    /* the tap took TUNSETOFFLOAD: offload bits offered */
	unsigned tun_flags; /* TUNSETOFFLOAD now in force */
	uint8_t mac[6];
	bool held;	/* chain is a receive buffer taken, not yet used */
	size_t pending; /* frame read from the tap into rx, waiting for buffers */
	vs_vq_chain chain, more;
	uint8_t rx[HDR_LEN + FRAME_MAX];
	uint8_t tx[HDR_LEN + FRAME_MAX];
};

static void arm(struct net *n, bool on)
{
	if (n->armed == on)
		return;
	struct epoll_event ev = { .events = on ? EPOLLIN : 0 };
	if (epoll_ctl(n->ep, EPOLL_CTL_MOD, n->tap, &ev) == 0)
		n->armed = on;
}

/* Ones-complement sum of buf[start..len) stored at start+offset (the driver
 * left the pseudo-header sum there, as virtio 5.1.6.2 describes). */
static bool complete_csum(uint8_t *buf, size_t len, const struct net_hdr *h)
{
	size_t start = h->csum_start, at = start + h->csum_offset;
	if (start >= len || at + 2 > len || at < start)
		return false;
	uint32_t sum = 0;
	for (size_t i = start; i + 1 < len; i += 2)
		sum += (uint32_t)(buf[i] << 8 | buf[i + 1]);
	if ((len - start) & 1)
		sum += (uint32_t)buf[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	uint16_t c = (uint16_t)~sum;
	buf[at] = (uint8_t)(c >> 8);
	buf[at + 1] = (uint8_t)c;
	return true;
}

/* What is wrong with a guest GSO header, given the frame's length, or NULL.
 * The kernel checks again when the tap gets it; this is what keeps the
 * guest to the features it negotiated, and a lie from reaching the host. */
static const char *gso_problem(uint64_t f, const struct net_hdr *h, size_t len)
{
	unsigned type = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	uint64_t need = type == VIRTIO_NET_HDR_GSO_TCPV4   ? VIRTIO_NET_F_HOST_TSO4
			: type == VIRTIO_NET_HDR_GSO_TCPV6 ? VIRTIO_NET_F_HOST_TSO6
			: type == VIRTIO_NET_HDR_GSO_UDP   ? VIRTIO_NET_F_HOST_UFO
							   : 0;
	if (!need)
		return "unknown gso_type";
	if (!(f & need) || !(f & VIRTIO_NET_F_CSUM)) /* HOST_TSO* needs CSUM too */
		return "gso_type not negotiated";
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !(f & VIRTIO_NET_F_HOST_ECN))
		return "ECN not negotiated";
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return "GSO without NEEDS_CSUM";
	bool udp = type == VIRTIO_NET_HDR_GSO_UDP;
	size_t l3 = type == VIRTIO_NET_HDR_GSO_TCPV6 ? 40 : 20, l4 = udp ? 8 : 20;
	if (h->csum_offset != (udp ? 6 : 16))
		return "csum_offset is not the L4 checksum";
	if (h->csum_start < 14 + l3 || (size_t)h->csum_start + l4 > len)
		return "csum_start outside the frame";
	if (!h->gso_size)
		return "gso_size 0";
	if (h->hdr_len > len)
		return "hdr_len beyond the frame";
	return NULL;
}

/* Decide what the tap gets for one guest frame (header at n->tx): true to
 * send, with the header rewritten as the tap must see it. */
static bool tx_prepare(vs_virtio_dev *d, size_t len)
{
	struct net *n = d->priv;
	struct net_hdr h;
	memcpy(&h, n->tx, sizeof(h));
	size_t flen = len - HDR_LEN;
	uint8_t *frame = n->tx + HDR_LEN;
	if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		const char *why = gso_problem(d->driver_features, &h, flen);
		if (why) {
			vs_debug("virtio-net: transmit frame dropped: %s", why);
			return false;
		}
		h.num_buffers = 0; /* the kernel segments and checksums */
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		memcpy(n->tx, &h, sizeof(h));
		return true;
	}
	if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (!(d->driver_features & VIRTIO_NET_F_CSUM) || !complete_csum(frame, flen, &h)))
		return false;
	/* The tap gets a plain header: nothing left for it to do. */
	memset(n->tx, 0, HDR_LEN);
	return true;
}

static void net_tx(vs_virtio_dev *d)
{
	struct net *n = d->priv;
	vs_vq_chain c;
	bool any = false;
	int rc;
	while ((rc = vs_vq_pop(d->mem, &d->vq[TXQ], &c)) == 1) {
		if (c.nin || c.out_len < HDR_LEN || c.out_len > sizeof(n->tx)) {
			vs_virtio_fail(
				d,
				"transmit queue: a chain of %llu readable bytes and %u writable "
				"descriptors is not one header and frame",
				(unsigned long long)c.out_len, c.nin);
			return;
		}
		size_t len = vs_vq_read(&c, 0, n->tx, c.out_len);
		/* A full tap queue drops the frame, as a wire would. */
		if (tx_prepare(d, len) && write(n->tap, n->tx, len) < 0 && errno != EAGAIN)
			vs_debug("virtio-net: tap write: %s", strerror(errno));
		vs_vq_push(d->mem, &d->vq[TXQ], c.head, 0);
		any = true;
	}
	if (rc < 0)
		vs_virtio_fail(d, "transmit queue: %s", c.error);
	if (any)
		vs_virtio_notify_used(d, TXQ);
}

/* The tap's offloads follow the GUEST_* bits the driver accepted (none
 * before DRIVER_OK or after a reset): the kernel then hands us GSO or
 * partially checksummed frames only for a guest that can take them. */
static void sync_offloads(vs_virtio_dev *d)
{
	struct net *n = d->priv;
	uint64_t f = vs_virtio_live(d) ? d->driver_features : 0;
	unsigned want = 0;
	if (f & VIRTIO_NET_F_GUEST_CSUM) {
		want = TUN_F_CSUM;
		want |= (f & VIRTIO_NET_F_GUEST_TSO4) ? TUN_F_TSO4 : 0;
		want |= (f & VIRTIO_NET_F_GUEST_TSO6) ? TUN_F_TSO6 : 0;
		want |= (f & VIRTIO_NET_F_GUEST_UFO) ? TUN_F_UFO : 0;
		if (want & (TUN_F_TSO4 | TUN_F_TSO6))
			want |= (f & VIRTIO_NET_F_GUEST_ECN) ? TUN_F_TSO_ECN : 0;
	}
	if (!n->offloads || want == n->tun_flags)
		return;
	if (ioctl(n->tap, TUNSETOFFLOAD, (unsigned long)want) == 0) {
		n->tun_flags = want;
		return;
	}
	/* Once, not per frame: the kernel then segments and checksums for the
	 * guest, which costs speed, not correctness. */
	vs_warn("virtio-net: tap: TUNSETOFFLOAD %#x: %s; offloads stay at %#x", want,
		strerror(errno), n->tun_flags);
	n->offloads = false;
}

/* Whether the guest can take the frame the tap gave us: a GSO or
 * partially checksummed frame only if it negotiated that (a frame queued
 * before the offloads went down, or a tap that refused to lower them). */
static bool rx_acceptable(vs_virtio_dev *d)
{
	struct net *n = d->priv;
	struct net_hdr h;
	memcpy(&h, n->rx, sizeof(h));
	uint64_t f = d->driver_features;
	unsigned type = h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	uint64_t need = type == VIRTIO_NET_HDR_GSO_NONE	   ? 0
			: type == VIRTIO_NET_HDR_GSO_TCPV4 ? VIRTIO_NET_F_GUEST_TSO4
			: type == VIRTIO_NET_HDR_GSO_TCPV6 ? VIRTIO_NET_F_GUEST_TSO6
			: type == VIRTIO_NET_HDR_GSO_UDP   ? VIRTIO_NET_F_GUEST_UFO
							   : ~0ULL;
	if ((h.gso_type & VIRTIO_NET_HDR_GSO_ECN) && !(f & VIRTIO_NET_F_GUEST_ECN))
		return false;
	if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !(f & VIRTIO_NET_F_GUEST_CSUM))
		return false;
	return (f & need) == need;
}

/* The header the guest gets for a frame the tap gave us: only what it
 * negotiated. */
static void rx_header(vs_virtio_dev *d, uint16_t nbuf)
{
	struct net *n = d->priv;
	struct net_hdr h;
	memcpy(&h, n->rx, sizeof(h));
	uint64_t f = d->driver_features;
	if (!(f & VIRTIO_NET_F_GUEST_CSUM)) {
		h = (struct net_hdr){ 0 };
	} else {
		h.flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
		if (!(f &
		      (VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_GUEST_TSO6 | VIRTIO_NET_F_GUEST_UFO)))
			h.gso_type = VIRTIO_NET_HDR_GSO_NONE, h.gso_size = 0, h.hdr_len = 0;
	}
	h.num_buffers = nbuf;
	memcpy(n->rx, &h, sizeof(h));
}

/* Spread the pending frame over as many receive buffers as it takes
 * (MRG_RXBUF), the held one first; the driver sees them all at once. False
 * when the ring has too few buffers yet: nothing is taken then. */
static bool rx_merged(vs_virtio_dev *d)
{
	struct net *n = d->priv;
	vs_vq *q = &d->vq[RXQ];
	uint16_t start = q->last_avail;
	uint64_t room = n->chain.in_len;
	unsigned count = 1;
	while (room < n->pending) {
		int rc = vs_vq_pop(d->mem, q, &n->more);
		if (rc < 0 || (rc == 1 && n->more.nout)) {
			vs_virtio_fail(d, "receive queue: %s",
				       rc < 0 ? n->more.error : "buffer is not device-writable");
			return true;
		}
		if (rc == 0) {
			q->last_avail = start;
			if (count < q->num)
				return false; /* wait for the driver to post more */
			/* Every ring entry is ours and the frame still does not fit. */
			vs_vq_push(d->mem, q, n->chain.head, 0);
			n->pending = 0;
			return true;
		}
		count++;
		room += n->more.in_len;
	}
	/* Second pass over the same chains (popped again: the guest may have
	 * changed them, so every length is taken afresh and bounds the copy). */
	q->last_avail = start;
	rx_header(d, (uint16_t)count);
	size_t off = vs_vq_write(&n->chain, 0, n->rx, n->pending);
	vs_vq_push_quiet(d->mem, q, n->chain.head, (uint32_t)off);
	unsigned used = 1;
	while (off < n->pending && used < count && vs_vq_pop(d->mem, q, &n->more) == 1 &&
	       !n->more.nout) {
		size_t w = vs_vq_write(&n->more, 0, n->rx + off, n->pending - off);
		vs_vq_push_quiet(d->mem, q, n->more.head, (uint32_t)w);
		off += w;
		used++;
	}
	if (used != count) { /* the ring changed under us: say what was used */
		uint16_t nb = (uint16_t)used;
		vs_vq_write(&n->chain, 10, &nb, 2);
	}
	vs_vq_publish(d->mem, q);
	n->pending = 0;
	return true;
}

/* Take the guest's next receive buffer first (so a bad one is refused when
 * it is posted, not when traffic happens to come), then fill it from the
 * tap. A buffer taken with no frame waiting is held for the next one; with
 * MRG_RXBUF a frame waits (not read past) until enough buffers are posted.
 * With the lock held. */
static void net_rx(vs_virtio_dev *d)
{
	struct net *n = d->priv;
	bool any = false;
	sync_offloads(d);
	for (;;) {
		if (!vs_virtio_live(d) || !d->vq[RXQ].ready) {
			/* Nobody to take frames: drain the tap. */
			n->pending = 0;
			if (read(n->tap, n->rx, sizeof(n->rx)) < 0)
				break;
			continue;
		}
		if (!n->held) {
			int rc = vs_vq_pop(d->mem, &d->vq[RXQ], &n->chain);
			if (rc == 0) {
				arm(n, false); /* until the guest posts a buffer */
				break;
			}
			if (rc < 0 || n->chain.nout) {
				vs_virtio_fail(d, "receive queue: %s",
					       rc < 0 ? n->chain.error
						      : "buffer is not device-writable");
				break;
			}
			n->held = true;
		}
		if (!n->pending) {
			ssize_t r = read(n->tap, n->rx, sizeof(n->rx));
			if (r < 0)
				break; /* EAGAIN: keep the buffer for the next frame */
			if (r <= HDR_LEN || !rx_acceptable(d))
				continue; /* dropped; the buffer waits for the next */
			n->pending = (size_t)r;
		}
		if (d->driver_features & VIRTIO_NET_F_MRG_RXBUF) {
			if (!rx_merged(d)) {
				arm(n, false); /* the frame waits for more buffers */
				break;
			}
			if (!vs_virtio_live(d))
				break;
		} else {
			rx_header(d, 1);
			uint32_t used = 0;
			if (n->chain.in_len >= n->pending) /* else too small: dropped */
				used = (uint32_t)vs_vq_write(&n->chain, 0, n->rx, n->pending);
			vs_vq_push(d->mem, &d->vq[RXQ], n->chain.head, used);
			n->pending = 0;
		}
		n->held = false;
		any = true;
	}
	if (any)
		vs_virtio_notify_used(d, RXQ);
}

static void net_notify(vs_virtio_dev *d, unsigned q)
{
	if (q == TXQ) {
		net_tx(d);
		return;
	}
	arm(d->priv, true); /* new buffers: take frames again */
	net_rx(d);
}

/* I/O thread: the tap (through our epoll fd) has frames. */
static int tap_readable(void *arg, int fd)
{
	vs_virtio_dev *d = arg;
	struct epoll_event ev;
	(void)epoll_wait(fd, &ev, 1, 0);
	pthread_mutex_lock(&d->lock);
	net_rx(d);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static void net_config(vs_virtio_dev *d, uint64_t off, void *data, unsigned len)
{
	struct net *n = d->priv;
	uint8_t cfg[8] = { 0 };
	memcpy(cfg, n->mac, 6);
	cfg[6] = VIRTIO_NET_S_LINK_UP;
	if (off < sizeof(cfg) && len <= sizeof(cfg) - off)
		memcpy(data, cfg + off, len);
}

static void net_reset(vs_virtio_dev *d)
{
	struct net *n = d->priv;
	n->held = false;
	n->pending = 0;
	sync_offloads(d); /* back to none until the driver negotiates again */
	arm(n, true);
}

static void net_destroy(vs_virtio_dev *d)
{
	struct net *n = d->priv;
	if (n->ep >= 0)
		close(n->ep);
	if (n->tap >= 0)
		close(n->tap); /* a tap we created goes with its last fd */
	free(n);
}

static const vs_virtio_ops net_ops = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.nqueues = 2,
	.notify = net_notify,
	.config_read = net_config,
	.reset = net_reset,
	.destroy = net_destroy,
};

static bool net_wanted(const vs_vm_config *cfg)
{
	return cfg->net != NULL;
}

vs_virtio_dev *vs_virtio_net_new(vs_dev_ctx *ctx, const vs_guest_mem *mem, int tap,
				 const uint8_t mac[6], vs_err *err)
{
	struct net *n = calloc(1, sizeof(*n));
	/* Offer the offloads only if the tap takes them all; then back to none
	 * until a driver accepts some (sync_offloads). */
	bool offloads = n && ioctl(tap, TUNSETOFFLOAD, (unsigned long)TUN_ALL) == 0 &&
			ioctl(tap, TUNSETOFFLOAD, 0UL) == 0;
	vs_virtio_dev *d = n ? vs_virtio_new(ctx, &net_ops,
					     BASE_FEATURES | (offloads ? OFFLOAD_FEATURES : 0), n)
			     : NULL;
	if (!d) {
		free(n);
		vs_fail(err, ENOMEM, "allocating virtio-net");
		return NULL;
	}
	if (mem)
		d->mem = mem;
	n->tap = tap;
	n->offloads = offloads;
	memcpy(n->mac, mac, 6);
	n->ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };
	if (n->ep < 0 || epoll_ctl(n->ep, EPOLL_CTL_ADD, tap, &ev) < 0) {
		vs_fail_errno(err, "virtio-net: epoll");
		n->tap = -1; /* the caller still owns it */
		vs_virtio_destroy(d);
		return NULL;
	}
	n->armed = true;
	return d;
}

static int net_create(vs_dev_ctx *ctx, const vs_vm_config *cfg, void **state, vs_err *err)
{
	uint8_t mac[6];
	int tap = vs_net_tap_open(cfg->net, mac, err);
	if (tap < 0)
		return -1;
	vs_virtio_dev *d = vs_virtio_net_new(ctx, NULL, tap, mac, err);
	if (!d) {
		close(tap);
		return -1;
	}
	*state = d;
	if (ctx->add_io(ctx->host, ((struct net *)d->priv)->ep, tap_readable, d, err) < 0)
		return -1;
	return vs_virtio_attach(d, err);
}

const vs_device vs_virtio_net_device = {
	.name = "virtio-net",
	.wanted = net_wanted,
	.create = net_create,
	.destroy = vs_virtio_destroy_state,
};
