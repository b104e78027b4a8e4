/* libFuzzer target for the host-side agent client (agent/client.h): the
 * input is everything a (hostile) agent answers on a control connection,
 * already in the socket; the client says hello and makes every request in
 * turn. A guest is not trusted: nothing may crash, leak or hang, whatever
 * the replies (ids out of order or repeated, wrong types, huge numbers).
 *   make build-fuzz/fuzz_agent_client && build-fuzz/fuzz_agent_client -max_total_time=60 \
 *	tests/fuzz/corpus/agent_client
 * tests/unit/test_agent_client.c includes this file and replays mutated
 * reply streams through it under ASan. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* What fits in the socket in one go (the agent's side never reads). */
	if (size > 60000)
		return 0;
	signal(SIGPIPE, SIG_IGN);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	int big = 1 << 18;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	size_t at = 0;
	while (at < size) {
		ssize_t w = send(sv[1], data + at, size - at, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w <= 0)
			break;
		at += (size_t)w;
	}
	shutdown(sv[1], SHUT_WR); /* then EOF: no request waits forever */
	vs_agent_client c;
	vs_err err = { 0 };
	if (vs_agent_client_open(&c, sv[0], 1000, &err) == 0) {
		json_object *proc = json_object_new_object();
		const char *streams[] = { "stdout", NULL };
		vs_agent_proc p = { .id = "init", .process = proc, .streams = streams };
		pid_t pid;
		pid_t *pids = NULL;
		size_t n = 0;
		int code, sig;
		json_object *st = NULL;
		vs_agent_create(&c, &p, &pid, &err);
		vs_agent_start(&c, "init", &err);
		if (vs_agent_ps(&c, &pids, &n, &err) == 0)
			free(pids);
		if (vs_agent_stats(&c, &st, &err) == 0)
			json_object_put(st);
		vs_agent_signal(&c, "init", SIGTERM, true, &err);
		vs_agent_resize(&c, "init", 24, 80, &err);
		vs_agent_exec(&c, &p, &pid, &err);
		vs_agent_wait(&c, "init", &code, &sig, &err);
		vs_agent_shutdown(&c, &err);
		json_object_put(proc);
		vs_agent_client_close(&c);
	}
	close(sv[1]);
	return 0;
}
