/* agent/frame: the decoder on whole, split, merged, truncated and hostile
 * frames, the encoder's limits, the blocking helpers on a socketpair (their
 * deadline on a blocking socket and under signals), and a replay of random streams through the fuzz
 * target. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/frame.h"

#include "../fuzz/fuzz_agent_frame.c"

/* A frame with the given body (len bytes) into buf; returns its size. */
static size_t mkframe(uint8_t *buf, const char *body, uint32_t len)
{
	buf[0] = (uint8_t)(len >> 24);
	buf[1] = (uint8_t)(len >> 16);
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	memcpy(buf + 4, body, len);
	return 4 + len;
}

static int feed_all(vs_agent_decoder *d, const void *p, size_t n, json_object **out, vs_err *err)
{
	size_t used = 0;
	int r = vs_agent_decoder_feed(d, p, n, &used, out, err);
	if (r >= 0)
		assert_int_equal(used, n);
	return r;
}

static void test_whole_frame(void **state)
{
	(void)state;
	uint8_t buf[64];
	const char *body = "{\"type\":\"hello\",\"id\":1}";
	size_t n = mkframe(buf, body, (uint32_t)strlen(body));
	vs_agent_decoder d;
	vs_agent_decoder_init(&d);
	json_object *o = NULL;
	vs_err err = { 0 };
	assert_int_equal(feed_all(&d, buf, n, &o, &err), 1);
	assert_string_equal(json_object_get_string(json_object_object_get(o, "type")), "hello");
	json_object_put(o);
	assert_false(vs_agent_decoder_partial(&d));
}

static void test_split_byte_by_byte(void **state)
{
	(void)state;
	uint8_t buf[64];
	const char *body = "{\"type\":\"ps\",\"id\":7}";
	size_t n = mkframe(buf, body, (uint32_t)strlen(body));
	vs_agent_decoder d;
	vs_agent_decoder_init(&d);
	json_object *o = NULL;
	vs_err err = { 0 };
	for (size_t i = 0; i + 1 < n; i++) {
		assert_int_equal(feed_all(&d, buf + i, 1, &o, &err), 0);
		assert_true(vs_agent_decoder_partial(&d));
	}
	assert_int_equal(feed_all(&d, buf + n - 1, 1, &o, &err), 1);
	assert_int_equal(json_object_get_int(json_object_object_get(o, "id")), 7);
	json_object_put(o);
}

static void test_several_frames_in_one_feed(void **state)
{
	(void)state;
	uint8_t buf[128];
	size_t n = mkframe(buf, "{\"id\":1}", 8);
	n += mkframe(buf + n, "{\"id\":2}", 8);
	memcpy(buf + n, "raw", 3); /* what a stdio connection carries next */
	n += 3;
	vs_agent_decoder d;
	vs_agent_decoder_init(&d);
	json_object *o = NULL;
	vs_err err = { 0 };
	size_t used = 0, at = 0;
	assert_int_equal(vs_agent_decoder_feed(&d, buf, n, &used, &o, &err), 1);
	assert_int_equal(used, 12); /* stops at the end of the first frame */
	assert_int_equal(json_object_get_int(json_object_object_get(o, "id")), 1);
	json_object_put(o);
	at += used;
	assert_int_equal(vs_agent_decoder_feed(&d, buf + at, n - at, &used, &o, &err), 1);
	assert_int_equal(used, 12);
	assert_int_equal(json_object_get_int(json_object_object_get(o, "id")), 2);
	json_object_put(o);
	at += used;
	assert_int_equal(n - at, 3);
}

static void expect_error(const void *p, size_t n, const char *want)
{
	vs_agent_decoder d;
	vs_agent_decoder_init(&d);
	json_object *o = NULL;
	vs_err err = { 0 };
	size_t used = 0;
	assert_int_equal(vs_agent_decoder_feed(&d, p, n, &used, &o, &err), -1);
	assert_null(o);
	if (!strstr(err.msg, want))
		print_error("got \"%s\", want \"%s\"\n", err.msg, want);
	assert_non_null(strstr(err.msg, want));
	vs_agent_decoder_reset(&d);
}

static void test_zero_length(void **state)
{
	(void)state;
	expect_error("\0\0\0\0{}", 6, "length 0 out of range");
}

static void test_oversize_length(void **state)
{
	(void)state;
	/* One byte over the limit, refused from the header alone. */
	expect_error("\x00\x10\x00\x01{", 5, "length 1048577 out of range");
}

static void test_huge_declared_length(void **state)
{
	(void)state;
	/* Refused before any allocation: the body is never sent. */
	expect_error("\xff\xff\xff\xff", 4, "length 4294967295 out of range");
}

static void test_max_length_accepted(void **state)
{
	(void)state;
	size_t len = VS_AGENT_FRAME_MAX;
	char *body = malloc(len);
	assert_non_null(body);
	memset(body, ' ', len);
	memcpy(body, "{\"a\":\"", 6);
	memset(body + 6, 'x', len - 16);
	memcpy(body + len - 10, "\"}", 2);
	uint8_t *buf = malloc(len + 4);
	size_t n = mkframe(buf, body, (uint32_t)len);
	vs_agent_decoder d;
	vs_agent_decoder_init(&d);
	json_object *o = NULL;
	vs_err err = { 0 };
	assert_int_equal(feed_all(&d, buf, n, &o, &err), 1);
	json_object_put(o);
	free(buf);
	free(body);
}

static void test_not_an_object(void **state)
{
	(void)state;
	uint8_t buf[64];
	expect_error(buf, mkframe(buf, "[1,2]", 5), "not a JSON object");
	expect_error(buf, mkframe(buf, "42", 2), "not a JSON object");
	expect_error(buf, mkframe(buf, "\"s\"", 3), "not a JSON object");
	expect_error(buf, mkframe(buf, "null", 4), "not a JSON object");
}

static void test_bad_json(void **state)
{
	(void)state;
	uint8_t buf[64];
	expect_error(buf, mkframe(buf, "{\"a\":", 5), "invalid JSON");
	expect_error(buf, mkframe(buf, "{bad}", 5), "invalid JSON");
	expect_error(buf, mkframe(buf, "{}{}", 4), "bytes after the JSON value");
	expect_error(buf, mkframe(buf, "{}\0", 3), "NUL byte");
	expect_error(buf, mkframe(buf, "{\"a\0\":1}", 8), "NUL byte");
	expect_error(buf, mkframe(buf, "{} x", 4), "bytes after the JSON value");
}

static void test_trailing_whitespace_ok(void **state)
{
	(void)state;
	uint8_t buf[64];
	size_t n = mkframe(buf, "{} \n", 4);
	vs_agent_decoder d;
	vs_agent_decoder_init(&d);
	json_object *o = NULL;
	vs_err err = { 0 };
	assert_int_equal(feed_all(&d, buf, n, &o, &err), 1);
	json_object_put(o);
}

static void test_encode_limits(void **state)
{
	(void)state;
	vs_err err = { 0 };
	char *buf = NULL;
	size_t len = 0;
	json_object *arr = json_object_new_array();
	assert_int_equal(vs_agent_frame_encode(arr, &buf, &len, &err), -1);
	assert_non_null(strstr(err.msg, "not a JSON object"));
	json_object_put(arr);

	char *big = malloc(VS_AGENT_FRAME_MAX);
	memset(big, 'x', VS_AGENT_FRAME_MAX - 1);
	big[VS_AGENT_FRAME_MAX - 1] = '\0';
	json_object *o = json_object_new_object();
	json_object_object_add(o, "a", json_object_new_string(big));
	assert_int_equal(vs_agent_frame_encode(o, &buf, &len, &err), -1);
	assert_non_null(strstr(err.msg, "over the 1048576 byte limit"));
	json_object_put(o);
	free(big);

	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int(3));
	assert_int_equal(vs_agent_frame_encode(o, &buf, &len, &err), 0);
	assert_int_equal(len, 4 + 8);
	assert_memory_equal(buf, "\0\0\0\x08{\"id\":3}", 12);
	free(buf);
	json_object_put(o);
}

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void test_send_recv_roundtrip(void **state)
{
	(void)state;
	int sv[2];
	pair(sv);
	vs_err err = { 0 };
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("hello"));
	assert_int_equal(vs_agent_send(sv[0], o, &err), 0);
	assert_int_equal(vs_agent_send(sv[0], o, &err), 0);
	json_object_put(o);
	for (int i = 0; i < 2; i++) {
		json_object *got = NULL;
		assert_int_equal(vs_agent_recv(sv[1], &got, 1000, &err), 0);
		assert_string_equal(json_object_get_string(json_object_object_get(got, "type")),
				    "hello");
		json_object_put(got);
	}
	close(sv[0]);
	json_object *got = NULL;
	assert_int_equal(vs_agent_recv(sv[1], &got, 1000, &err), -1);
	assert_int_equal(err.errnum, ECONNRESET);
	close(sv[1]);
}

static void test_recv_timeout(void **state)
{
	(void)state;
	int sv[2];
	pair(sv);
	vs_err err = { 0 };
	json_object *got = NULL;
	/* Half a frame, then silence. */
	assert_int_equal(write(sv[0], "\0\0\0\x08{\"id", 8), 8);
	assert_int_equal(vs_agent_recv(sv[1], &got, 0, &err), -1);
	assert_int_equal(err.errnum, ETIMEDOUT);
	assert_null(got);
	close(sv[0]);
	close(sv[1]);
}

/* A blocking socket on which poll says readable while read(2) would wait:
 * SO_RCVLOWAT above what came makes a blocking read wait for more (as a
 * second holder of the fd taking the bytes would). Half a frame, then
 * silence: recv must time out, not block. Run in a child that SIGALRM
 * ends, so a recv that blocks fails the test instead of hanging it. */
static void test_recv_blocking_half_frame_times_out(void **state)
{
	(void)state;
	int sv[2];
	pair(sv);
	int low = 64;
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_RCVLOWAT, &low, sizeof(low)), 0);
	/* The header (a 16-byte body) and 4 bytes of the body. */
	assert_int_equal(write(sv[0], "\0\0\0\x10{\"id", 8), 8);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(10);
		json_object *got = NULL;
		vs_err err = { 0 };
		int r = vs_agent_recv(sv[1], &got, 200, &err);
		_exit(r == -1 && err.errnum == ETIMEDOUT && !got ? 0 : 1);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	/* SIGALRM: recv blocked in read past its 200 ms deadline. */
	assert_false(WIFSIGNALED(st));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(sv[0]);
	close(sv[1]);
}

static volatile sig_atomic_t ticks;

static void on_tick(int sig)
{
	(void)sig;
	/* After 200 ticks the interruptions stop, so a wait that each signal
	 * restarts from the full timeout ends too (and the test fails). */
	if (++ticks == 200) {
		struct itimerval off = { 0 };
		setitimer(ITIMER_REAL, &off, NULL);
	}
}

/* A signal every 20 ms while recv waits up to 100 ms: the deadline holds. */
static void test_recv_deadline_holds_under_signals(void **state)
{
	(void)state;
	int sv[2];
	pair(sv);
	struct sigaction sa = { .sa_handler = on_tick }, old;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	ticks = 0;
	struct itimerval it = { .it_interval = { 0, 20000 }, .it_value = { 0, 20000 } };
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	json_object *got = NULL;
	vs_err err = { 0 };
	int r = vs_agent_recv(sv[1], &got, 100, &err);
	sig_atomic_t seen = ticks;
	struct itimerval off = { 0 };
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	assert_int_equal(r, -1);
	assert_int_equal(err.errnum, ETIMEDOUT);
	assert_true(seen < 200);
	close(sv[0]);
	close(sv[1]);
}

static void test_read_truncated(void **state)
{
	(void)state;
	int sv[2];
	pair(sv);
	assert_int_equal(write(sv[0], "\0\0\0\x08{\"id", 8), 8);
	close(sv[0]);
	vs_agent_decoder d;
	vs_agent_decoder_init(&d);
	json_object *o = NULL;
	vs_err err = { 0 };
	assert_int_equal(vs_agent_decoder_read(&d, sv[1], &o, &err), -1);
	assert_non_null(strstr(err.msg, "truncated frame"));
	vs_agent_decoder_reset(&d);
	close(sv[1]);
}

static void test_read_nonblocking_split_and_no_overread(void **state)
{
	(void)state;
	int sv[2];
	pair(sv);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	vs_agent_decoder d;
	vs_agent_decoder_init(&d);
	json_object *o = NULL;
	vs_err err = { 0 };
	uint8_t buf[64];
	size_t n = mkframe(buf, "{\"type\":\"stdio\"}", 16);
	memcpy(buf + n, "RAW", 3);
	for (size_t i = 0; i + 1 < n; i++) {
		assert_int_equal(write(sv[0], buf + i, 1), 1);
		assert_int_equal(vs_agent_decoder_read(&d, sv[1], &o, &err), 0);
	}
	assert_int_equal(write(sv[0], buf + n - 1, 4), 4);
	assert_int_equal(vs_agent_decoder_read(&d, sv[1], &o, &err), 1);
	json_object_put(o);
	/* The raw bytes after the frame are still in the socket. */
	char raw[8];
	assert_int_equal(read(sv[1], raw, sizeof(raw)), 3);
	assert_memory_equal(raw, "RAW", 3);
	close(sv[0]);
	assert_int_equal(vs_agent_decoder_read(&d, sv[1], &o, &err), 2);
	close(sv[1]);
}

/* Random byte streams and mutated valid frames through the fuzz target. */
static void test_fuzz_replay(void **state)
{
	(void)state;
	srand(1234);
	uint8_t buf[512];
	for (int iter = 0; iter < 3000; iter++) {
		size_t n = 1 + (size_t)rand() % sizeof(buf);
		if (iter % 2) {
			for (size_t i = 0; i < n; i++)
				buf[i] = (uint8_t)rand();
		} else {
			size_t at = 1;
			buf[0] = (uint8_t)rand();
			while (at + 40 < sizeof(buf)) {
				at += mkframe(buf + at, "{\"type\":\"x\",\"id\":[1,{}]}", 24);
			}
			n = at;
			for (int k = 0; k < 4; k++)
				buf[1 + (size_t)rand() % (n - 1)] = (uint8_t)rand();
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_frame),
		cmocka_unit_test(test_split_byte_by_byte),
		cmocka_unit_test(test_several_frames_in_one_feed),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_oversize_length),
		cmocka_unit_test(test_huge_declared_length),
		cmocka_unit_test(test_max_length_accepted),
		cmocka_unit_test(test_not_an_object),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_trailing_whitespace_ok),
		cmocka_unit_test(test_encode_limits),
		cmocka_unit_test(test_send_recv_roundtrip),
		cmocka_unit_test(test_recv_timeout),
		cmocka_unit_test(test_recv_blocking_half_frame_times_out),
		cmocka_unit_test(test_recv_deadline_holds_under_signals),
		cmocka_unit_test(test_read_truncated),
		cmocka_unit_test(test_read_nonblocking_split_and_no_overread),
		cmocka_unit_test(test_fuzz_replay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
