/* The monitor's own agent connection (monitor.h): the exit status the
 * engine sees is the guest program's, from the agent's wait reply. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent/client.h"
#include "core/fdpass.h"
#include "microvm/monitor.h"
#include "vm/vm.h"

#define RETRY_MS   50
#define CONNECT_MS 2000

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A stream to the guest's agent port through the vsock device: one end of
 * a socket pair handed to the device as if accepted on the listener (the
 * monitor cannot reach the listener's path after pivot_root). -1 while the
 * agent does not listen yet (the guest is booting). */
static int dial(int inject)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	int sent = vs_send_fd(inject, "c", 1, sv[1]) == 1;
	close(sv[1]);
	static const char line[] = "CONNECT 1024\n";
	_Static_assert(VS_AGENT_VSOCK_PORT == 1024, "the CONNECT line names the agent's port");
	if (!sent || write(sv[0], line, sizeof(line) - 1) != (ssize_t)sizeof(line) - 1)
		goto fail;
	char buf[32];
	size_t n = 0;
	while (n < sizeof(buf) - 1) {
		struct pollfd p = { .fd = sv[0], .events = POLLIN };
		if (poll(&p, 1, CONNECT_MS) <= 0 || read(sv[0], buf + n, 1) != 1)
			goto fail;
		if (buf[n++] == '\n')
			break;
	}
	if (n < 4 || strncmp(buf, "OK ", 3))
		goto fail;
	return sv[0];
fail:
	close(sv[0]);
	return -1;
}

typedef struct waiter {
	int inject;
	vs_vm *vm;
	atomic_int *code;
} waiter;

static void *wait_thread(void *arg)
{
	waiter *w = arg;
	for (;;) {
		int fd = dial(w->inject);
		vs_agent_client ac;
		vs_err err = { 0 };
		if (fd < 0 || vs_agent_client_open(&ac, fd, VS_AGENT_TIMEOUT_MS, &err) < 0) {
			pause_ms(RETRY_MS);
			continue;
		}
		/* Until the host side has created "init", wait is an error. */
		int code, sig;
		int rc = vs_agent_wait(&ac, "init", &code, &sig, &err);
		vs_agent_client_close(&ac);
		if (rc == 0) {
			atomic_store(w->code, code);
			vs_vm_stop(w->vm);
			return NULL;
		}
		pause_ms(RETRY_MS);
	}
}

int vs_microvm_monitor_wait_start(int inject, vs_vm *vm, atomic_int *code, vs_err *err)
{
	static waiter w;
	w = (waiter){ .inject = inject, .vm = vm, .code = code };
	pthread_t t;
	int e = pthread_create(&t, NULL, wait_thread, &w);
	if (e)
		return vs_fail(err, e, "microvm monitor: the agent waiter thread");
	pthread_detach(t);
	return 0;
}
