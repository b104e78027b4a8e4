/* vessel-agent: argument parsing, the listening socket and the loop's
 * hooks (the top layer: it ties the loop to the layers above). As PID 1 of a
 * guest (no --listen*) it boots the guest first (pid1.c). */

#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "guest/agent/control.h"
#include "guest/agent/info.h"
#include "guest/agent/loop.h"
#include "guest/agent/pid1.h"
#include "guest/agent/proc.h"
#include "guest/agent/stdio.h"

#define AGENT_VSOCK_PORT 1024

static void usage(FILE *f)
{
	fputs("usage: vessel-agent [--listen unix:PATH | --listen-fd N]\n"
	      "  with neither, listen on vsock port 1024 (PID 1 of a vessel guest)\n",
	      f);
}

/* Bound under a temporary name and renamed once listening, so the path
 * appears only when a connect to it succeeds. */
static int listen_unix(const char *path, vs_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char tmp[sizeof(sa.sun_path) + 32];
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	if (strlen(tmp) >= sizeof(sa.sun_path))
		return vs_fail(err, ENAMETOOLONG, "--listen unix:%s", path);
	strcpy(sa.sun_path, tmp);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vs_fail_errno(err, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		vs_fail_errno(err, "listen on %s: bind %s", path, tmp);
		close(fd);
		return -1;
	}
	if (listen(fd, 128) < 0 || rename(tmp, path) < 0) {
		vs_fail_errno(err, "listen on %s", path);
		unlink(tmp);
		close(fd);
		return -1;
	}
	return fd;
}

static int listen_vsock(vs_err *err)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK,
				  .svm_cid = VMADDR_CID_ANY,
				  .svm_port = AGENT_VSOCK_PORT };
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vs_fail_errno(err, "vsock socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		vs_fail_errno(err, "listen on vsock port %d", AGENT_VSOCK_PORT);
		close(fd);
		return -1;
	}
	return fd;
}

static int listen_fd_arg(const char *s, vs_err *err)
{
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (errno || *end || end == s || n < 0 || n > 65535)
		return vs_fail(err, EINVAL, "--listen-fd: \"%s\" is not an fd number", s);
	int type = 0;
	socklen_t len = sizeof(type);
	if (getsockopt((int)n, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return vs_fail_errno(err, "--listen-fd %ld", n);
	if (type != SOCK_STREAM)
		return vs_fail(err, EINVAL, "--listen-fd %ld: not a stream socket", n);
	return (int)n;
}

static void conn_closed(agent *a, conn *c)
{
	proc_drop_conn(a, c);
	oom_drop_conn(a, c);
}

/* Until init has exited, and then while output is still being pumped
 * (docs/agent-protocol.md: when the agent's work is over). */
static bool busy(const agent *a)
{
	return !a->init_exited || pumps_busy(a);
}

static const agent_hooks hooks = {
	.first_frame = conn_first_frame,
	.dispatch = control_dispatch,
	.conn_closed = conn_closed,
	.reap = proc_reap,
	.tick = oom_poll,
	.busy = busy,
};

int main(int argc, char **argv)
{
	vs_err err = { 0 };
	const char *listen_arg = NULL, *fd_arg = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
			listen_arg = argv[++i];
		} else if (!strcmp(argv[i], "--listen-fd") && i + 1 < argc) {
			fd_arg = argv[++i];
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "vessel-agent: unknown argument \"%s\"\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (listen_arg && fd_arg) {
		fprintf(stderr, "vessel-agent: --listen and --listen-fd exclude each other\n");
		return 2;
	}
	bool pid1 = !listen_arg && !fd_arg && getpid() == 1;
	int fd;
	if (listen_arg) {
		if (strncmp(listen_arg, "unix:", 5) != 0) {
			fprintf(stderr, "vessel-agent: --listen: expected unix:PATH, got \"%s\"\n",
				listen_arg);
			return 2;
		}
		fd = listen_unix(listen_arg + 5, &err);
	} else if (fd_arg) {
		fd = listen_fd_arg(fd_arg, &err);
	} else {
		if (pid1 && pid1_boot(&err) < 0) {
			fprintf(stderr, "vessel-agent: %s\n", err.msg);
			pid1_poweroff();
		}
		fd = listen_vsock(&err);
	}
	if (fd < 0) {
		fprintf(stderr, "vessel-agent: %s\n", err.msg);
		if (pid1)
			pid1_poweroff();
		return 1;
	}
	/* As a host process, orphans of the workload come back to us, so
	 * `ps` and `signal all` see them and they are reaped. */
	if (!pid1)
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	static agent a;
	int rc = agent_run(&a, fd, pid1, &hooks, &err);
	if (rc < 0)
		fprintf(stderr, "vessel-agent: %s\n", err.msg);
	procs_kill_all(&a);
	if (listen_arg)
		unlink(listen_arg + 5);
	if (pid1) {
		sync();
		pid1_poweroff();
	}
	if (rc < 0)
		return 1;
	return a.init_exited ? a.init_code : 0;
}
