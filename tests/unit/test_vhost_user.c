/* vhost-user frontend: message layouts, reply checks, and conversations
 * with a scripted backend on the other end of a socketpair (a thread that
 * reads each request and answers as told): REPLY_ACK negotiated and used,
 * fds passed with SET_MEM_TABLE and the vring calls, bad replies of every
 * kind refused and the connection then broken, a silent backend timing
 * out, fds a backend pushes at us closed; then random inputs through the
 * fuzz target (tests/fuzz/fuzz_vhost_user.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vm/vhost_user/frontend.h"
#include "vm/vhost_user/msg.h"

#include "../fuzz/fuzz_vhost_user.c"
#include "vhu_backend.h"

static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_encoding(void **state)
{
	(void)state;
	uint8_t b[VS_VHU_MAX_MSG];
	size_t n =
		vs_vhu_enc_u64(b, VS_VHU_SET_FEATURES, VS_VHU_FLAG_NEED_REPLY, 0x1122334455667788);
	assert_int_equal(n, 20);
	assert_int_equal(rd32(b), VS_VHU_SET_FEATURES);
	assert_int_equal(rd32(b + 4), VS_VHU_VERSION | VS_VHU_FLAG_NEED_REPLY);
	assert_int_equal(rd32(b + 8), 8);
	assert_true(rd64(b + 12) == 0x1122334455667788ULL);
	/* Only NEED_REPLY may be asked for: never REPLY on a request. */
	vs_vhu_enc_plain(b, VS_VHU_SET_OWNER, VS_VHU_FLAG_REPLY | 0xf0);
	assert_int_equal(rd32(b + 4), VS_VHU_VERSION);
	/* vring address: index, flags, then desc, used, avail, log. */
	n = vs_vhu_enc_addr(b, 0, 1, 0xd000, 0xe000, 0xa000);
	assert_int_equal(n, 12 + 40);
	assert_int_equal(rd32(b + 12), 1);
	assert_true(rd64(b + 20) == 0xd000 && rd64(b + 28) == 0xe000 && rd64(b + 36) == 0xa000);
	assert_true(rd64(b + 44) == 0);
	vs_vhu_region r[2] = { { 0, 0x1000, 0x7f0000, 0 },
			       { 1ULL << 32, 0x2000, 0x7f1000, 0x1000 } };
	n = vs_vhu_enc_mem_table(b, 0, r, 2);
	assert_int_equal(n, 12 + 8 + 64);
	assert_int_equal(rd32(b + 12), 2);
	assert_true(rd64(b + 20 + 32) == 1ULL << 32 && rd64(b + 20 + 32 + 24) == 0x1000);
	assert_int_equal(vs_vhu_enc_mem_table(b, 0, r, 0), 0);
	assert_int_equal(vs_vhu_enc_mem_table(b, 0, r, VS_VHU_MAX_REGIONS + 1), 0);
}

static void test_decode(void **state)
{
	(void)state;
	uint8_t b[64];
	vs_vhu_reply r;
	vs_err err = { 0 };
	size_t n = mkreply(b, VS_VHU_GET_VRING_BASE, 5, 8, 0x0000002a00000001ULL);
	assert_int_equal(vs_vhu_decode_reply(b, n, VS_VHU_GET_VRING_BASE, 8, &r, &err), 0);
	assert_int_equal(r.index, 1);
	assert_int_equal(r.num, 42);
	struct {
		uint32_t req, flags, size;
		size_t len;
		const char *msg;
	} bad[] = {
		{ VS_VHU_GET_VRING_BASE, 5, 8, 11, "shorter than a header" },
		{ VS_VHU_GET_VRING_BASE, 4, 8, 20, "version 0, not 1" },
		{ VS_VHU_GET_VRING_BASE, 1, 8, 20, "REPLY flag not set" },
		{ VS_VHU_GET_FEATURES, 5, 8, 20, "names request 1 (GET_FEATURES)" },
		{ VS_VHU_GET_VRING_BASE, 5, 4, 16, "payload of 4 bytes, want 8" },
		{ VS_VHU_GET_VRING_BASE, 5, 8, 19, "19 bytes, header says 20" },
		{ VS_VHU_GET_VRING_BASE, 5, 8, 21, "21 bytes, header says 20" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mkreply(b, bad[i].req, bad[i].flags, bad[i].size, 0);
		vs_err_clear(&err);
		assert_int_equal(
			vs_vhu_decode_reply(b, bad[i].len, VS_VHU_GET_VRING_BASE, 8, &r, &err), -1);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, bad[i].msg);
	}
}

typedef struct conv {
	backend b;
	pthread_t t;
	vs_vhu u;
	int sv[2];
} conv;

static void conv_start(conv *c, const step *steps, int n, int timeout_ms)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c->sv), 0);
	c->b.fd = c->sv[1];
	c->b.steps = steps;
	c->b.nsteps = n;
	pthread_create(&c->t, NULL, backend_main, &c->b);
	vs_vhu_init(&c->u, c->sv[0], timeout_ms);
}

static void conv_end(conv *c)
{
	vs_vhu_close(&c->u);
	pthread_join(c->t, NULL);
	close(c->sv[1]);
	backend_close_fds(&c->b);
	if (c->b.error[0])
		fail_msg("backend: %s", c->b.error);
}

#define F_VERSION_1 (1ULL << 32)
#define HANDSHAKE_ACK                                                                              \
	{ VS_VHU_GET_FEATURES, 0, F_VERSION_1 | VS_VHU_F_PROTOCOL_FEATURES, { 0 }, 0, 0, 0 },      \
		{ VS_VHU_GET_PROTOCOL_FEATURES, 0, 0xffff, { 0 }, 0, 0, 0 },                       \
		{ VS_VHU_SET_PROTOCOL_FEATURES, 0, 0, { 0 }, 0, 0, 0 },                            \
	{                                                                                          \
		VS_VHU_SET_OWNER, 0, 0, { 0 }, 0, 0, 0                                             \
	}

static void test_full_conversation(void **state)
{
	(void)state;
	int fds0 = open_fds();
	static const step steps[] = {
		HANDSHAKE_ACK,
		{ VS_VHU_SET_FEATURES, 0, 0, { 0 }, 0, 0, 0 },
		{ VS_VHU_SET_MEM_TABLE, 0, 0, { 0 }, 0, 2, 0 },
		{ VS_VHU_SET_VRING_NUM, 0, 0, { 0 }, 0, 0, 0 },
		{ VS_VHU_SET_VRING_BASE, 0, 0, { 0 }, 0, 0, 0 },
		{ VS_VHU_SET_VRING_ADDR, 0, 0, { 0 }, 0, 0, 0 },
		{ VS_VHU_SET_VRING_CALL, 0, 0, { 0 }, 0, 1, 0 },
		{ VS_VHU_SET_VRING_KICK, 0, 0, { 0 }, 0, 1, 0 },
		{ VS_VHU_SET_VRING_ENABLE, 0, 0, { 0 }, 0, 0, 0 },
		{ VS_VHU_GET_VRING_BASE, 0, (7ULL << 32) | 1, { 0 }, 0, 0, true },
	};
	conv c;
	conv_start(&c, steps, sizeof(steps) / sizeof(steps[0]), 2000);
	vs_err err = { 0 };
	assert_int_equal(vs_vhu_handshake(&c.u, &err), 0);
	/* Only what vessel implements is taken from what the backend offers. */
	assert_true(c.u.protocol == VS_VHU_PROTOCOL_F_REPLY_ACK);
	assert_int_equal(vs_vhu_set_features(&c.u, F_VERSION_1, &err), 0);
	static uint8_t ram[8192];
	int efd = eventfd(0, EFD_CLOEXEC);
	vs_guest_mem mem = { .n = 2, .fd = efd };
	mem.r[0] = (vs_mem_region){ 0, 4096, ram, 0 };
	mem.r[1] = (vs_mem_region){ 1ULL << 32, 4096, ram + 4096, 4096 };
	assert_int_equal(vs_vhu_set_mem_table(&c.u, &mem, &err), 0);
	vs_vhu_vring r = {
		8, (uintptr_t)ram, (uintptr_t)ram + 128, (uintptr_t)ram + 256, efd, efd
	};
	assert_int_equal(vs_vhu_start_vring(&c.u, 1, &r, &err), 0);
	uint32_t base = 0;
	assert_int_equal(vs_vhu_stop_vring(&c.u, 1, &base, &err), 0);
	assert_int_equal(base, 7);
	conv_end(&c);
	/* SET_FEATURES carried PROTOCOL_FEATURES along with the driver's. */
	assert_true(c.b.last_u64[4] == (F_VERSION_1 | VS_VHU_F_PROTOCOL_FEATURES));
	assert_true(c.b.last_u64[2] == VS_VHU_PROTOCOL_F_REPLY_ACK);
	close(efd);
	/* The eventfd the backend pushed with its last reply was closed. */
	assert_int_equal(open_fds(), fds0);
}

static void test_no_protocol_features(void **state)
{
	(void)state;
	static const step steps[] = {
		{ VS_VHU_GET_FEATURES, 0, F_VERSION_1, { 0 }, 0, 0, 0 },
		{ VS_VHU_SET_OWNER, 1, 0, { 0 }, 0, 0, 0 }, /* no ack asked for */
	};
	conv c;
	conv_start(&c, steps, 2, 2000);
	vs_err err = { 0 };
	assert_int_equal(vs_vhu_handshake(&c.u, &err), 0);
	assert_true(c.u.protocol == 0);
	conv_end(&c);
}

static void expect_handshake_fails(const step *steps, int n, int timeout_ms, const char *msg)
{
	conv c;
	conv_start(&c, steps, n, timeout_ms);
	vs_err err = { 0 };
	assert_int_equal(vs_vhu_handshake(&c.u, &err), -1);
	if (!strstr(err.msg, msg))
		fail_msg("\"%s\" lacks \"%s\"", err.msg, msg);
	assert_true(c.u.broken);
	/* Broken stays broken: the stream may be out of step. */
	vs_err_clear(&err);
	assert_int_equal(vs_vhu_set_features(&c.u, 0, &err), -1);
	assert_non_null(strstr(err.msg, "connection to the backend is broken"));
	conv_end(&c);
}

static void test_bad_replies(void **state)
{
	(void)state;
	step s[2] = { { VS_VHU_GET_FEATURES, 1, 0, { 0 }, 0, 0, 0 } };
	expect_handshake_fails(s, 1, 100, "GET_FEATURES: no answer from the backend in 100 ms");
	s[0].answer = 3;
	expect_handshake_fails(s, 1, 2000, "GET_FEATURES: the backend closed the connection");
	s[0].answer = 2;
	s[0].rawlen = mkreply(s[0].raw, VS_VHU_GET_PROTOCOL_FEATURES, 5, 8, 0);
	expect_handshake_fails(s, 1, 2000, "names request 15 (GET_PROTOCOL_FEATURES)");
	/* A size that would have us wait for (or read) 4 GiB: refused on the header. */
	s[0].rawlen = mkreply(s[0].raw, VS_VHU_GET_FEATURES, 5, 0xffffffff, 0);
	s[0].rawlen = 20;
	expect_handshake_fails(s, 1, 2000, "payload of 4294967295 bytes, want 8");
	/* Half a reply, then silence. */
	s[0].rawlen = mkreply(s[0].raw, VS_VHU_GET_FEATURES, 5, 8, 0) - 3;
	expect_handshake_fails(s, 1, 100, "no answer from the backend in 100 ms");
	/* An ack that says no. */
	step acked[] = { HANDSHAKE_ACK };
	acked[3].value = 1;
	expect_handshake_fails(acked, 4, 2000, "SET_OWNER: the backend refused it (status 1)");
	/* An ack for another request. */
	acked[3].value = 0;
	acked[3].answer = 2;
	acked[3].rawlen = mkreply(acked[3].raw, VS_VHU_SET_FEATURES, 5, 8, 0);
	expect_handshake_fails(acked, 4, 2000, "names request 2 (SET_FEATURES)");
}

static void test_vring_base_for_other_ring(void **state)
{
	(void)state;
	static const step steps[] = {
		{ VS_VHU_GET_VRING_BASE, 0, (3ULL << 32) | 0, { 0 }, 0, 0, 0 },
	};
	conv c;
	conv_start(&c, steps, 1, 2000);
	vs_err err = { 0 };
	uint32_t base;
	assert_int_equal(vs_vhu_stop_vring(&c.u, 1, &base, &err), -1);
	assert_non_null(strstr(err.msg, "reply for ring 0, asked for 1"));
	assert_true(c.u.broken);
	conv_end(&c);
}

static void test_mem_table_needs_memfd(void **state)
{
	(void)state;
	vs_vhu u;
	vs_vhu_init(&u, -1, 100);
	vs_guest_mem mem = { .n = 1, .fd = -1 };
	vs_err err = { 0 };
	assert_int_equal(vs_vhu_set_mem_table(&u, &mem, &err), -1);
	assert_non_null(strstr(err.msg, "no memfd"));
}

static void test_fuzz_replay(void **state)
{
	(void)state;
	int fds0 = open_fds();
	/* The scripted conversation with only valid replies succeeds. */
	static const uint8_t valid[8 + 1 + 8 + 1 + 18 + 3] = { [36] = 1, [37] = 5 };
	struct fz_in f = { valid, sizeof(valid), 0 };
	static uint8_t stream[8192];
	bool all_valid;
	size_t len = fz_script(&f, stream, sizeof(stream), &all_valid);
	assert_true(all_valid);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(write(sv[1], stream, len), (ssize_t)len);
	shutdown(sv[1], SHUT_WR);
	assert_int_equal(fz_converse(sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
	srand(4321);
	static uint8_t buf[512];
	for (int round = 0; round < 3000; round++) {
		size_t n = (size_t)(rand() % (int)sizeof(buf));
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)(rand() % 4 ? rand() % 6 : rand());
		LLVMFuzzerTestOneInput(buf, n);
	}
	assert_int_equal(open_fds(), fds0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_full_conversation),
		cmocka_unit_test(test_no_protocol_features),
		cmocka_unit_test(test_bad_replies),
		cmocka_unit_test(test_vring_base_for_other_ring),
		cmocka_unit_test(test_mem_table_needs_memfd),
		cmocka_unit_test(test_fuzz_replay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
