/* virtio-net on a tap: one receive and one transmit queue, MAC and link
 * status in config space, 12-byte virtio_net_hdr_v1 on both sides.
 *
 * Offloads: only VIRTIO_NET_F_CSUM. A frame the guest marks NEEDS_CSUM has
 * its checksum completed here (bounds-checked) before it reaches the tap, so
 * the tap is told of no offload (TUNSETOFFLOAD 0): the kernel then hands us
 * only complete, checksummed, unsegmented frames. No GSO/TSO, no
 * GUEST_CSUM, no MRG_RXBUF: none is offered, so none can be negotiated.
 *
 * The tap is non-blocking and read on the VMM's I/O thread through an epoll
 * fd of our own holding it; while the guest has no receive buffer the tap is
 * disarmed there, so a level-triggered watch does not spin. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/log.h"
#include "vm/virtio/net.h"

#define VIRTIO_ID_NET		    1
#define VIRTIO_NET_F_CSUM	    (1ULL << 0)
#define VIRTIO_NET_F_MAC	    (1ULL << 5)
#define VIRTIO_NET_F_STATUS	    (1ULL << 16)
#define VIRTIO_NET_S_LINK_UP	    1
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_GSO_NONE	    0
#define RXQ			    0
#define TXQ			    1
#define HDR_LEN			    12
#define FRAME_MAX		    (65535 + 14 + 4) /* no GSO: one IP packet + L2 */

struct net_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
} __attribute__((packed));

struct net {
	int tap, ep;
	bool armed;
	uint8_t mac[6];
	bool held; /* chain is a receive buffer taken, not yet used */
	vs_vq_chain chain;
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
		struct net_hdr h;
		memcpy(&h, n->tx, sizeof(h));
		bool send = h.gso_type == VIRTIO_NET_HDR_GSO_NONE;
		if (send && (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
			send = (d->driver_features & VIRTIO_NET_F_CSUM) &&
			       complete_csum(n->tx + HDR_LEN, len - HDR_LEN, &h);
		if (send) {
			/* The tap gets a plain header: nothing left for it to do. */
			memset(n->tx, 0, HDR_LEN);
			/* A full tap queue drops the frame, as a wire would. */
			if (write(n->tap, n->tx, len) < 0 && errno != EAGAIN)
				vs_debug("virtio-net: tap write: %s", strerror(errno));
		}
		vs_vq_push(d->mem, &d->vq[TXQ], c.head, 0);
		any = true;
	}
	if (rc < 0)
		vs_virtio_fail(d, "transmit queue: %s", c.error);
	if (any)
		vs_virtio_notify_used(d, TXQ);
}

/* Take the guest's next receive buffer first (so a bad one is refused when
 * it is posted, not when traffic happens to come), then fill it from the
 * tap. A buffer taken with no frame waiting is held for the next one. With
 * the lock held. */
static void net_rx(vs_virtio_dev *d)
{
	struct net *n = d->priv;
	bool any = false;
	for (;;) {
		if (!vs_virtio_live(d) || !d->vq[RXQ].ready) {
			/* Nobody to take frames: drain the tap. */
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
		ssize_t r = read(n->tap, n->rx, sizeof(n->rx));
		if (r < 0)
			break; /* EAGAIN: keep the buffer for the next frame */
		if (r <= HDR_LEN)
			continue;
		struct net_hdr h = { .num_buffers = 1 }; /* no offload: plain header */
		memcpy(n->rx, &h, sizeof(h));
		uint32_t used = 0;
		if (n->chain.in_len >= (uint64_t)r) /* else too small: the frame is dropped */
			used = (uint32_t)vs_vq_write(&n->chain, 0, n->rx, (size_t)r);
		vs_vq_push(d->mem, &d->vq[RXQ], n->chain.head, used);
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

static int parse_mac(const char *s, uint8_t mac[6], vs_err *err)
{
	unsigned v[6];
	char end;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6 ||
	    strlen(s) != 17)
		return vs_fail(err, EINVAL, "--net: mac=%s: want xx:xx:xx:xx:xx:xx", s);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	if (mac[0] & 1)
		return vs_fail(err, EINVAL, "--net: mac=%s: a multicast address", s);
	return 0;
}

/* Attach to tap `name` (made if absent; then it is not persistent and goes
 * away with our fd) or take the caller's fd. */
static int open_tap(const char *name, int given, vs_err *err)
{
	struct ifreq ifr = { 0 };
	int fd = given;
	if (fd < 0) {
		if (!*name || strlen(name) >= IFNAMSIZ)
			return vs_fail(err, EINVAL, "--net: tap=%s: 1-%d bytes", name,
				       IFNAMSIZ - 1);
		fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			return vs_fail_errno(err, "--net: open /dev/net/tun");
		memcpy(ifr.ifr_name, name, strlen(name));
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
		if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
			int e = errno;
			close(fd);
			return vs_fail(err, e, "--net: tap=%s: TUNSETIFF", name);
		}
	} else {
		if (ioctl(fd, TUNGETIFF, &ifr) < 0)
			return vs_fail_errno(err, "--net: fd=%d: not a tap (TUNGETIFF)", fd);
		if ((ifr.ifr_flags & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)) !=
		    (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
			return vs_fail(err, EINVAL,
				       "--net: fd=%d: not opened IFF_TAP|IFF_NO_PI|IFF_VNET_HDR",
				       fd);
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
			return vs_fail_errno(err, "--net: fd=%d: fcntl", fd);
	}
	int hdr = HDR_LEN;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 || ioctl(fd, TUNSETOFFLOAD, 0UL) < 0) {
		int e = errno;
		if (given < 0)
			close(fd);
		return vs_fail(err, e, "--net: tap: TUNSETVNETHDRSZ/TUNSETOFFLOAD");
	}
	return fd;
}

/* "tap=NAME[,mac=MAC]" or "fd=N[,mac=MAC]". */
static int parse_net(const char *spec, uint8_t mac_out[6], vs_err *err)
{
	char *copy = strdup(spec);
	if (!copy)
		return vs_fail(err, ENOMEM, "--net");
	char *tap = NULL, *save = NULL;
	int fd = -1, rc = 0;
	bool mac = false;
	for (char *kv = strtok_r(copy, ",", &save); kv && !rc; kv = strtok_r(NULL, ",", &save)) {
		if (!strncmp(kv, "tap=", 4) && !tap && fd < 0) {
			tap = kv + 4;
		} else if (!strncmp(kv, "fd=", 3) && !tap && fd < 0) {
			char *end;
			long v = strtol(kv + 3, &end, 10);
			if (!kv[3] || *end || v < 3 || v > 1 << 20)
				rc = vs_fail(err, EINVAL, "--net: %s: want a number >= 3", kv);
			fd = (int)v;
		} else if (!strncmp(kv, "mac=", 4) && !mac) {
			rc = parse_mac(kv + 4, mac_out, err);
			mac = true;
		} else {
			rc = vs_fail(err, EINVAL,
				     "--net: \"%s\": want tap=NAME or fd=N, then mac=MAC", kv);
		}
	}
	if (!rc && !tap && fd < 0)
		rc = vs_fail(err, EINVAL, "--net %s: tap=NAME or fd=N is required", spec);
	if (!rc && !mac) {
		/* Locally administered unicast, random per VM. */
		if (getrandom(mac_out, 6, 0) != 6)
			memset(mac_out, 0x5a, 6);
		mac_out[0] = (uint8_t)((mac_out[0] & 0xfe) | 0x02);
	}
	if (!rc)
		rc = open_tap(tap ? tap : "", fd, err);
	free(copy);
	return rc;
}

static bool net_wanted(const vs_vm_config *cfg)
{
	return cfg->net != NULL;
}

vs_virtio_dev *vs_virtio_net_new(vs_dev_ctx *ctx, const vs_guest_mem *mem, int tap,
				 const uint8_t mac[6], vs_err *err)
{
	struct net *n = calloc(1, sizeof(*n));
	vs_virtio_dev *d =
		n ? vs_virtio_new(ctx, &net_ops,
				  VIRTIO_NET_F_CSUM | VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS, n)
		  : NULL;
	if (!d) {
		free(n);
		vs_fail(err, ENOMEM, "allocating virtio-net");
		return NULL;
	}
	if (mem)
		d->mem = mem;
	n->tap = tap;
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
	int tap = parse_net(cfg->net, mac, err);
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
