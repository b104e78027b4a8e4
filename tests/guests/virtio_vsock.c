/* virtio-vsock: the guest connects to host port 5000 (a listener the test
 * opens at PATH_5000), sends data with header and payload in one descriptor
 * and in two, and with the payload split across three descriptors (as newer
 * kernels send page fragments), and reads the host's checksum back; connects to a closed port
 * and gets RST; then accepts the host's `CONNECT 6000` with a small
 * advertised buffer and receives more than that buffer, checking that the
 * host never sends beyond the credit, and sends a checksum back. With
 * "linger": accept `CONNECT 6000`, then never answer the SHUTDOWN the host's
 * close brings; the device's close timeout must end it with RST. */
#include "vsock_guest.h"

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
	send(OP_RW, 1235, 5000, msg, 1000, 0, 0);	/* one descriptor */
	send(OP_RW, 1235, 5000, msg + 1000, 524, 1, 0); /* header, payload */
	send(OP_RW, 1235, 5000, msg + 1524, 524, 2, 0); /* header, payload in three */
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
	/* The host's hang-up may cross our close: its SHUTDOWN RCV|SEND can
	 * come before the RST that ends the connection. */
	int rc;
	while ((rc = rx_next(&h, NULL, 0)) == 0 && h.op == OP_SHUTDOWN)
		;
	print("HCLOSE rc=%d op=%u\n", rc, h.op);
}

static void linger(void)
{
	struct hdr h;
	print("LISTENING\n");
	if (rx_next(&h, NULL, 0) < 0 || h.op != OP_REQUEST || h.dst_port != 6000) {
		print("LINGER none\n");
		return;
	}
	uint32_t peer = h.src_port;
	send(OP_RESPONSE, 6000, peer, NULL, 0, 0, 0);
	/* The host's close: SHUTDOWN SEND at its end of stream, then RCV|SEND
	 * at its hang-up. No answer: the connection is left half closed. */
	unsigned flags = 0;
	int rst = 0;
	while (!rst && rx_next(&h, NULL, 0) == 0) {
		if (h.op == OP_SHUTDOWN)
			flags |= h.flags;
		rst = h.op == OP_RST && h.src_port == peer;
	}
	print("LINGER shutdown_flags=%u rst=%d\n", flags, rst);
}

void guest_main(const uint8_t *bp)
{
	const char *cmdline = (const char *)(uintptr_t) * (const uint32_t *)(bp + 0x228);
	uintptr_t base = virtio_find(19);
	if (!base) {
		print("NO_VSOCK\n");
		poweroff();
	}
	vsock_setup(base);
	print("CID %u\n", (unsigned)cid);
	if (cmdline_arg(cmdline, "linger")) {
		linger();
	} else {
		guest_to_host();
		host_to_guest();
	}
	print("DEVSTATUS %x\n", vreg(&dev, VREG_STATUS));
	/* The test counts the VMM's sockets now, with every connection closed. */
	print("IDLE\n");
	while (serial_getc() != 'q')
		;
	print("DONE\n");
	poweroff();
}
