/* virtio-net: MAC and link status from config space; send a plain frame and
 * a UDP frame whose checksum the device must complete (NEEDS_CSUM); receive
 * the host's test frame (ethertype 0x88b5) and check its bytes. With
 * "hostile" on the command line, also send a transmit chain shorter than the
 * header and a receive buffer the device may not write: both must end in
 * DEVICE_NEEDS_RESET, as must a runaway available index and a bad head. */
#include "virtio.h"

#define F_CSUM	 (1ULL << 0)
#define F_MAC	 (1ULL << 5)
#define F_STATUS (1ULL << 16)
#define HDR	 12
#define ETYPE_HI 0x88
#define ETYPE_LO 0xb5

static uint8_t rxring[16384] __attribute__((aligned(4096)));
static uint8_t txring[16384] __attribute__((aligned(4096)));
static uint8_t rxbuf[HDR + 1514];
static uint8_t txbuf[HDR + 128];
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
