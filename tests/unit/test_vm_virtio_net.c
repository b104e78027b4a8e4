/* virtio-net without KVM: the device over flat guest memory with one end of
 * a datagram socketpair as its "tap", driven through its registers. Covers
 * the checksum completion (and a hostile csum_start/csum_offset), frames in
 * both directions, and chains that must set DEVICE_NEEDS_RESET. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vm/virtio/net.h"

#define RAM  (1 << 20)
#define RING 0x1000 /* queue q at RING + q * 0x1000: desc, avail +0x400, used +0x800 */
#define BUF  0x10000
#define NUM  8
#define HDR  12

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

typedef struct fixture {
	uint8_t *ram;
	vs_guest_mem mem;
	vs_virtio_dev *dev;
	int peer; /* the "wire" side of the tap */
	uint16_t avail[2];
} fixture;

static const uint8_t MAC[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };

static uint32_t reg(fixture *f, uint64_t off)
{
	uint32_t v;
	vs_virtio_mmio_read(f->dev, off, &v, 4);
	return v;
}

static void set(fixture *f, uint64_t off, uint32_t v)
{
	vs_virtio_mmio_write(f->dev, off, &v, 4);
}

static void negotiate(fixture *f);

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	*state = f;
	f->ram = calloc(1, RAM);
	vs_mem_init_flat(&f->mem, f->ram, RAM);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	f->peer = sv[1];
	vs_err err = { 0 };
	f->dev = vs_virtio_net_new(NULL, &f->mem, sv[0], MAC, &err);
	if (!f->dev)
		return -1;
	negotiate(f);
	return 0;
}

static void negotiate_with(fixture *f, uint32_t features)
{
	memset(f->ram + RING, 0, 0x2000);
	f->avail[0] = f->avail[1] = 0;
	set(f, 0x070, 0);
	set(f, 0x070, 1);
	set(f, 0x070, 3);
	set(f, 0x024, 0);
	set(f, 0x020, features);
	set(f, 0x024, 1);
	set(f, 0x020, 1); /* VERSION_1 */
	set(f, 0x070, 3 | 8);
	assert_int_equal(reg(f, 0x070) & 8, 8);
	for (unsigned q = 0; q < 2; q++) {
		set(f, 0x030, q);
		set(f, 0x038, NUM);
		set(f, 0x080, RING + q * 0x1000);
		set(f, 0x090, RING + q * 0x1000 + 0x400);
		set(f, 0x0a0, RING + q * 0x1000 + 0x800);
		set(f, 0x044, 1);
	}
	set(f, 0x070, 3 | 8 | 4);
}

static void negotiate(fixture *f)
{
	negotiate_with(f, 1 | 1 << 5 | 1 << 16); /* CSUM, MAC, STATUS */
}

static int teardown(void **state)
{
	fixture *f = *state;
	vs_virtio_destroy(f->dev); /* closes its end */
	close(f->peer);
	free(f->ram);
	free(f);
	return 0;
}

/* Post one descriptor on queue q and kick it. */
static void post(fixture *f, unsigned q, uint64_t addr, uint32_t len, uint16_t flags)
{
	uint8_t *base = f->ram + RING + q * 0x1000;
	uint16_t i = f->avail[q] % NUM;
	struct desc d = { addr, len, flags, 0 };
	memcpy(base + 16 * i, &d, sizeof(d));
	memcpy(base + 0x400 + 4 + 2 * i, &i, 2);
	f->avail[q]++;
	memcpy(base + 0x400 + 2, &f->avail[q], 2);
	set(f, 0x050, q);
}

static uint16_t used_idx(fixture *f, unsigned q)
{
	uint16_t v;
	memcpy(&v, f->ram + RING + q * 0x1000 + 0x800 + 2, 2);
	return v;
}

static uint32_t used_len(fixture *f, unsigned q, unsigned i)
{
	uint32_t v;
	memcpy(&v, f->ram + RING + q * 0x1000 + 0x800 + 4 + 8 * i + 4, 4);
	return v;
}

static bool needs_reset(fixture *f)
{
	return reg(f, 0x070) & 0x40;
}

static void test_config(void **state)
{
	fixture *f = *state;
	assert_int_equal(reg(f, 0x008), 1);
	uint8_t cfg[8];
	vs_virtio_mmio_read(f->dev, 0x100, cfg, 8);
	assert_memory_equal(cfg, MAC, 6);
	assert_int_equal(cfg[6] | cfg[7] << 8, 1); /* VIRTIO_NET_S_LINK_UP */
	set(f, 0x014, 0);
	/* Offered: CSUM, MAC, MRG_RXBUF, STATUS. Not GUEST_CSUM or any TSO/UFO:
	 * a socketpair takes no TUNSETOFFLOAD, and the offloads are offered only
	 * for a tap that does. */
	assert_int_equal(reg(f, 0x010), 1 | 1 << 5 | 1 << 15 | 1 << 16);
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

static void test_tx_plain_and_csum(void **state)
{
	fixture *f = *state;
	uint8_t *b = f->ram + BUF;
	memset(b, 0, HDR);
	memcpy(b + HDR, "0123456789abcdefghijklmn", 24);
	post(f, 1, BUF, HDR + 24, 0);
	uint8_t got[128];
	ssize_t n = recv(f->peer, got, sizeof(got), 0);
	assert_int_equal(n, HDR + 24);
	assert_memory_equal(got + HDR, "0123456789abcdefghijklmn", 24);

	/* NEEDS_CSUM over bytes [4, 24) with the sum at 4 + 2: a 20-byte
	 * "segment" whose checksum must come out right. */
	b[0] = 1;
	b[6] = 4, b[7] = 0;
	b[8] = 2, b[9] = 0;
	b[HDR + 6] = b[HDR + 7] = 0;
	post(f, 1, BUF, HDR + 24, 0);
	n = recv(f->peer, got, sizeof(got), 0);
	assert_int_equal(n, HDR + 24);
	assert_int_equal(got[0], 0); /* plain header to the tap */
	assert_int_equal(sum16(got + HDR + 4, 20, 0), 0xffff);
	assert_int_equal(used_idx(f, 1), 2);
	assert_false(needs_reset(f));
}

/* The attack: csum_start/csum_offset pointing past the frame (or wrapping)
 * must neither write outside it nor reach the tap. */
static void test_tx_hostile_csum_dropped(void **state)
{
	fixture *f = *state;
	uint8_t *b = f->ram + BUF;
	static const uint16_t cases[][2] = {
		{ 24, 0 }, { 23, 0 }, { 0, 23 }, { 0xffff, 0xffff }, { 10, 0xfffe }
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(b, 0, HDR + 64);
		b[0] = 1;
		memcpy(b + 6, &cases[i][0], 2);
		memcpy(b + 8, &cases[i][1], 2);
		b[HDR + 24] = 0xaa; /* just past the frame: must stay */
		post(f, 1, BUF, HDR + 24, 0);
		uint8_t got[128];
		assert_int_equal(recv(f->peer, got, sizeof(got), 0), -1);
		assert_int_equal(b[HDR + 24], 0xaa);
	}
	assert_int_equal(used_idx(f, 1), 5);
	assert_false(needs_reset(f));
}

static void test_rx(void **state)
{
	fixture *f = *state;
	uint8_t frame[HDR + 20] = { 0 };
	memcpy(frame + HDR, "frame-for-the-guest!", 20);
	/* Offloaded frames the guest did not negotiate (NEEDS_CSUM, a GSO
	 * type): dropped, not handed over with the header stripped. */
	uint8_t stale[HDR + 20];
	memset(stale, 0, sizeof(stale));
	memcpy(stale + HDR, "stale-stale-stale-!!", 20);
	stale[0] = 1; /* NEEDS_CSUM */
	assert_int_equal(send(f->peer, stale, sizeof(stale), 0), (ssize_t)sizeof(stale));
	stale[0] = 0, stale[1] = 1; /* GSO_TCPV4 */
	assert_int_equal(send(f->peer, stale, sizeof(stale), 0), (ssize_t)sizeof(stale));
	frame[0] = 0xfe; /* DATA_VALID and junk: the guest gets a plain header */
	frame[2] = 0x77, frame[4] = 0x77;
	assert_int_equal(send(f->peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	memset(f->ram + BUF, 0x55, 256);
	post(f, 0, BUF, 256, 2 /* WRITE */);
	assert_int_equal(used_idx(f, 0), 1);
	assert_int_equal(used_len(f, 0, 0), HDR + 20);
	uint8_t *b = f->ram + BUF;
	assert_int_equal(b[0], 0);
	for (int i = 1; i < 10; i++)
		assert_int_equal(b[i], 0);
	assert_int_equal(b[10] | b[11] << 8, 1); /* num_buffers */
	assert_memory_equal(b + HDR, "frame-for-the-guest!", 20);
	assert_int_equal(b[HDR + 20], 0x55); /* nothing past the frame */

	/* A buffer too small for the frame: dropped, used length 0. */
	assert_int_equal(send(f->peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	post(f, 0, BUF, HDR + 4, 2);
	assert_int_equal(used_idx(f, 0), 2);
	assert_int_equal(used_len(f, 0, 1), 0);
	assert_false(needs_reset(f));
}

static void test_rx_readonly_buffer_needs_reset(void **state)
{
	fixture *f = *state;
	post(f, 0, BUF, 256, 0); /* no WRITE flag */
	assert_true(needs_reset(f));
	assert_int_equal(used_idx(f, 0), 0);
}

static void test_tx_short_chain_needs_reset(void **state)
{
	fixture *f = *state;
	post(f, 1, BUF, HDR - 1, 0);
	assert_true(needs_reset(f));
	uint8_t got[64];
	assert_int_equal(recv(f->peer, got, sizeof(got), 0), -1);
}

static void test_tx_writable_chain_needs_reset(void **state)
{
	fixture *f = *state;
	post(f, 1, BUF, HDR + 20, 2);
	assert_true(needs_reset(f));
}

static void test_reset_recovers(void **state)
{
	fixture *f = *state;
	post(f, 1, BUF, 4, 0);
	assert_true(needs_reset(f));
	set(f, 0x070, 0); /* device reset */
	assert_false(needs_reset(f));
	negotiate(f);
	memset(f->ram + BUF, 0, HDR + 14);
	post(f, 1, BUF, HDR + 14, 0);
	uint8_t got[64];
	assert_int_equal(recv(f->peer, got, sizeof(got), 0), HDR + 14);
}

/* Post one descriptor on the receive queue without kicking. */
static void post_quiet(fixture *f, uint64_t addr, uint32_t len)
{
	uint8_t *base = f->ram + RING;
	uint16_t i = f->avail[0] % NUM;
	struct desc d = { addr, len, 2, 0 };
	memcpy(base + 16 * i, &d, sizeof(d));
	memcpy(base + 0x400 + 4 + 2 * i, &i, 2);
	f->avail[0]++;
	memcpy(base + 0x400 + 2, &f->avail[0], 2);
}

/* MRG_RXBUF: a 2500-byte frame spread over three 1024-byte buffers, the
 * count in the first one's num_buffers, all three published at once; with
 * too few buffers posted the frame waits and nothing is used. */
static void test_rx_merged(void **state)
{
	fixture *f = *state;
	negotiate_with(f, 1 | 1 << 5 | 1 << 15 | 1 << 16);
	static uint8_t frame[2500];
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 31 + 7);
	memset(frame, 0, HDR);
	assert_int_equal(send(f->peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	post(f, 0, BUF, 1024, 2);
	post(f, 0, BUF + 0x1000, 1024, 2);
	assert_int_equal(used_idx(f, 0), 0); /* 2048 bytes of room: it waits */
	post(f, 0, BUF + 0x2000, 1024, 2);
	assert_int_equal(used_idx(f, 0), 3);
	assert_int_equal(used_len(f, 0, 0), 1024);
	assert_int_equal(used_len(f, 0, 1), 1024);
	assert_int_equal(used_len(f, 0, 2), 2500 - 2048);
	uint8_t *b = f->ram + BUF;
	assert_int_equal(b[10] | b[11] << 8, 3);
	assert_memory_equal(b + HDR, frame + HDR, 1024 - HDR);
	assert_memory_equal(f->ram + BUF + 0x1000, frame + 1024, 1024);
	assert_memory_equal(f->ram + BUF + 0x2000, frame + 2048, 2500 - 2048);

	/* A frame the whole ring cannot hold is dropped, not waited on forever. */
	assert_int_equal(send(f->peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	for (int i = 0; i < NUM; i++)
		post_quiet(f, BUF + 0x100 * (uint64_t)i, 64);
	set(f, 0x050, 0);
	assert_int_equal(used_idx(f, 0), 4);
	assert_int_equal(used_len(f, 0, 3), 0);
	/* ...and the next frame still gets through. */
	assert_int_equal(send(f->peer, frame, 60, 0), 60);
	vs_virtio_mmio_write(f->dev, 0x050, &(uint32_t){ 0 }, 4);
	assert_int_equal(used_idx(f, 0), 5);
	assert_int_equal(used_len(f, 0, 4), 60);
	assert_false(needs_reset(f));
}

/* A GSO frame from a guest that could not negotiate HOST_TSO (not offered
 * here) is dropped, whatever its header says. */
static void test_tx_gso_not_negotiated_dropped(void **state)
{
	fixture *f = *state;
	uint8_t *b = f->ram + BUF;
	memset(b, 0, HDR + 80);
	b[0] = 1, b[1] = 1;   /* NEEDS_CSUM, GSO_TCPV4 */
	b[2] = 54, b[4] = 10; /* hdr_len, gso_size */
	b[6] = 34, b[8] = 16; /* csum_start, csum_offset */
	post(f, 1, BUF, HDR + 80, 0);
	uint8_t got[128];
	assert_int_equal(recv(f->peer, got, sizeof(got), 0), -1);
	assert_int_equal(used_idx(f, 1), 1);
	assert_false(needs_reset(f));
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Destroying the device closes the tap and its epoll fd: nothing is left
 * behind in a long-lived process (the microVM backend) either. */
static void test_destroy_closes_fds(void **state)
{
	(void)state;
	int before = count_fds();
	uint8_t *ram = calloc(1, RAM);
	vs_guest_mem mem;
	vs_mem_init_flat(&mem, ram, RAM);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	vs_err err = { 0 };
	vs_virtio_dev *d = vs_virtio_net_new(NULL, &mem, sv[0], MAC, &err);
	assert_non_null(d);
	assert_int_equal(count_fds(), before + 3); /* the pair and the epoll fd */
	vs_virtio_destroy(d);
	assert_int_equal(fcntl(sv[0], F_GETFD), -1);
	close(sv[1]);
	assert_int_equal(count_fds(), before);
	free(ram);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_destroy_closes_fds),
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_plain_and_csum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_hostile_csum_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_merged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_gso_not_negotiated_dropped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rx_readonly_buffer_needs_reset, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tx_short_chain_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_writable_chain_needs_reset, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reset_recovers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
