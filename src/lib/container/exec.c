/* `exec` in the container backend, runtime side: open the init's
 * namespaces, fork the new process in its pid namespace, place it in the
 * container's cgroups, and wait until its program is exec'd. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "container/exec.h"
#include "container/internal.h"
#include "container/sync.h"
#include "container/terminal.h"
#include "core/cleanup.h"
#include "core/fs.h"
#include "core/proc.h"
#include "core/sealed_exe.h"
#include "lifecycle/container.h"

static const char *const proc_ns[VS_NS_COUNT] = {
	[VS_NS_PID] = "pid",	   [VS_NS_NET] = "net",	  [VS_NS_MNT] = "mnt",
	[VS_NS_IPC] = "ipc",	   [VS_NS_UTS] = "uts",	  [VS_NS_USER] = "user",
	[VS_NS_CGROUP] = "cgroup", [VS_NS_TIME] = "time",
};

static void close_ns(int fds[VS_NS_COUNT])
{
	for (int t = 0; t < VS_NS_COUNT; t++)
		if (fds[t] >= 0) {
			close(fds[t]);
			fds[t] = -1;
		}
}

/* Every namespace of the init that differs from ours (setns into our own
 * user namespace would fail; the others would be no-ops). The init is
 * checked again after opening: a recycled pid must not lend its namespaces. */
static int open_init_namespaces(const vs_container *c, int fds[VS_NS_COUNT], int *root_fd,
				vs_err *err)
{
	pid_t pid = c->state.pid;
	*root_fd = -1;
	for (int t = 0; t < VS_NS_COUNT; t++) {
		char path[64], self[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, proc_ns[t]);
		snprintf(self, sizeof(self), "/proc/self/ns/%s", proc_ns[t]);
		struct stat a, b;
		fds[t] = -1;
		if (stat(self, &b) < 0)
			continue; /* the kernel lacks this kind */
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return vs_fail_errno(err, "open %s", path);
		if (fstat(fd, &a) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			close(fd);
			continue;
		}
		fds[t] = fd;
	}
	/* No mount namespace of its own: the init chroot'ed into the rootfs, and
	 * so must we, or cwd and the program would resolve in the host's root. */
	if (fds[VS_NS_MNT] < 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
		*root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (*root_fd < 0)
			return vs_fail_errno(err, "open %s", path);
	}
	/* Checked after the opens: they are the recorded process's. */
	if (!vs_proc_alive(pid, c->state.start_time))
		return vs_fail(err, ESRCH, "container process %d is gone", (int)pid);
	return 0;
}

static void cgroup_freep(vs_cgroup **cg)
{
	vs_cgroup_free(*cg);
}

/* Fork the child inside the pid namespace: setns(CLONE_NEWPID) only moves
 * our future children, and we go back right after. Non-dumpable across the
 * fork, so there is no moment where a container process could open the
 * child's /proc/PID/fd or /proc/PID/exe. */
static pid_t fork_in_pidns(vs_exec_ctx *ctx, int peer_fd, vs_err *err)
{
	int saved = -1;
	if (ctx->ns_fds[VS_NS_PID] >= 0) {
		saved = open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
		if (saved < 0)
			return vs_fail_errno(err, "open /proc/self/ns/pid_for_children");
		if (setns(ctx->ns_fds[VS_NS_PID], CLONE_NEWPID) < 0) {
			close(saved);
			return vs_fail_errno(err, "setns pid");
		}
	}
	int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(peer_fd);
		vs_exec_child(ctx);
	}
	int e = errno;
	prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0);
	if (saved >= 0) {
		setns(saved, CLONE_NEWPID);
		close(saved);
	}
	if (pid < 0)
		return vs_fail(err, e, "fork");
	return pid;
}

static void copy_child_error(const vs_sync_msg *m, vs_err *err)
{
	err->errnum = m->errnum;
	snprintf(err->msg, sizeof(err->msg), "%s", m->msg);
	err->exit_code = 1;
}

/* Serve the child until its sync socket closes on exec: its errors, a
 * seccomp notify listener, the pty master. */
static int follow_child(vs_container *c, const vs_config *cfg, const vs_exec_process *x, int sock,
			vs_err *err)
{
	for (;;) {
		vs_sync_msg m;
		ssize_t r;
		do
			r = recv(sock, &m, sizeof(m), 0);
		while (r < 0 && errno == EINTR);
		if (r == 0)
			return 0;
		if (r != (ssize_t)sizeof(m))
			return vs_fail_errno(err, "sync with the exec'd process");
		m.msg[sizeof(m.msg) - 1] = '\0';
		switch (m.type) {
		case VS_SYNC_ERROR:
			copy_child_error(&m, err);
			return -1;
		case VS_SYNC_SECCOMP_FD:
			if (vs_seccomp_notify_handoff(c, cfg, sock, err) < 0)
				return -1;
			break;
		case VS_SYNC_CONSOLE_FD:
			if (vs_console_handoff(sock, x->console_socket, x->console_fd,
					       x->process.has_console_size, err) < 0)
				return -1;
			break;
		default:
			return vs_fail(err, 0, "unexpected message %d from the exec'd process",
				       m.type);
		}
	}
}

static int container_exec_run(vs_container *c, const vs_config *cfg, const vs_exec_process *x,
			      vs_exec_ctx *ctx, const vs_cgroup *cg, pid_t *out, vs_err *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return vs_fail_errno(err, "socketpair");
	ctx->sync_fd = sv[1];
	pid_t pid = fork_in_pidns(ctx, sv[0], err);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -1;
	}
	int rc = -1;
	/* Only once it dropped its copy of the container lock: frozen with a
	 * paused container, it would hold the lock until resume. */
	vs_sync_msg m;
	if (vs_sync_recv(sv[0], &m, err) < 0)
		goto out;
	if (m.type == VS_SYNC_ERROR) {
		copy_child_error(&m, err);
		goto out;
	}
	if (m.type != VS_SYNC_FDS_CLOSED) {
		vs_fail(err, 0, "unexpected message %d from the exec'd process", m.type);
		goto out;
	}
	if (x->process.has_oom_score_adj &&
	    vs_proc_write_oom_score_adj(pid, x->process.oom_score_adj, err) < 0)
		goto out;
	if (vs_exec_cgroup_enter(cg, x->cgroups, pid, err) < 0)
		goto out;
	if (vs_sync_send(sv[0], VS_SYNC_GO, NULL) < 0) {
		/* It quit already; its reason is waiting on the socket. */
		if (follow_child(c, cfg, x, sv[0], err) == 0)
			vs_fail(err, 0, "the exec'd process quit during setup");
		goto out;
	}
	/* The child is in place; what remains is its own setup. In a paused
	 * container (--ignore-paused) it stays frozen until `resume`, which
	 * takes the lock: let go of it now. */
	vs_container_unlock(c);
	if (follow_child(c, cfg, x, sv[0], err) < 0)
		goto out;
	/* Closed without an error: exec'd (its close-on-exec end went). A
	 * death on the way shows in its exit status, which the caller reaps. */
	rc = 0;
out:
	close(sv[0]);
	if (rc < 0 && pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (rc == 0)
		*out = pid;
	return rc;
}

int vs_container_backend_exec(vs_container *c, const vs_config *cfg, const vs_exec_process *x,
			      pid_t *pid, vs_err *err)
{
	/* The child is a fork of us: it must run the sealed copy (CVE-2019-5736). */
	if (!vs_self_is_sealed())
		return vs_fail(err, 0,
			       "vessel is not running from a sealed copy of itself, which exec "
			       "needs (CVE-2019-5736); the vessel CLI re-executes from one");
	if (x->preserve_fds < 0)
		return vs_fail(err, 0, "--preserve-fds: must not be negative");
	__attribute__((cleanup(cgroup_freep))) vs_cgroup *cg = vs_container_cgroup(c, err);
	if (!cg)
		return -1;
	vs_exec_ctx ctx = { .cfg = cfg, .x = x, .lock_fd = c->lock_fd, .root_fd = -1 };
	int rc = open_init_namespaces(c, ctx.ns_fds, &ctx.root_fd, err);
	if (rc == 0)
		rc = container_exec_run(c, cfg, x, &ctx, cg, pid, err);
	close_ns(ctx.ns_fds);
	if (ctx.root_fd >= 0)
		close(ctx.root_fd);
	return rc;
}
