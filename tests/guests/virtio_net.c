/* virtio-net: MAC and link status from config space; send a plain frame and
 * a UDP frame whose checksum the device must complete (NEEDS_CSUM); receive
 * the host's test frame (ethertype 0x88b5) and check its bytes. With
 * "hostile" on the command line, also send a transmit chain shorter than the
 * header and a receive buffer the device may not write: both must end in
 * DEVICE_NEEDS_RESET, as must a runaway available index and a bad head.
 * With "gso": send one TSO4 frame (4000 bytes, gso_size 1000) and the same
 * frame lying in six ways, then receive whatever the host sends as TCP from
 * port 4321 into eight 2048-byte buffers; with "offload" as well, negotiate
 * GUEST_CSUM, GUEST_TSO4, HOST_TSO4 and MRG_RXBUF first, and afterwards
 * reset, renegotiate without them and receive again (RXAGAIN); "nocsum" leaves
 * CSUM out, which HOST_TSO4 depends on. */
#include "virtio.h"

#define F_CSUM	 (1ULL << 0)
#define F_MAC	 (1ULL << 5)
#define F_STATUS (1ULL << 16)
#define F_GCSUM	 (1ULL << 1)
#define F_GTSO4	 (1ULL << 7)
#define F_HTSO4	 (1ULL << 11)
#define F_MRG	 (1ULL << 15)
#define TSO_PAY	 4000
#define TSO_MSS	 1000
#define RXBUFS	 8
#define RXBUFSZ	 2048
#define HDR	 12
#define ETYPE_HI 0x88
#define ETYPE_LO 0xb5

static uint8_t rxring[16384] __attribute__((aligned(4096)));
static uint8_t txring[16384] __attribute__((aligned(4096)));
static uint8_t rxbuf[HDR + 1514];
static uint8_t txbuf[HDR + 128];
static uint8_t bigtx[HDR + 54 + TSO_PAY];
static uint8_t rxbufs[RXBUFS][RXBUFSZ];
static uint8_t frame[HDR + 54 + 65536];
static struct vdev dev;
static uint8_t mac[6];

static const char tx_payload[] = "vessel-net-tx-payload";
static const char rx_payload[] = "vessel-net-rx-payload";
static const char udp_payload[] = "vessel-net-csum-payload";

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint8_t *eth(uint8_t *f, uint8_t hi, uint8_t lo)
{
	memset(f, 0xff, 6); /* broadcast */
	memcpy(f + 6, mac, 6);
	f[12] = hi;
	f[13] = lo;
	return f + 14;
}

static long send(size_t frame_len)
{
	struct vbuf b = { txbuf, (uint32_t)(HDR + frame_len), 0 };
	return virtio_xfer(&dev, 1, &b, 1);
}

static void send_plain(void)
{
	memset(txbuf, 0, sizeof(txbuf));
	uint8_t *p = eth(txbuf + HDR, ETYPE_HI, ETYPE_LO);
	memcpy(p, tx_payload, sizeof(tx_payload) - 1);
	print("TX used=%d\n", (int)send(14 + sizeof(tx_payload) - 1));
}

/* IPv4/UDP 10.99.0.2 -> 10.99.0.1; the UDP checksum field holds only the
 * pseudo-header sum, as Linux's stack leaves it for an offloading NIC. */
static void send_needs_csum(void)
{
	memset(txbuf, 0, sizeof(txbuf));
	uint8_t *ip = eth(txbuf + HDR, 0x08, 0x00);
	uint16_t ulen = (uint16_t)(8 + sizeof(udp_payload) - 1), tlen = (uint16_t)(20 + ulen);
	uint8_t iph[20] = { 0x45,
			    0,
			    (uint8_t)(tlen >> 8),
			    (uint8_t)tlen,
			    0,
			    1,
			    0x40,
			    0,
			    64,
			    17,
			    0,
			    0,
			    10,
			    99,
			    0,
			    2,
			    10,
			    99,
			    0,
			    1 };
	uint16_t ic = (uint16_t)~fold(sum16(iph, 20, 0));
	iph[10] = (uint8_t)(ic >> 8);
	iph[11] = (uint8_t)ic;
	memcpy(ip, iph, 20);
	uint8_t *udp = ip + 20;
	udp[0] = 0x04, udp[1] = 0xd2; /* 1234 */
	udp[2] = 0x16, udp[3] = 0x2e; /* 5678 */
	udp[4] = (uint8_t)(ulen >> 8), udp[5] = (uint8_t)ulen;
	memcpy(udp + 8, udp_payload, sizeof(udp_payload) - 1);
	uint32_t ps = sum16(iph + 12, 8, 0) + 17 + ulen;
	uint16_t pseudo = fold(ps);
	udp[6] = (uint8_t)(pseudo >> 8), udp[7] = (uint8_t)pseudo;
	txbuf[0] = 1;		     /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
	txbuf[6] = 34, txbuf[7] = 0; /* csum_start: after Ethernet + IP */
	txbuf[8] = 6, txbuf[9] = 0;  /* csum_offset: UDP checksum field */
	print("CSUMTX used=%d\n", (int)send(14 + tlen));
}

static void receive(void)
{
	for (int tries = 0; tries < 8; tries++) {
		memset(rxbuf, 0, sizeof(rxbuf));
		struct vbuf b = { rxbuf, sizeof(rxbuf), 1 };
		virtio_post(&dev, 0, &b, 1);
		if (tries == 0)
			print("RXREADY\n");
		long len = virtio_wait(&dev, 0, 50000000UL);
		if (len < 0) {
			print("RX none\n");
			return;
		}
		uint8_t *f = rxbuf + HDR;
		if (f[12] != ETYPE_HI || f[13] != ETYPE_LO)
			continue; /* someone else's frame */
		uint16_t nbuf = (uint16_t)(rxbuf[10] | rxbuf[11] << 8);
		unsigned ok = len == (long)(HDR + 14 + sizeof(rx_payload) - 1) &&
			      !memcmp(f, mac, 6) &&
			      !memcmp(f + 14, rx_payload, sizeof(rx_payload) - 1);
		print("RX len=%d ok=%u num_buffers=%u\n", (int)len, ok, nbuf);
		return;
	}
	print("RX other\n");
}

static unsigned needs_reset(void)
{
	for (int i = 0; i < 2000000; i++)
		if (vreg(&dev, VREG_STATUS) & VSTAT_NEEDS_RESET)
			return 1;
	return 0;
}

static void start(uintptr_t base, uint64_t want)
{
	virtio_begin(&dev, base, want);
	virtio_queue(&dev, 0, 8, rxring);
	virtio_queue(&dev, 1, 8, txring);
	virtio_driver_ok(&dev);
}

static void hostile(uintptr_t base)
{
	/* A transmit chain of 4 bytes: less than the header it must carry. */
	start(base, F_MAC);
	struct vbuf tiny = { txbuf, 4, 0 };
	virtio_post(&dev, 1, &tiny, 1);
	print("CASE short_tx needs_reset=%u\n", needs_reset());
	/* A receive buffer the device may only read. */
	start(base, F_MAC);
	struct vbuf ro = { rxbuf, sizeof(rxbuf), 0 };
	virtio_post(&dev, 0, &ro, 1);
	print("CASE readonly_rx needs_reset=%u\n", needs_reset());
	/* A transmit buffer running past the end of guest RAM. */
	start(base, F_MAC);
	struct vbuf past = { (void *)(uintptr_t)0x7ffff000, 0x2000, 0 };
	virtio_post(&dev, 1, &past, 1);
	print("CASE tx_outside needs_reset=%u\n", needs_reset());
	/* An available index far ahead of the ring. */
	start(base, F_MAC);
	dev.q[1].avail[1] = 100;
	barrier();
	vreg_set(&dev, VREG_QUEUE_NOTIFY, 1);
	print("CASE avail_ahead needs_reset=%u\n", needs_reset());
	/* A head descriptor index beyond the ring. */
	start(base, F_MAC);
	dev.q[1].avail[2] = 200;
	barrier();
	dev.q[1].avail[1] = 1;
	barrier();
	vreg_set(&dev, VREG_QUEUE_NOTIFY, 1);
	print("CASE bad_head needs_reset=%u\n", needs_reset());
	/* After a reset the device works again. */
	start(base, F_MAC);
	send_plain();
}

/* The TSO4 frame, with its header altered by `lie` (0: honest). */
static void send_tso(int lie)
{
	uint8_t *f = bigtx + HDR;
	memset(bigtx, 0, HDR);
	uint8_t *ip = eth(f, 0x08, 0x00);
	uint16_t tlen = (uint16_t)(40 + TSO_PAY);
	uint8_t iph[20] = { 0x45,
			    0,
			    (uint8_t)(tlen >> 8),
			    (uint8_t)tlen,
			    0,
			    1,
			    0x40,
			    0,
			    64,
			    6,
			    0,
			    0,
			    10,
			    99,
			    0,
			    2,
			    10,
			    99,
			    0,
			    1 };
	uint16_t ic = (uint16_t)~fold(sum16(iph, 20, 0));
	iph[10] = (uint8_t)(ic >> 8);
	iph[11] = (uint8_t)ic;
	memcpy(ip, iph, 20);
	uint8_t *tcp = ip + 20;
	memset(tcp, 0, 20);
	uint16_t sport = (uint16_t)(1234 + lie);
	tcp[0] = (uint8_t)(sport >> 8), tcp[1] = (uint8_t)sport;
	tcp[2] = 0x16, tcp[3] = 0x2e; /* 5678 */
	tcp[7] = 1;		      /* seq 1 */
	tcp[12] = 0x50;		      /* data offset 5 */
	tcp[13] = 0x18;		      /* PSH|ACK */
	tcp[14] = 0xff, tcp[15] = 0xff;
	for (int i = 0; i < TSO_PAY; i++)
		tcp[20 + i] = (uint8_t)(i * 7 + 3);
	/* Pseudo-header sum with the whole TCP length, as Linux leaves it. */
	uint16_t pseudo = fold(sum16(iph + 12, 8, 0) + 6 + 20 + TSO_PAY);
	tcp[16] = (uint8_t)(pseudo >> 8), tcp[17] = (uint8_t)pseudo;
	uint16_t hdr_len = 54, gso_size = TSO_MSS, cstart = 34, coff = 16;
	uint8_t flags = 1, type = 1; /* NEEDS_CSUM, GSO_TCPV4 */
	if (lie == 1)
		type = 4; /* TCPV6: not negotiated */
	if (lie == 2)
		hdr_len = 60000; /* beyond the frame */
	if (lie == 3)
		cstart = 5000; /* beyond the frame */
	if (lie == 4)
		gso_size = 0;
	if (lie == 5)
		coff = 6; /* not TCP's checksum field */
	if (lie == 6)
		flags = 0; /* GSO with nothing to checksum */
	bigtx[0] = flags, bigtx[1] = type;
	bigtx[2] = (uint8_t)hdr_len, bigtx[3] = (uint8_t)(hdr_len >> 8);
	bigtx[4] = (uint8_t)gso_size, bigtx[5] = (uint8_t)(gso_size >> 8);
	bigtx[6] = (uint8_t)cstart, bigtx[7] = (uint8_t)(cstart >> 8);
	bigtx[8] = (uint8_t)coff, bigtx[9] = (uint8_t)(coff >> 8);
	struct vbuf b = { bigtx, sizeof(bigtx), 0 };
	print("TSOTX lie=%d used=%d\n", lie, (int)virtio_xfer(&dev, 1, &b, 1));
}

static void rx_post(uint16_t i)
{
	struct vqueue *vq = &dev.q[0];
	vq->desc[i] = (struct vdesc){ (uint64_t)(uintptr_t)rxbufs[i], RXBUFSZ, VDESC_WRITE, 0 };
	vq->avail[2 + vq->avail_idx % vq->num] = i;
	barrier();
	vq->avail[1] = ++vq->avail_idx;
	barrier();
	vreg_set(&dev, VREG_QUEUE_NOTIFY, 0);
}

/* Next used receive buffer: its index, and its length in *len; -1 if none. */
static int rx_next(uint32_t *len)
{
	struct vqueue *vq = &dev.q[0];
	for (unsigned long i = 0; i < 30000000UL; i++) {
		barrier();
		uint16_t idx = *(volatile uint16_t *)(vq->used + 2);
		if (idx != vq->used_seen) {
			volatile uint8_t *e = vq->used + 4 + 8 * (vq->used_seen % vq->num);
			vq->used_seen++;
			*len = *(volatile uint32_t *)(e + 4);
			return (int)*(volatile uint32_t *)e;
		}
	}
	return -1;
}

/* Receive the host's TCP frames (from port 4321) until TSO_PAY payload
 * bytes came, each frame reassembled from its num_buffers buffers. */
static void gso_receive(const char *ready)
{
	for (uint16_t i = 0; i < RXBUFS; i++)
		rx_post(i);
	print("%s\n", ready);
	uint32_t bytes = 0, sum = 0;
	while (bytes < TSO_PAY) {
		uint32_t len;
		int b = rx_next(&len);
		if (b < 0 || b >= RXBUFS || len > RXBUFSZ)
			break;
		size_t flen = len;
		memcpy(frame, rxbufs[b], len);
		rx_post((uint16_t)b);
		uint16_t nbuf = (uint16_t)(frame[10] | frame[11] << 8);
		for (uint16_t k = 1; k < nbuf && b >= 0; k++) {
			b = rx_next(&len);
			if (b < 0 || b >= RXBUFS || len > RXBUFSZ || flen + len > sizeof(frame)) {
				b = -1;
				break;
			}
			memcpy(frame + flen, rxbufs[b], len);
			flen += len;
			rx_post((uint16_t)b);
		}
		if (b < 0)
			break;
		uint8_t *f = frame + HDR, *ip = f + 14, *tcp = ip + 20;
		if (flen < HDR + 54 || f[12] != 0x08 || ip[9] != 6 || tcp[0] != 0x10 ||
		    tcp[1] != 0xe1)
			continue; /* not the host's */
		size_t tcplen = flen - HDR - 34;
		/* A complete checksum sums to 0xffff with the pseudo-header. */
		unsigned ok = fold(sum16(tcp, tcplen, sum16(ip + 12, 8, 0) + 6 + tcplen)) == 0xffff;
		if (frame[0] & 1)
			ok = 2; /* NEEDS_CSUM: partial, for us to finish */
		for (size_t i = 54; i < flen - HDR; i++)
			sum += f[i];
		bytes += (uint32_t)(flen - HDR - 54);
		print("RXF nbuf=%u flags=%u gso=%u gso_size=%u len=%u csum=%u\n", nbuf, frame[0],
		      frame[1], (unsigned)(frame[4] | frame[5] << 8), (unsigned)flen, ok);
	}
	print("RXDONE bytes=%u sum=%u\n", bytes, sum);
}

static void gso(uintptr_t base, int offload, int nocsum)
{
	uint64_t want = F_CSUM | F_MAC | F_STATUS;
	if (offload)
		want |= F_GCSUM | F_GTSO4 | F_HTSO4 | F_MRG;
	if (nocsum)
		want &= ~F_CSUM; /* HOST_TSO4 without the CSUM it depends on */
	vreg_set(&dev, VREG_DEV_FEAT_SEL, 0);
	print("OFFERED %x\n", vreg(&dev, VREG_DEV_FEAT));
	print("FEATURES_OK %d\n", virtio_begin(&dev, base, want) == 0);
	virtio_queue(&dev, 0, 16, rxring);
	virtio_queue(&dev, 1, 8, txring);
	virtio_driver_ok(&dev);
	for (int lie = 0; lie <= 6; lie++)
		send_tso(lie);
	send_plain();
	gso_receive("RXREADY");
	if (!offload)
		return;
	/* Reset and come back without offloads: the tap must be told. */
	virtio_begin(&dev, base, F_CSUM | F_MAC | F_STATUS);
	virtio_queue(&dev, 0, 16, rxring);
	virtio_queue(&dev, 1, 8, txring);
	virtio_driver_ok(&dev);
	gso_receive("RXAGAIN");
}

void guest_main(const uint8_t *bp)
{
	uintptr_t base = virtio_find(1);
	if (!base) {
		print("NO_NET\n");
		poweroff();
	}
	virtio_begin(&dev, base, F_CSUM | F_MAC | F_STATUS);
	uint32_t c0 = vreg(&dev, VREG_CONFIG), c1 = vreg(&dev, VREG_CONFIG + 4);
	for (int i = 0; i < 4; i++)
		mac[i] = (uint8_t)(c0 >> (8 * i));
	mac[4] = (uint8_t)c1;
	mac[5] = (uint8_t)(c1 >> 8);
	print("MAC %2x:%2x:%2x:%2x:%2x:%2x\n", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	print("LINK %u\n", (c1 >> 16) & 1);
	const char *cmdline = (const char *)(uintptr_t) * (const uint32_t *)(bp + 0x228);
	if (cmdline_arg(cmdline, "gso")) {
		gso(base, cmdline_arg(cmdline, "offload") != NULL,
		    cmdline_arg(cmdline, "nocsum") != NULL);
		print("DONE\n");
		poweroff();
	}
	if (cmdline_arg(cmdline, "hostile")) {
		hostile(base);
		print("DONE\n");
		poweroff();
	}
	virtio_queue(&dev, 0, 8, rxring);
	virtio_queue(&dev, 1, 8, txring);
	virtio_driver_ok(&dev);
	send_plain();
	send_needs_csum();
	receive();
	print("DONE\n");
	poweroff();
}
