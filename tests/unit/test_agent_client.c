/* agent/client.c against a fake agent on the other end of a socketpair (a
 * forked child running a script): hello and its version check, each
 * request's fields and reply, errors naming the request and carrying the
 * agent's message and errno, replies matched by id when they come out of
 * order, timeouts, a closed agent, and the hybrid vsock handshake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/client.h"
#include "agent/frame.h"

#include "../fuzz/fuzz_agent_client.c"

typedef void (*agent_script)(int fd);

static pid_t fake_pid;

/* The fake agent's end of a socketpair runs script; ours is returned. */
static int fake_agent(agent_script script)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fake_pid = fork();
	assert_true(fake_pid >= 0);
	if (fake_pid == 0) {
		close(sv[0]);
		script(sv[1]);
		_exit(0);
	}
	close(sv[1]);
	return sv[0];
}

static int fake_done(void)
{
	int st;
	assert_int_equal(waitpid(fake_pid, &st, 0), fake_pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static json_object *recv_req(int fd)
{
	json_object *r;
	vs_err e = { 0 };
	if (vs_agent_recv(fd, &r, 5000, &e) < 0)
		_exit(90);
	return r;
}

static const char *str(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static int64_t num(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : -1;
}

/* Reply to req: a "reply" with extra fields (JSON text, an object's members). */
static void reply(int fd, json_object *req, const char *type, const char *extra)
{
	char text[512];
	snprintf(text, sizeof(text), "{\"type\":\"%s\",\"id\":%lld%s%s}", type,
		 (long long)num(req, "id"), extra[0] ? "," : "", extra);
	json_object *o = json_tokener_parse(text);
	vs_err e = { 0 };
	if (!o || vs_agent_send(fd, o, &e) < 0)
		_exit(91);
	json_object_put(o);
}

/* Expect a request of this type (exit 92 otherwise) and return it. */
static json_object *expect(int fd, const char *type)
{
	json_object *r = recv_req(fd);
	if (strcmp(str(r, "type"), type))
		_exit(92);
	return r;
}

static void hello_ok(int fd)
{
	json_object *r = expect(fd, "hello");
	if (num(r, "version") != 1)
		_exit(93);
	reply(fd, r, "reply", "\"version\":1,\"agent\":\"fake 0\"");
	json_object_put(r);
}

static int open_client(agent_script s, vs_agent_client *c, int timeout_ms, vs_err *err)
{
	return vs_agent_client_open(c, fake_agent(s), timeout_ms, err);
}

/* ---- hello ---- */

static void script_hello(int fd)
{
	hello_ok(fd);
}

static void test_hello(void **state)
{
	(void)state;
	vs_agent_client c;
	vs_err err = { 0 };
	assert_int_equal(open_client(script_hello, &c, 5000, &err), 0);
	vs_agent_client_close(&c);
	assert_int_equal(fake_done(), 0);
}

static void script_hello_v2(int fd)
{
	json_object *r = expect(fd, "hello");
	reply(fd, r, "reply", "\"version\":2");
	json_object_put(r);
}

static void test_hello_other_version(void **state)
{
	(void)state;
	vs_agent_client c;
	vs_err err = { 0 };
	assert_int_equal(open_client(script_hello_v2, &c, 5000, &err), -1);
	assert_non_null(strstr(err.msg, "agent hello: agent speaks version 2"));
	assert_int_equal(c.fd, -1);
	assert_int_equal(fake_done(), 0);
}

/* A version that json-c would read as 1 but is not the integer 1. */
static const char *hello_version;

static void script_hello_version(int fd)
{
	json_object *r = expect(fd, "hello");
	char extra[64];
	snprintf(extra, sizeof(extra), "\"version\":%s", hello_version);
	reply(fd, r, "reply", extra);
	json_object_put(r);
}

static void test_hello_version_exactly_the_integer(void **state)
{
	(void)state;
	static const char *const bad[] = { "\"1\"", "1.9", "1.0", "true", "[1]" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hello_version = bad[i];
		vs_agent_client c;
		vs_err err = { 0 };
		assert_int_equal(open_client(script_hello_version, &c, 5000, &err), -1);
		assert_int_equal(err.errnum, EPROTO);
		assert_non_null(strstr(err.msg, "agent hello: agent speaks version"));
		assert_int_equal(fake_done(), 0);
	}
}

static void script_hello_refused(int fd)
{
	json_object *r = expect(fd, "hello");
	reply(fd, r, "error", "\"message\":\"unsupported version 1\",\"errno\":95");
	json_object_put(r);
}

static void test_hello_error(void **state)
{
	(void)state;
	vs_agent_client c;
	vs_err err = { 0 };
	assert_int_equal(open_client(script_hello_refused, &c, 5000, &err), -1);
	assert_string_equal(err.msg, "agent hello: unsupported version 1");
	assert_int_equal(err.errnum, 95);
	assert_int_equal(fake_done(), 0);
}

/* ---- create, start, exec: the fields sent ---- */

static void script_create(int fd)
{
	hello_ok(fd);
	json_object *r = expect(fd, "create");
	json_object *proc, *stdio;
	if (strcmp(str(r, "process_id"), "init") || strcmp(str(r, "hostname"), "box") ||
	    !json_object_object_get_ex(r, "process", &proc) || strcmp(str(proc, "cwd"), "/work") ||
	    !json_object_object_get_ex(r, "stdio", &stdio) ||
	    json_object_array_length(stdio) != 2 ||
	    strcmp(json_object_get_string(json_object_array_get_idx(stdio, 1)), "stdout"))
		_exit(94);
	reply(fd, r, "reply", "\"pid\":42");
	json_object_put(r);
	r = expect(fd, "start");
	if (strcmp(str(r, "process_id"), "init"))
		_exit(95);
	reply(fd, r, "reply", "");
	json_object_put(r);
}

static void test_create_start(void **state)
{
	(void)state;
	vs_agent_client c;
	vs_err err = { 0 };
	assert_int_equal(open_client(script_create, &c, 5000, &err), 0);
	json_object *proc = json_tokener_parse("{\"cwd\":\"/work\",\"args\":[\"sh\"]}");
	const char *streams[] = { "stdin", "stdout", NULL };
	vs_agent_proc p = { .id = "init", .process = proc, .hostname = "box", .streams = streams };
	pid_t pid = 0;
	assert_int_equal(vs_agent_create(&c, &p, &pid, &err), 0);
	assert_int_equal(pid, 42);
	assert_int_equal(vs_agent_start(&c, "init", &err), 0);
	json_object_put(proc);
	vs_agent_client_close(&c);
	assert_int_equal(fake_done(), 0);
}

static void script_start_error(int fd)
{
	hello_ok(fd);
	json_object *r = expect(fd, "start");
	reply(fd, r, "error", "\"message\":\"no process \\\"x\\\"\",\"errno\":3");
	json_object_put(r);
}

static void test_error_reply(void **state)
{
	(void)state;
	vs_agent_client c;
	vs_err err = { 0 };
	assert_int_equal(open_client(script_start_error, &c, 5000, &err), 0);
	assert_int_equal(vs_agent_start(&c, "x", &err), -1);
	assert_string_equal(err.msg, "agent start: no process \"x\"");
	assert_int_equal(err.errnum, ESRCH);
	vs_agent_client_close(&c);
	assert_int_equal(fake_done(), 0);
}

static void script_bad_pid(int fd)
{
	hello_ok(fd);
	json_object *r = expect(fd, "exec");
	reply(fd, r, "reply", "\"pid\":\"42\"");
	json_object_put(r);
}

static void test_reply_missing_field(void **state)
{
	(void)state;
	vs_agent_client c;
	vs_err err = { 0 };
	assert_int_equal(open_client(script_bad_pid, &c, 5000, &err), 0);
	json_object *proc = json_object_new_object();
	vs_agent_proc p = { .id = "e1", .process = proc };
	pid_t pid = 0;
	assert_int_equal(vs_agent_exec(&c, &p, &pid, &err), -1);
	assert_non_null(strstr(err.msg, "agent exec: reply without an integer \"pid\""));
	assert_int_equal(pid, 0);
	json_object_put(proc);
	vs_agent_client_close(&c);
	assert_int_equal(fake_done(), 0);
}

/* ---- out of order: a wait answered after a later signal ---- */

static void script_out_of_order(int fd)
{
	hello_ok(fd);
	json_object *w = expect(fd, "wait");
	json_object *s = expect(fd, "signal");
	if (num(s, "signal") != SIGTERM)
		_exit(96);
	reply(fd, s, "reply", "");
	reply(fd, w, "reply", "\"exit_code\":143,\"signal\":15");
	json_object_put(w);
	json_object_put(s);
}

static void test_out_of_order(void **state)
{
	(void)state;
	vs_agent_client c;
	vs_err err = { 0 };
	assert_int_equal(open_client(script_out_of_order, &c, 5000, &err), 0);
	uint64_t wid;
	json_object *f = json_object_new_object();
	json_object_object_add(f, "process_id", json_object_new_string("init"));
	assert_int_equal(vs_agent_call_send(&c, "wait", f, &wid, &err), 0);
	assert_int_equal(vs_agent_signal(&c, "init", SIGTERM, false, &err), 0);
	json_object *r;
	assert_int_equal(vs_agent_call_await(&c, "wait", wid, 5000, &r, &err), 0);
	assert_int_equal(num(r, "exit_code"), 143);
	json_object_put(r);
	vs_agent_client_close(&c);
	assert_int_equal(fake_done(), 0);
}

/* The other order: the wait's reply arrives while signal waits for its own. */
static void script_stash(int fd)
{
	hello_ok(fd);
	json_object *w = expect(fd, "wait");
	json_object *s = expect(fd, "signal");
	reply(fd, w, "reply", "\"exit_code\":3,\"signal\":0");
	reply(fd, s, "reply", "");
	json_object_put(w);
	json_object_put(s);
}

static void test_stashed_reply(void **state)
{
	(void)state;
	vs_agent_client c;
	vs_err err = { 0 };
	assert_int_equal(open_client(script_stash, &c, 5000, &err), 0);
	uint64_t wid;
	json_object *f = json_object_new_object();
	json_object_object_add(f, "process_id", json_object_new_string("init"));
	assert_int_equal(vs_agent_call_send(&c, "wait", f, &wid, &err), 0);
	assert_int_equal(vs_agent_signal(&c, "init", SIGINT, true, &err), 0);
	assert_int_equal(c.n_stash, 1);
	json_object *r;
	assert_int_equal(vs_agent_call_await(&c, "wait", wid, 5000, &r, &err), 0);
	assert_int_equal(num(r, "exit_code"), 3);
	assert_int_equal(c.n_stash, 0);
	json_object_put(r);
	vs_agent_client_close(&c);
	assert_int_equal(fake_done(), 0);
}

/* ---- wait, ps, stats, resize, shutdown ---- */

static void script_queries(int fd)
{
	hello_ok(fd);
	json_object *r = expect(fd, "wait");
	reply(fd, r, "reply", "\"exit_code\":137,\"signal\":9");
	json_object_put(r);
	r = expect(fd, "ps");
	reply(fd, r, "reply", "\"pids\":[1,7,9]");
	json_object_put(r);
	r = expect(fd, "stats");
	reply(fd, r, "reply", "\"memory\":{\"usage\":4096,\"limit\":0},\"pids\":3");
	json_object_put(r);
	r = expect(fd, "resize");
	if (num(r, "rows") != 40 || num(r, "cols") != 100)
		_exit(97);
	reply(fd, r, "reply", "");
	json_object_put(r);
	r = expect(fd, "shutdown");
	reply(fd, r, "reply", "");
	json_object_put(r);
}

static void test_queries(void **state)
{
	(void)state;
	vs_agent_client c;
	vs_err err = { 0 };
	assert_int_equal(open_client(script_queries, &c, 5000, &err), 0);
	int code = -1, sig = -1;
	assert_int_equal(vs_agent_wait(&c, "init", &code, &sig, &err), 0);
	assert_int_equal(code, 137);
	assert_int_equal(sig, 9);
	pid_t *pids = NULL;
	size_t n = 0;
	assert_int_equal(vs_agent_ps(&c, &pids, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(pids[2], 9);
	free(pids);
	json_object *st = NULL;
	assert_int_equal(vs_agent_stats(&c, &st, &err), 0);
	assert_int_equal(num(st, "pids"), 3);
	json_object_put(st);
	assert_int_equal(vs_agent_resize(&c, "init", 40, 100, &err), 0);
	assert_int_equal(vs_agent_shutdown(&c, &err), 0);
	vs_agent_client_close(&c);
	assert_int_equal(fake_done(), 0);
}

static void script_bad_ps(int fd)
{
	hello_ok(fd);
	json_object *r = expect(fd, "ps");
	reply(fd, r, "reply", "\"pids\":[1,-4]");
	json_object_put(r);
	r = expect(fd, "wait");
	reply(fd, r, "reply", "\"exit_code\":300,\"signal\":0");
	json_object_put(r);
}

static void test_bad_replies(void **state)
{
	(void)state;
	vs_agent_client c;
	vs_err err = { 0 };
	assert_int_equal(open_client(script_bad_ps, &c, 5000, &err), 0);
	pid_t *pids = NULL;
	size_t n = 0;
	assert_int_equal(vs_agent_ps(&c, &pids, &n, &err), -1);
	assert_non_null(strstr(err.msg, "agent ps: pids[1] is not a pid"));
	assert_null(pids);
	int code = -1;
	assert_int_equal(vs_agent_wait(&c, "init", &code, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "\"exit_code\" 300 out of range"));
	assert_int_equal(code, -1);
	vs_agent_client_close(&c);
	assert_int_equal(fake_done(), 0);
}

/* ---- timeouts and a vanished agent ---- */

static void script_silent(int fd)
{
	hello_ok(fd);
	json_object_put(expect(fd, "start"));
	/* no answer; stay until the client gives up */
	char b;
	(void)!read(fd, &b, 1);
}

static void test_timeout(void **state)
{
	(void)state;
	vs_agent_client c;
	vs_err err = { 0 };
	assert_int_equal(open_client(script_silent, &c, 100, &err), 0);
	assert_int_equal(vs_agent_start(&c, "init", &err), -1);
	assert_int_equal(err.errnum, ETIMEDOUT);
	assert_non_null(strstr(err.msg, "agent start: no reply after 100 ms"));
	vs_agent_client_close(&c);
	assert_int_equal(fake_done(), 0);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The attacks below stretch a call whose timeout restarts per frame or per
 * byte; one deadline per call ends each near its timeout. The bound is 3x,
 * for a loaded machine; without the deadline they take 1.7 s and 6 s. */
#define ATTACK_TIMEOUT_MS 300
#define ATTACK_BOUND_MS	  (3 * ATTACK_TIMEOUT_MS)

/* Replies to an id never asked for, each well inside the timeout, until the
 * client hangs up. */
static void script_flood_other_ids(int fd)
{
	hello_ok(fd);
	json_object_put(expect(fd, "start"));
	json_object *o = json_tokener_parse("{\"type\":\"reply\",\"id\":999999}");
	for (;;) {
		usleep(100 * 1000);
		vs_err e = { 0 };
		if (vs_agent_send(fd, o, &e) < 0)
			break;
	}
	json_object_put(o);
}

static void test_flood_of_other_ids_keeps_the_deadline(void **state)
{
	(void)state;
	vs_agent_client c;
	vs_err err = { 0 };
	assert_int_equal(open_client(script_flood_other_ids, &c, ATTACK_TIMEOUT_MS, &err), 0);
	int64_t t0 = mono_ms();
	assert_int_equal(vs_agent_start(&c, "init", &err), -1);
	int64_t took = mono_ms() - t0;
	assert_int_equal(err.errnum, ETIMEDOUT);
	assert_non_null(strstr(err.msg, "agent start: no reply after 300 ms"));
	assert_true(took < ATTACK_BOUND_MS);
	vs_agent_client_close(&c);
	assert_int_equal(fake_done(), 0);
}

/* Takes hello, then reads nothing more until the client hangs up. */
static void script_deaf(int fd)
{
	hello_ok(fd);
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	(void)poll(&p, 1, 30000);
}

static void test_agent_that_does_not_read_keeps_the_deadline(void **state)
{
	(void)state;
	vs_agent_client c;
	vs_err err = { 0 };
	assert_int_equal(open_client(script_deaf, &c, ATTACK_TIMEOUT_MS, &err), 0);
	/* A request larger than the socket buffers can take (an exec's
	 * environment can be that large). */
	size_t big = 900 * 1024;
	char *s = malloc(big + 1);
	assert_non_null(s);
	memset(s, 'x', big);
	s[big] = '\0';
	json_object *f = json_object_new_object();
	json_object_object_add(f, "blob", json_object_new_string(s));
	free(s);
	alarm(20); /* without the deadline the send never returns */
	int64_t t0 = mono_ms();
	assert_int_equal(vs_agent_call(&c, "stats", f, ATTACK_TIMEOUT_MS, NULL, &err), -1);
	int64_t took = mono_ms() - t0;
	alarm(0);
	assert_int_equal(err.errnum, ETIMEDOUT);
	assert_non_null(strstr(err.msg, "agent stats"));
	assert_true(took < ATTACK_BOUND_MS);
	vs_agent_client_close(&c);
	assert_int_equal(fake_done(), 0);
}

static void script_vanish(int fd)
{
	hello_ok(fd);
	json_object_put(expect(fd, "signal"));
}

static void test_agent_gone(void **state)
{
	(void)state;
	vs_agent_client c;
	vs_err err = { 0 };
	assert_int_equal(open_client(script_vanish, &c, 5000, &err), 0);
	assert_int_equal(vs_agent_signal(&c, "init", SIGTERM, false, &err), -1);
	assert_int_equal(err.errnum, ECONNRESET);
	assert_non_null(strstr(err.msg, "agent signal"));
	vs_agent_client_close(&c);
	assert_int_equal(fake_done(), 0);
}

static void script_garbage(int fd)
{
	json_object_put(expect(fd, "hello"));
	/* a frame whose body is not JSON */
	static const char bad[] = "\0\0\0\3{{{";
	(void)!write(fd, bad, sizeof(bad) - 1);
}

static void test_garbage_reply(void **state)
{
	(void)state;
	vs_agent_client c;
	vs_err err = { 0 };
	assert_int_equal(open_client(script_garbage, &c, 5000, &err), -1);
	assert_non_null(strstr(err.msg, "agent hello"));
	assert_int_equal(fake_done(), 0);
}

/* ---- stdio ---- */

static void script_stdio(int fd)
{
	json_object *r = expect(fd, "stdio");
	if (strcmp(str(r, "process"), "e1") || strcmp(str(r, "stream"), "stdout"))
		_exit(98);
	json_object_put(r);
	char buf[8];
	if (read(fd, buf, 5) != 5 || memcmp(buf, "bytes", 5))
		_exit(99);
}

static void test_stdio_open(void **state)
{
	(void)state;
	vs_err err = { 0 };
	int fd = fake_agent(script_stdio);
	assert_int_equal(vs_agent_stdio_open(fd, "e1", "stdout", &err), 0);
	assert_int_equal(write(fd, "bytes", 5), 5);
	assert_int_equal(fake_done(), 0);
	close(fd);
}

/* ---- the hybrid vsock handshake ---- */

static char sock_path[108];
static bool trickle; /* the answer one byte every 100 ms */

static void vsock_listener(const char *answer)
{
	snprintf(sock_path, sizeof(sock_path), "/tmp/vessel-test-vsock-%d", (int)getpid());
	unlink(sock_path);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, sock_path);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 1), 0);
	fake_pid = fork();
	assert_true(fake_pid >= 0);
	if (fake_pid == 0) {
		int s = accept(l, NULL, NULL);
		char line[32] = { 0 };
		for (size_t i = 0; i < sizeof(line) - 1; i++)
			if (read(s, line + i, 1) != 1 || line[i] == '\n')
				break;
		if (strcmp(line, "CONNECT 1024\n"))
			_exit(80);
		/* The answer and the first stream bytes in one write: the
		 * handshake must not eat the stream's. */
		if (trickle) {
			for (const char *a = answer; *a; a++) {
				usleep(100 * 1000);
				if (send(s, a, 1, MSG_NOSIGNAL) != 1)
					_exit(0);
			}
		} else {
			(void)!write(s, answer, strlen(answer));
		}
		char b;
		(void)!read(s, &b, 1);
		_exit(0);
	}
	close(l);
}

static void test_vsock_ok(void **state)
{
	(void)state;
	vs_err err = { 0 };
	vsock_listener("OK 1073741824\nHELLO");
	int fd = -1;
	assert_int_equal(vs_agent_dial_vsock(sock_path, 1024, 5000, &fd, &err), 0);
	char buf[8] = { 0 };
	assert_int_equal(read(fd, buf, 5), 5);
	assert_string_equal(buf, "HELLO");
	close(fd);
	assert_int_equal(fake_done(), 0);
	unlink(sock_path);
}

static void test_vsock_refused(void **state)
{
	(void)state;
	vs_err err = { 0 };
	vsock_listener("FAILED no listener\n");
	int fd = -1;
	assert_int_equal(vs_agent_dial_vsock(sock_path, 1024, 5000, &fd, &err), -1);
	assert_int_equal(err.errnum, ECONNREFUSED);
	assert_non_null(strstr(err.msg, "CONNECT 1024: answered \"FAILED no listener\""));
	assert_int_equal(fd, -1);
	assert_int_equal(fake_done(), 0);
	unlink(sock_path);
}

static void test_vsock_trickled_answer_keeps_the_deadline(void **state)
{
	(void)state;
	vs_err err = { 0 };
	trickle = true;
	vsock_listener("OK 00000000000000000000000000000000000000000000000000000001\n");
	trickle = false;
	int fd = -1;
	int64_t t0 = mono_ms();
	assert_int_equal(vs_agent_dial_vsock(sock_path, 1024, ATTACK_TIMEOUT_MS, &fd, &err), -1);
	int64_t took = mono_ms() - t0;
	assert_int_equal(err.errnum, ETIMEDOUT);
	assert_non_null(strstr(err.msg, "CONNECT 1024"));
	assert_true(took < ATTACK_BOUND_MS);
	assert_int_equal(fd, -1);
	assert_int_equal(fake_done(), 0);
	unlink(sock_path);
}

static void test_dial_missing(void **state)
{
	(void)state;
	vs_err err = { 0 };
	int fd = -1;
	assert_int_equal(vs_agent_dial_unix("/nonexistent/agent.sock", &fd, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, "connect to the agent at /nonexistent/agent.sock"));
}

/* ---- replay: mutated reply streams through the fuzz target ---- */

static size_t add_frame(uint8_t *buf, size_t at, const char *json)
{
	uint32_t n = (uint32_t)strlen(json);
	buf[at] = (uint8_t)(n >> 24);
	buf[at + 1] = (uint8_t)(n >> 16);
	buf[at + 2] = (uint8_t)(n >> 8);
	buf[at + 3] = (uint8_t)n;
	memcpy(buf + at + 4, json, n);
	return at + 4 + n;
}

static void test_fuzz_replay(void **state)
{
	(void)state;
	static const char *const replies[] = {
		"{\"type\":\"reply\",\"id\":1,\"version\":1}",
		"{\"type\":\"reply\",\"id\":2,\"pid\":5}",
		"{\"type\":\"reply\",\"id\":3}",
		"{\"type\":\"reply\",\"id\":4,\"pids\":[1,2,3]}",
		"{\"type\":\"reply\",\"id\":5,\"memory\":{\"usage\":1},\"pids\":2}",
		"{\"type\":\"error\",\"id\":6,\"message\":\"m\",\"errno\":3}",
		"{\"type\":\"reply\",\"id\":7}",
		"{\"type\":\"reply\",\"id\":8,\"pid\":9}",
		"{\"type\":\"reply\",\"id\":9,\"exit_code\":3,\"signal\":0}",
		"{\"type\":\"reply\",\"id\":10}",
	};
	srand(4321);
	uint8_t buf[1024];
	for (int iter = 0; iter < 400; iter++) {
		size_t n = 0;
		/* The replies, some swapped, some repeated, then a few bytes changed. */
		for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
			size_t k = rand() % 4 ? i : (size_t)rand() % 10;
			n = add_frame(buf, n, replies[k]);
		}
		int flips = iter % 5;
		for (int f = 0; f < flips; f++)
			buf[(size_t)rand() % n] = (uint8_t)rand();
		LLVMFuzzerTestOneInput(buf, n);
	}
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_hello_other_version),
		cmocka_unit_test(test_hello_error),
		cmocka_unit_test(test_create_start),
		cmocka_unit_test(test_error_reply),
		cmocka_unit_test(test_reply_missing_field),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_stashed_reply),
		cmocka_unit_test(test_queries),
		cmocka_unit_test(test_bad_replies),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_agent_gone),
		cmocka_unit_test(test_garbage_reply),
		cmocka_unit_test(test_stdio_open),
		cmocka_unit_test(test_vsock_ok),
		cmocka_unit_test(test_vsock_refused),
		cmocka_unit_test(test_dial_missing),
		cmocka_unit_test(test_fuzz_replay),
		cmocka_unit_test(test_hello_version_exactly_the_integer),
		cmocka_unit_test(test_flood_of_other_ids_keeps_the_deadline),
		cmocka_unit_test(test_vsock_trickled_answer_keeps_the_deadline),
		cmocka_unit_test(test_agent_that_does_not_read_keeps_the_deadline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
