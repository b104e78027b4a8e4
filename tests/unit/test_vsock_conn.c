/* The vsock connection state machine against fake host sockets: set-up
 * both ways, data both ways, credit, shutdown, RST, the connection cap,
 * hostile headers and CONNECT lines, and random scripts through the fuzz
 * target's entry point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vsock/conn.h"
#include "vm/vsock/hybrid.h"
#include "vm/vsock/packet.h"

#include "../fuzz/fuzz_vsock.c"

#define CID	 7
#define NSOCK	 16
#define LISTENER 52 /* the only host port with a listener at PATH_52 */

/* A fake host socket. */
struct sock {
	bool open, wr_shut;
	char written[4096];
	size_t nwritten;
	size_t write_room; /* bytes it accepts before -EAGAIN */
	char unread[4096];
	size_t nunread, read_at;
	bool eof;
};

static struct sock socks[NSOCK];
static int nsocks, connects;
static uint32_t last_connect_port;

static int host_connect(void *ctx, uint32_t port)
{
	(void)ctx;
	connects++;
	last_connect_port = port;
	if (port != LISTENER || nsocks == NSOCK)
		return -ECONNREFUSED;
	socks[nsocks] = (struct sock){ .open = true, .write_room = SIZE_MAX };
	return nsocks++;
}

static ssize_t host_read(void *ctx, int h, void *buf, size_t len)
{
	(void)ctx;
	struct sock *s = &socks[h];
	assert_true(s->open);
	size_t left = s->nunread - s->read_at;
	if (!left)
		return s->eof ? 0 : -EAGAIN;
	size_t n = len < left ? len : left;
	memcpy(buf, s->unread + s->read_at, n);
	s->read_at += n;
	return (ssize_t)n;
}

static ssize_t host_write(void *ctx, int h, const void *buf, size_t len)
{
	(void)ctx;
	struct sock *s = &socks[h];
	assert_true(s->open);
	assert_false(s->wr_shut);
	size_t n = len < s->write_room ? len : s->write_room;
	if (n > sizeof(s->written) - s->nwritten)
		n = sizeof(s->written) - s->nwritten;
	if (!n)
		return -EAGAIN;
	memcpy(s->written + s->nwritten, buf, n);
	s->nwritten += n;
	s->write_room -= n;
	return (ssize_t)n;
}

static void host_shutdown_write(void *ctx, int h)
{
	(void)ctx;
	socks[h].wr_shut = true;
}

static void host_close(void *ctx, int h)
{
	(void)ctx;
	assert_true(socks[h].open); /* closed once */
	socks[h].open = false;
}

static uint64_t clock_ms = 1000000; /* the fake monotonic clock */

static uint64_t fake_now(void *ctx)
{
	(void)ctx;
	return clock_ms;
}

static vs_vsock *v;
static uint32_t our_buf_alloc;
static vs_err err;

static vs_vsock *make(unsigned max_conns, uint32_t buf_alloc)
{
	memset(socks, 0, sizeof(socks));
	nsocks = connects = 0;
	vs_vsock_config cfg = {
		.guest_cid = CID,
		.max_conns = max_conns,
		.buf_alloc = buf_alloc,
		.ops = { host_connect, host_read, host_write, host_shutdown_write, host_close,
			 fake_now },
	};
	our_buf_alloc = buf_alloc;
	vs_vsock *r = vs_vsock_new(&cfg, &err);
	assert_non_null(r);
	return r;
}

static int setup(void **state)
{
	(void)state;
	v = make(8, 1024);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vs_vsock_free(v);
	for (int i = 0; i < nsocks; i++)
		assert_false(socks[i].open); /* nothing left open */
	return 0;
}

/* A guest packet: header (host byte order in, little-endian out) + payload. */
static int guest(uint16_t op, uint32_t gport, uint32_t hport, uint32_t flags, uint32_t buf_alloc,
		 uint32_t fwd_cnt, const char *payload)
{
	uint8_t pkt[VS_VSOCK_HDR_SIZE + 2048];
	size_t len = payload ? strlen(payload) : 0;
	vs_vsock_hdr h = { .src_cid = CID,
			   .dst_cid = VS_VSOCK_HOST_CID,
			   .src_port = gport,
			   .dst_port = hport,
			   .len = (uint32_t)len,
			   .type = VS_VSOCK_TYPE_STREAM,
			   .op = op,
			   .flags = flags,
			   .buf_alloc = buf_alloc,
			   .fwd_cnt = fwd_cnt };
	vs_vsock_hdr_encode(&h, pkt);
	memcpy(pkt + VS_VSOCK_HDR_SIZE, payload ? payload : "", len);
	return vs_vsock_guest_packet(v, pkt, VS_VSOCK_HDR_SIZE + len, &err);
}

static uint8_t rxbuf[VS_VSOCK_MAX_PAYLOAD];

/* The next packet for the guest must be `op` between these ports. */
static vs_vsock_hdr expect(uint16_t op, uint32_t gport, uint32_t hport, size_t cap)
{
	vs_vsock_hdr h;
	assert_int_equal(vs_vsock_next_rx(v, &h, rxbuf, cap), 1);
	assert_string_equal(vs_vsock_op_name(h.op), vs_vsock_op_name(op));
	assert_int_equal(h.src_cid, VS_VSOCK_HOST_CID);
	assert_int_equal(h.dst_cid, CID);
	assert_int_equal(h.src_port, hport);
	assert_int_equal(h.dst_port, gport);
	assert_int_equal(h.type, VS_VSOCK_TYPE_STREAM);
	if (op != VS_VSOCK_OP_RW)
		assert_int_equal(h.len, 0);
	return h;
}

static void expect_nothing(void)
{
	vs_vsock_hdr h;
	assert_int_equal(vs_vsock_next_rx(v, &h, rxbuf, sizeof(rxbuf)), 0);
}

static void host_has(int s, const char *data)
{
	size_t n = strlen(data);
	memcpy(socks[s].unread + socks[s].nunread, data, n);
	socks[s].nunread += n;
	vs_vsock_host_readable(v, s);
}

/* Guest port 1000 connects to the listener; the fake socket is 0. */
static void guest_connects(void)
{
	assert_int_equal(guest(VS_VSOCK_OP_REQUEST, 1000, LISTENER, 0, 4096, 0, NULL), 0);
	assert_int_equal(last_connect_port, LISTENER);
	vs_vsock_hdr h = expect(VS_VSOCK_OP_RESPONSE, 1000, LISTENER, sizeof(rxbuf));
	assert_int_equal(h.buf_alloc, our_buf_alloc); /* our buffer, advertised */
	assert_int_equal(vs_vsock_conn_count(v), 1);
	expect_nothing();
}

static void test_guest_connect_and_data(void **state)
{
	(void)state;
	guest_connects();
	assert_int_equal(guest(VS_VSOCK_OP_RW, 1000, LISTENER, 0, 4096, 0, "hello"), 0);
	assert_int_equal(socks[0].nwritten, 5);
	assert_memory_equal(socks[0].written, "hello", 5);

	host_has(0, "world");
	vs_vsock_hdr h = expect(VS_VSOCK_OP_RW, 1000, LISTENER, sizeof(rxbuf));
	assert_int_equal(h.len, 5);
	assert_memory_equal(rxbuf, "world", 5);
	assert_int_equal(h.fwd_cnt, 5); /* what we handed to the host so far */
	expect_nothing();
}

static void test_rst_for_closed_port(void **state)
{
	(void)state;
	assert_int_equal(guest(VS_VSOCK_OP_REQUEST, 1000, 53, 0, 4096, 0, NULL), 0);
	assert_int_equal(last_connect_port, 53);
	expect(VS_VSOCK_OP_RST, 1000, 53, sizeof(rxbuf));
	expect_nothing();
	assert_int_equal(vs_vsock_conn_count(v), 0);
	/* Data for a connection that does not exist: RST, no socket touched. */
	assert_int_equal(guest(VS_VSOCK_OP_RW, 1001, LISTENER, 0, 4096, 0, "x"), 0);
	expect(VS_VSOCK_OP_RST, 1001, LISTENER, sizeof(rxbuf));
	/* An RST for nothing is not answered (no RST ping-pong). */
	assert_int_equal(guest(VS_VSOCK_OP_RST, 1002, LISTENER, 0, 4096, 0, NULL), 0);
	expect_nothing();
	assert_int_equal(connects, 1);
}

static void test_host_connect(void **state)
{
	(void)state;
	vs_vsock_line l;
	vs_vsock_line_init(&l);
	size_t used;
	uint32_t gport, hport;
	const char *in = "CONNECT 1234\nfirst bytes";
	assert_int_equal(vs_vsock_line_feed(&l, in, strlen(in), &used, &gport, &err), 1);
	assert_int_equal(used, 13);
	assert_int_equal(gport, 1234);

	socks[0] = (struct sock){ .open = true, .write_room = SIZE_MAX };
	nsocks = 1;
	assert_int_equal(vs_vsock_host_connect(v, 0, gport, &hport, &err), 0);
	assert_true(hport >= VS_VSOCK_EPHEMERAL_BASE);
	expect(VS_VSOCK_OP_REQUEST, 1234, hport, sizeof(rxbuf));
	expect_nothing();
	assert_int_equal(socks[0].nwritten, 0); /* no OK before the guest accepts */

	assert_int_equal(guest(VS_VSOCK_OP_RESPONSE, 1234, hport, 0, 4096, 0, NULL), 0);
	char ok[VS_VSOCK_LINE_MAX];
	snprintf(ok, sizeof(ok), "OK %u\n", hport);
	assert_int_equal(socks[0].nwritten, strlen(ok));
	assert_memory_equal(socks[0].written, ok, strlen(ok));

	assert_int_equal(guest(VS_VSOCK_OP_RW, 1234, hport, 0, 4096, 0, "pong"), 0);
	assert_memory_equal(socks[0].written + strlen(ok), "pong", 4);
	host_has(0, "ping");
	vs_vsock_hdr h = expect(VS_VSOCK_OP_RW, 1234, hport, sizeof(rxbuf));
	assert_memory_equal(rxbuf, "ping", 4);
	assert_int_equal(h.fwd_cnt, 4); /* the OK line is not guest data */

	/* A second host connection to the same guest port gets another port. */
	socks[1] = (struct sock){ .open = true, .write_room = SIZE_MAX };
	nsocks = 2;
	uint32_t hport2;
	assert_int_equal(vs_vsock_host_connect(v, 1, gport, &hport2, &err), 0);
	assert_int_not_equal(hport2, hport);
	/* The guest refuses it: the host socket is closed, nothing written. */
	expect(VS_VSOCK_OP_REQUEST, 1234, hport2, sizeof(rxbuf));
	assert_int_equal(guest(VS_VSOCK_OP_RST, 1234, hport2, 0, 0, 0, NULL), 0);
	expect_nothing();
	assert_false(socks[1].open);
	assert_int_equal(socks[1].nwritten, 0);
}

static void test_credit_to_guest(void **state)
{
	(void)state;
	/* The guest advertises 10 bytes of buffer. */
	assert_int_equal(guest(VS_VSOCK_OP_REQUEST, 1000, LISTENER, 0, 10, 0, NULL), 0);
	expect(VS_VSOCK_OP_RESPONSE, 1000, LISTENER, sizeof(rxbuf));
	host_has(0, "0123456789abcdefghijklmno"); /* 25 bytes */
	vs_vsock_hdr h = expect(VS_VSOCK_OP_RW, 1000, LISTENER, sizeof(rxbuf));
	assert_int_equal(h.len, 10);
	/* Credit exhausted: the rest waits, and the device stops polling. */
	expect_nothing();
	assert_false(vs_vsock_wants_read(v, 0));
	assert_int_equal(socks[0].read_at, 10);

	/* The guest consumed 4: 4 bytes of credit. */
	assert_int_equal(guest(VS_VSOCK_OP_CREDIT_UPDATE, 1000, LISTENER, 0, 10, 4, NULL), 0);
	h = expect(VS_VSOCK_OP_RW, 1000, LISTENER, sizeof(rxbuf));
	assert_int_equal(h.len, 4);
	assert_memory_equal(rxbuf, "abcd", 4);
	expect_nothing();
	/* All consumed: 10 more, but the rx buffer offered holds only 3. */
	assert_int_equal(guest(VS_VSOCK_OP_CREDIT_UPDATE, 1000, LISTENER, 0, 10, 14, NULL), 0);
	h = expect(VS_VSOCK_OP_RW, 1000, LISTENER, 3);
	assert_int_equal(h.len, 3);
	h = expect(VS_VSOCK_OP_RW, 1000, LISTENER, sizeof(rxbuf));
	assert_int_equal(h.len, 7);
	assert_memory_equal(rxbuf, "hijklmn", 7);
	expect_nothing();

	/* A guest claiming to have consumed more than we sent gains nothing. */
	assert_int_equal(guest(VS_VSOCK_OP_CREDIT_UPDATE, 1000, LISTENER, 0, 10, 1000, NULL), 0);
	vs_vsock_host_readable(v, 0);
	expect_nothing();
	assert_int_equal(socks[0].read_at, 24);
}

static void test_credit_from_guest(void **state)
{
	(void)state;
	vs_vsock_free(v);
	v = make(8, 16); /* we advertise 16 bytes */
	guest_connects();
	socks[0].write_room = 0; /* the host reader is slow */
	assert_int_equal(guest(VS_VSOCK_OP_RW, 1000, LISTENER, 0, 4096, 0, "0123456789"), 0);
	assert_int_equal(guest(VS_VSOCK_OP_RW, 1000, LISTENER, 0, 4096, 0, "abcdef"), 0);
	assert_true(vs_vsock_wants_write(v, 0));
	expect_nothing(); /* nothing forwarded: no credit to give back */

	/* One byte beyond the 16 we advertised: hostile, the connection is reset. */
	assert_int_equal(guest(VS_VSOCK_OP_RW, 1000, LISTENER, 0, 4096, 0, "!"), -1);
	assert_non_null(strstr(err.msg, "beyond the credit"));
	expect(VS_VSOCK_OP_RST, 1000, LISTENER, sizeof(rxbuf));
	assert_false(socks[0].open);
	assert_int_equal(socks[0].nwritten, 0);
	assert_int_equal(vs_vsock_conn_count(v), 0);
}

static void test_credit_update_when_drained(void **state)
{
	(void)state;
	vs_vsock_free(v);
	v = make(8, 16);
	guest_connects();
	socks[0].write_room = 0;
	assert_int_equal(guest(VS_VSOCK_OP_RW, 1000, LISTENER, 0, 4096, 0, "0123456789abcdef"), 0);
	/* The host takes 5: not yet half the buffer, no update. */
	socks[0].write_room = 5;
	vs_vsock_host_writable(v, 0);
	expect_nothing();
	/* Takes the rest: the guest hears fwd_cnt 16 and may send again. */
	socks[0].write_room = SIZE_MAX;
	vs_vsock_host_writable(v, 0);
	assert_false(vs_vsock_wants_write(v, 0));
	assert_memory_equal(socks[0].written, "0123456789abcdef", 16);
	vs_vsock_hdr h = expect(VS_VSOCK_OP_CREDIT_UPDATE, 1000, LISTENER, sizeof(rxbuf));
	assert_int_equal(h.fwd_cnt, 16);
	assert_int_equal(h.buf_alloc, 16);
	expect_nothing();
	assert_int_equal(guest(VS_VSOCK_OP_RW, 1000, LISTENER, 0, 4096, 0, "0123456789abcdef"), 0);
	assert_int_equal(socks[0].nwritten, 32);

	/* CREDIT_REQUEST is answered with our numbers. */
	assert_int_equal(guest(VS_VSOCK_OP_CREDIT_REQUEST, 1000, LISTENER, 0, 4096, 0, NULL), 0);
	h = expect(VS_VSOCK_OP_CREDIT_UPDATE, 1000, LISTENER, sizeof(rxbuf));
	assert_int_equal(h.fwd_cnt, 32);
	expect_nothing();
}

static void test_guest_shutdown(void **state)
{
	(void)state;
	guest_connects();
	socks[0].write_room = 2;
	assert_int_equal(guest(VS_VSOCK_OP_RW, 1000, LISTENER, 0, 4096, 0, "bye"), 0);
	/* SHUTDOWN SEND: the host sees end of stream only after the data. */
	assert_int_equal(
		guest(VS_VSOCK_OP_SHUTDOWN, 1000, LISTENER, VS_VSOCK_SHUTDOWN_SEND, 4096, 0, NULL),
		0);
	assert_false(socks[0].wr_shut);
	socks[0].write_room = SIZE_MAX;
	vs_vsock_host_writable(v, 0);
	assert_memory_equal(socks[0].written, "bye", 3);
	assert_true(socks[0].wr_shut);
	/* Data after SHUTDOWN SEND is hostile. */
	assert_int_equal(guest(VS_VSOCK_OP_RW, 1000, LISTENER, 0, 4096, 0, "more"), -1);
	expect(VS_VSOCK_OP_RST, 1000, LISTENER, sizeof(rxbuf));
	assert_false(socks[0].open);

	/* Both flags (the guest's close()): we close the host socket and RST. */
	assert_int_equal(guest(VS_VSOCK_OP_REQUEST, 1001, LISTENER, 0, 4096, 0, NULL), 0);
	expect(VS_VSOCK_OP_RESPONSE, 1001, LISTENER, sizeof(rxbuf));
	host_has(1, "unread");
	assert_int_equal(guest(VS_VSOCK_OP_SHUTDOWN, 1001, LISTENER,
			       VS_VSOCK_SHUTDOWN_SEND | VS_VSOCK_SHUTDOWN_RCV, 4096, 0, NULL),
			 0);
	expect(VS_VSOCK_OP_RST, 1001, LISTENER, sizeof(rxbuf)); /* no RW: it stopped receiving */
	expect_nothing();
	assert_false(socks[1].open);
	assert_int_equal(vs_vsock_conn_count(v), 0);
}

static void test_host_shutdown(void **state)
{
	(void)state;
	guest_connects();
	host_has(0, "last");
	socks[0].eof = true;
	vs_vsock_hdr h = expect(VS_VSOCK_OP_RW, 1000, LISTENER, sizeof(rxbuf));
	assert_int_equal(h.len, 4);
	/* End of stream is the host's half-close: SHUTDOWN SEND only, and the
	 * guest's data still reaches the host. */
	h = expect(VS_VSOCK_OP_SHUTDOWN, 1000, LISTENER, sizeof(rxbuf));
	assert_int_equal(h.flags, VS_VSOCK_SHUTDOWN_SEND);
	expect_nothing();
	assert_int_equal(guest(VS_VSOCK_OP_RW, 1000, LISTENER, 0, 4096, 0, "reply"), 0);
	assert_int_equal(socks[0].nwritten, 5);
	assert_memory_equal(socks[0].written, "reply", 5);
	assert_true(socks[0].open); /* until the guest answers */
	assert_int_equal(guest(VS_VSOCK_OP_RST, 1000, LISTENER, 0, 4096, 0, NULL), 0);
	assert_false(socks[0].open);
	assert_int_equal(vs_vsock_conn_count(v), 0);

	/* A hang-up does the same. */
	assert_int_equal(guest(VS_VSOCK_OP_REQUEST, 1001, LISTENER, 0, 4096, 0, NULL), 0);
	expect(VS_VSOCK_OP_RESPONSE, 1001, LISTENER, sizeof(rxbuf));
	vs_vsock_host_hangup(v, 1);
	h = expect(VS_VSOCK_OP_SHUTDOWN, 1001, LISTENER, sizeof(rxbuf));
	assert_int_equal(h.flags, VS_VSOCK_SHUTDOWN_RCV | VS_VSOCK_SHUTDOWN_SEND);
	assert_int_equal(guest(VS_VSOCK_OP_SHUTDOWN, 1001, LISTENER, 3, 4096, 0, NULL), 0);
	expect(VS_VSOCK_OP_RST, 1001, LISTENER, sizeof(rxbuf));
	assert_false(socks[1].open);
	assert_int_equal(vs_vsock_conn_count(v), 0);
}

/* The attack: a guest opens 10,000 distinct ports. The table stays at the
 * cap, every request beyond it is refused with RST, the host is not asked
 * to connect, and closing one frees a slot for the next. */
static void test_connection_cap(void **state)
{
	(void)state;
	vs_vsock_free(v);
	v = make(4, 1024);
	for (uint32_t p = 0; p < 10000; p++) {
		assert_int_equal(guest(VS_VSOCK_OP_REQUEST, 20000 + p, LISTENER, 0, 4096, 0, NULL),
				 0);
		expect(p < 4 ? VS_VSOCK_OP_RESPONSE : VS_VSOCK_OP_RST, 20000 + p, LISTENER,
		       sizeof(rxbuf));
	}
	assert_int_equal(vs_vsock_conn_count(v), 4);
	assert_int_equal(connects, 4);
	uint32_t hport;
	assert_int_equal(vs_vsock_host_connect(v, 9, 1, &hport, &err), -1);
	assert_non_null(strstr(err.msg, "the limit"));

	/* Without draining, the refusals queue is bounded too. */
	for (uint32_t p = 0; p < 10000; p++)
		assert_int_equal(guest(VS_VSOCK_OP_REQUEST, 40000 + p, LISTENER, 0, 4096, 0, NULL),
				 0);
	int rsts = 0;
	vs_vsock_hdr h;
	while (vs_vsock_next_rx(v, &h, rxbuf, sizeof(rxbuf)))
		rsts++;
	assert_int_equal(rsts, VS_VSOCK_RST_QUEUE);

	assert_int_equal(guest(VS_VSOCK_OP_RST, 20000, LISTENER, 0, 4096, 0, NULL), 0);
	assert_int_equal(guest(VS_VSOCK_OP_REQUEST, 30000, LISTENER, 0, 4096, 0, NULL), 0);
	expect(VS_VSOCK_OP_RESPONSE, 30000, LISTENER, sizeof(rxbuf));
	assert_int_equal(vs_vsock_conn_count(v), 4);

	vs_vsock_config cfg = { .guest_cid = CID, .max_conns = VS_VSOCK_MAX_CONNS_LIMIT + 1 };
	assert_null(vs_vsock_new(&cfg, &err));
}

static void put_hdr(uint8_t *pkt, vs_vsock_hdr h)
{
	vs_vsock_hdr_encode(&h, pkt);
}

static void test_malformed_headers(void **state)
{
	(void)state;
	guest_connects();
	const vs_vsock_hdr good = { .src_cid = CID,
				    .dst_cid = VS_VSOCK_HOST_CID,
				    .src_port = 1000,
				    .dst_port = LISTENER,
				    .type = VS_VSOCK_TYPE_STREAM,
				    .op = VS_VSOCK_OP_RW,
				    .buf_alloc = 4096 };
	static uint8_t pkt[VS_VSOCK_HDR_SIZE + VS_VSOCK_MAX_PAYLOAD + 8];
	struct {
		vs_vsock_hdr h;
		size_t size;
		const char *msg;
	} cases[] = {
		{ good, VS_VSOCK_HDR_SIZE - 1, "shorter than the 44-byte header" },
		{ good, 0, "shorter" },
		{ { .src_cid = CID, .dst_cid = 2, .type = 2, .op = 5 },
		  VS_VSOCK_HDR_SIZE,
		  "type 2" },
		{ { .src_cid = CID, .dst_cid = 2, .type = 1, .op = 0 },
		  VS_VSOCK_HDR_SIZE,
		  "unknown op 0" },
		{ { .src_cid = CID, .dst_cid = 2, .type = 1, .op = 8 },
		  VS_VSOCK_HDR_SIZE,
		  "unknown op 8" },
		{ { .src_cid = CID, .dst_cid = 2, .type = 1, .op = 5, .len = 65537 },
		  sizeof(pkt),
		  "over the 65536-byte limit" },
		{ { .src_cid = CID, .dst_cid = 2, .type = 1, .op = 5, .len = 100 },
		  VS_VSOCK_HDR_SIZE + 99,
		  "only 99 payload bytes" },
		{ { .src_cid = CID, .dst_cid = 2, .type = 1, .op = 1, .len = 4 },
		  VS_VSOCK_HDR_SIZE + 4,
		  "REQUEST with a 4-byte payload" },
		{ { .src_cid = CID, .dst_cid = 2, .type = 1, .op = 4, .flags = 4 },
		  VS_VSOCK_HDR_SIZE,
		  "unknown flags" },
		{ { .src_cid = CID + 1,
		    .dst_cid = 2,
		    .type = 1,
		    .op = 5,
		    .src_port = 1000,
		    .dst_port = LISTENER },
		  VS_VSOCK_HDR_SIZE,
		  "source cid 8 is not the guest's" },
		{ { .src_cid = CID,
		    .dst_cid = 3,
		    .type = 1,
		    .op = 5,
		    .src_port = 1000,
		    .dst_port = LISTENER },
		  VS_VSOCK_HDR_SIZE,
		  "destination cid 3" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(pkt, 'x', sizeof(pkt));
		put_hdr(pkt, cases[i].h);
		vs_err_clear(&err);
		assert_int_equal(vs_vsock_guest_packet(v, pkt, cases[i].size, &err), -1);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: %s", i, err.msg);
		expect_nothing();
	}
	/* Fields are little-endian on the wire whatever the host. */
	put_hdr(pkt, good);
	assert_int_equal(pkt[16], 1000 & 0xff);
	assert_int_equal(pkt[17], 1000 >> 8);
	/* None of it reached the host, and the connection still works. */
	assert_int_equal(socks[0].nwritten, 0);
	assert_int_equal(guest(VS_VSOCK_OP_RW, 1000, LISTENER, 0, 4096, 0, "ok"), 0);
	assert_int_equal(socks[0].nwritten, 2);
	/* A second REQUEST on a live connection is a protocol violation. */
	assert_int_equal(guest(VS_VSOCK_OP_REQUEST, 1000, LISTENER, 0, 4096, 0, NULL), -1);
	expect(VS_VSOCK_OP_RST, 1000, LISTENER, sizeof(rxbuf));
	assert_false(socks[0].open);
}

static void test_connect_line(void **state)
{
	(void)state;
	vs_vsock_line l;
	size_t used;
	uint32_t port = 0;
	/* Split across reads. */
	vs_vsock_line_init(&l);
	assert_int_equal(vs_vsock_line_feed(&l, "CONN", 4, &used, &port, &err), 0);
	assert_int_equal(used, 4);
	assert_int_equal(vs_vsock_line_feed(&l, "ECT 4294967295\n", 15, &used, &port, &err), 1);
	assert_int_equal(port, 4294967295u);
	vs_vsock_line_init(&l);
	assert_int_equal(vs_vsock_line_feed(&l, "CONNECT 0\n", 10, &used, &port, &err), 1);
	assert_int_equal(port, 0);

	const char *bad[] = { "CONNECT\n",
			      "CONNECT \n",
			      "CONNECT 01\n",
			      "CONNECT 4294967296\n",
			      "CONNECT -1\n",
			      "CONNECT +1\n",
			      "connect 1\n",
			      "CONNECT 1 \n",
			      "CONNECT  1\n",
			      "CONNECT 1\r\n",
			      "CONNECT 99999999999\n",
			      "OK 1\n",
			      "\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vs_vsock_line_init(&l);
		if (vs_vsock_line_feed(&l, bad[i], strlen(bad[i]), &used, &port, &err) != -1)
			fail_msg("accepted %s", bad[i]);
	}
	/* A host program that never sends a newline is cut off at the bound. */
	vs_vsock_line_init(&l);
	char junk[4096];
	memset(junk, 'A', sizeof(junk));
	assert_int_equal(vs_vsock_line_feed(&l, junk, sizeof(junk), &used, &port, &err), -1);
	assert_int_equal(used, VS_VSOCK_LINE_MAX);
	assert_non_null(strstr(err.msg, "longer than"));
	/* Embedded NUL is just a bad character. */
	vs_vsock_line_init(&l);
	assert_int_equal(vs_vsock_line_feed(&l, "CONNECT 1\0\n", 11, &used, &port, &err), -1);

	char ok[VS_VSOCK_LINE_MAX];
	assert_int_equal(vs_vsock_format_ok(ok, 4294967295u), 14);
	assert_string_equal(ok, "OK 4294967295\n");
}

/* The attack: the host side ends, we send SHUTDOWN, and the guest never
 * answers. After the close timeout (8 s, Linux's) the connection is reset
 * and its slot freed; a guest answering only with credit updates does not
 * extend it. Before that, nothing happens. */
static void test_close_timeout(void **state)
{
	(void)state;
	guest_connects();
	assert_int_equal(vs_vsock_expire(v), -1); /* established: no deadline */
	vs_vsock_host_hangup(v, 0);
	uint64_t t0 = clock_ms;
	expect(VS_VSOCK_OP_SHUTDOWN, 1000, LISTENER, sizeof(rxbuf));
	clock_ms = t0 + 5000;
	assert_int_equal(guest(VS_VSOCK_OP_CREDIT_UPDATE, 1000, LISTENER, 0, 4096, 0, NULL), 0);
	assert_int_equal(vs_vsock_expire(v), 3000);
	clock_ms = t0 + VS_VSOCK_DEFAULT_CLOSE_TIMEOUT_MS - 1;
	assert_int_equal(vs_vsock_expire(v), 1);
	assert_true(socks[0].open);
	assert_int_equal(vs_vsock_conn_count(v), 1);
	clock_ms = t0 + VS_VSOCK_DEFAULT_CLOSE_TIMEOUT_MS;
	assert_int_equal(vs_vsock_expire(v), -1);
	assert_false(socks[0].open);
	assert_int_equal(vs_vsock_conn_count(v), 0);
	expect(VS_VSOCK_OP_RST, 1000, LISTENER, sizeof(rxbuf));
	expect_nothing();
	/* A late RST from the guest matches nothing and is not answered. */
	assert_int_equal(guest(VS_VSOCK_OP_RST, 1000, LISTENER, 0, 4096, 0, NULL), 0);
	expect_nothing();
}

/* The host program half-closes (end of stream): no deadline, however long
 * the guest goes on sending; its hang-up later starts the close timeout,
 * with a second SHUTDOWN that now carries both flags. */
static void test_host_half_close_is_not_timed_out(void **state)
{
	(void)state;
	guest_connects();
	socks[0].eof = true;
	vs_vsock_host_readable(v, 0);
	vs_vsock_hdr h = expect(VS_VSOCK_OP_SHUTDOWN, 1000, LISTENER, sizeof(rxbuf));
	assert_int_equal(h.flags, VS_VSOCK_SHUTDOWN_SEND);
	clock_ms += 10 * VS_VSOCK_DEFAULT_CLOSE_TIMEOUT_MS;
	assert_int_equal(vs_vsock_expire(v), -1);
	assert_int_equal(guest(VS_VSOCK_OP_RW, 1000, LISTENER, 0, 4096, 0, "late"), 0);
	assert_memory_equal(socks[0].written, "late", 4);
	assert_true(vs_vsock_wants_hangup(v, 0));
	vs_vsock_host_hangup(v, 0);
	assert_false(vs_vsock_wants_hangup(v, 0));
	h = expect(VS_VSOCK_OP_SHUTDOWN, 1000, LISTENER, sizeof(rxbuf));
	assert_int_equal(h.flags, VS_VSOCK_SHUTDOWN_RCV | VS_VSOCK_SHUTDOWN_SEND);
	assert_int_equal(vs_vsock_expire(v), VS_VSOCK_DEFAULT_CLOSE_TIMEOUT_MS);
	clock_ms += VS_VSOCK_DEFAULT_CLOSE_TIMEOUT_MS;
	assert_int_equal(vs_vsock_expire(v), -1);
	assert_false(socks[0].open);
	expect(VS_VSOCK_OP_RST, 1000, LISTENER, sizeof(rxbuf));
}

/* A guest that half-closes (SHUTDOWN SEND) keeps its connection as long as
 * the host program keeps its end: a half-close is a state, not a hang. */
static void test_guest_half_close_is_not_timed_out(void **state)
{
	(void)state;
	guest_connects();
	assert_int_equal(
		guest(VS_VSOCK_OP_SHUTDOWN, 1000, LISTENER, VS_VSOCK_SHUTDOWN_SEND, 4096, 0, NULL),
		0);
	assert_true(socks[0].wr_shut);
	clock_ms += 10 * VS_VSOCK_DEFAULT_CLOSE_TIMEOUT_MS;
	assert_int_equal(vs_vsock_expire(v), -1);
	assert_int_equal(vs_vsock_conn_count(v), 1);
	host_has(0, "still");
	vs_vsock_hdr h = expect(VS_VSOCK_OP_RW, 1000, LISTENER, sizeof(rxbuf));
	assert_int_equal(h.len, 5);
}

/* An RST we owe the guest (after its close) waits for an rx buffer the
 * guest never posts: after the close timeout the slot is freed anyway. */
static void test_undelivered_rst_frees_the_slot(void **state)
{
	(void)state;
	guest_connects();
	assert_int_equal(guest(VS_VSOCK_OP_SHUTDOWN, 1000, LISTENER, 3, 4096, 0, NULL), 0);
	assert_false(socks[0].open);
	assert_int_equal(vs_vsock_conn_count(v), 1); /* until the RST is out */
	clock_ms += VS_VSOCK_DEFAULT_CLOSE_TIMEOUT_MS;
	assert_int_equal(vs_vsock_expire(v), -1);
	assert_int_equal(vs_vsock_conn_count(v), 0);
	expect(VS_VSOCK_OP_RST, 1000, LISTENER, sizeof(rxbuf)); /* from the shared queue */
	expect_nothing();
}

/* A host CONNECT the guest never answers: after the connect timeout the
 * host socket is closed without an OK and the guest gets RST. */
static void test_connect_timeout(void **state)
{
	(void)state;
	socks[0] = (struct sock){ .open = true, .write_room = SIZE_MAX };
	nsocks = 1;
	uint32_t hport;
	uint64_t t0 = clock_ms;
	assert_int_equal(vs_vsock_host_connect(v, 0, 1234, &hport, &err), 0);
	expect(VS_VSOCK_OP_REQUEST, 1234, hport, sizeof(rxbuf));
	assert_int_equal(vs_vsock_expire(v), VS_VSOCK_DEFAULT_CONNECT_TIMEOUT_MS);
	clock_ms = t0 + VS_VSOCK_DEFAULT_CONNECT_TIMEOUT_MS;
	assert_int_equal(vs_vsock_expire(v), -1);
	assert_false(socks[0].open);
	assert_int_equal(socks[0].nwritten, 0);
	expect(VS_VSOCK_OP_RST, 1234, hport, sizeof(rxbuf));
	/* Answered in time, the connection has no deadline any more. */
	socks[1] = (struct sock){ .open = true, .write_room = SIZE_MAX };
	nsocks = 2;
	assert_int_equal(vs_vsock_host_connect(v, 1, 1234, &hport, &err), 0);
	expect(VS_VSOCK_OP_REQUEST, 1234, hport, sizeof(rxbuf));
	assert_int_equal(guest(VS_VSOCK_OP_RESPONSE, 1234, hport, 0, 4096, 0, NULL), 0);
	clock_ms += 100 * VS_VSOCK_DEFAULT_CONNECT_TIMEOUT_MS;
	assert_int_equal(vs_vsock_expire(v), -1);
	assert_true(socks[1].open);
}

/* Timeouts are configurable (the integration tests use short ones) and
 * bounded. */
static void test_timeout_config(void **state)
{
	(void)state;
	vs_vsock_config cfg = {
		.guest_cid = CID,
		.close_timeout_ms = 50,
		.ops = { host_connect, host_read, host_write, host_shutdown_write, host_close,
			 fake_now },
	};
	vs_vsock *w = vs_vsock_new(&cfg, &err);
	assert_non_null(w);
	vs_vsock_free(w);
	cfg.close_timeout_ms = VS_VSOCK_MAX_TIMEOUT_MS + 1;
	assert_null(vs_vsock_new(&cfg, &err));
	assert_non_null(strstr(err.msg, "timeout"));
}

static void test_fuzz_replay(void **state)
{
	(void)state;
	srand(1234);
	static uint8_t buf[4096];
	for (int round = 0; round < 3000; round++) {
		size_t n = (size_t)(rand() % (int)sizeof(buf));
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rand();
		LLVMFuzzerTestOneInput(buf, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_guest_connect_and_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rst_for_closed_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credit_to_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credit_from_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credit_update_when_drained, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_headers, setup, teardown),
		cmocka_unit_test(test_connect_line),
		cmocka_unit_test_setup_teardown(test_close_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_half_close_is_not_timed_out, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_host_half_close_is_not_timed_out, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_undelivered_rst_frees_the_slot, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_connect_timeout, setup, teardown),
		cmocka_unit_test(test_timeout_config),
		cmocka_unit_test(test_fuzz_replay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
