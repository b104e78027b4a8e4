/* The exec'd process, between fork and execve: nothing of the host is
 * reachable from here on. Every fd but the std fds, --preserve-fds and our
 * own is closed before anything is resolved; the container's namespaces are
 * joined (the mount namespace gives the container's root); then the process
 * setup the init uses. Non-dumpable until execve (inherited from the fork). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container/exec.h"
#include "container/home_env.h"
#include "container/process_setup.h"
#include "container/sync.h"
#include "container/terminal.h"
#include "core/cleanup.h"
#include "core/log.h"
#include "core/resolve.h"

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Our fds go above 3+N (the program's --preserve-fds slots), then every
 * other fd above the std fds and those slots is closed. */
static int close_foreign_fds(vs_exec_ctx *ctx, vs_err *err)
{
	int floor = 3 + ctx->x->preserve_fds;
	int *mine[2 + VS_NS_COUNT], n = 0;
	mine[n++] = &ctx->sync_fd;
	if (ctx->root_fd >= 0)
		mine[n++] = &ctx->root_fd;
	for (int t = 0; t < VS_NS_COUNT; t++)
		if (ctx->ns_fds[t] >= 0)
			mine[n++] = &ctx->ns_fds[t];
	int keep[2 + VS_NS_COUNT];
	for (int i = 0; i < n; i++) {
		if (*mine[i] < floor) {
			int nfd = fcntl(*mine[i], F_DUPFD_CLOEXEC, floor);
			if (nfd < 0)
				return vs_fail_errno(err, "move internal fds above %d", floor);
			close(*mine[i]);
			*mine[i] = nfd;
		}
		keep[i] = *mine[i];
	}
	qsort(keep, (size_t)n, sizeof(int), cmp_int);
	unsigned int from = (unsigned int)floor;
	for (int i = 0; i < n; i++) {
		unsigned int fd = (unsigned int)keep[i];
		if (fd > from && syscall(SYS_close_range, from, fd - 1, 0) < 0)
			return vs_fail_errno(err, "close inherited fds");
		if (fd >= from)
			from = fd + 1;
	}
	if (syscall(SYS_close_range, from, ~0U, 0) < 0)
		return vs_fail_errno(err, "close inherited fds");
	return 0;
}

static const char *ns_name(int t)
{
	return vs_ns_name((enum vs_ns_type)t);
}

/* Everything but the user namespace first, while we are still root on the
 * host (a container may share a host-owned namespace its user namespace has
 * no power over); the user namespace last. */
static int join_namespaces(vs_exec_ctx *ctx, vs_err *err)
{
	for (int t = 0; t < VS_NS_COUNT; t++) {
		if (t == VS_NS_USER || t == VS_NS_PID || ctx->ns_fds[t] < 0)
			continue;
		if (setns(ctx->ns_fds[t], vs_ns_clone_flag(t)) < 0)
			return vs_fail_errno(err, "setns %s namespace of the container",
					     ns_name(t));
		close(ctx->ns_fds[t]);
		ctx->ns_fds[t] = -1;
	}
	int u = ctx->ns_fds[VS_NS_USER];
	if (u >= 0) {
		if (setns(u, CLONE_NEWUSER) < 0)
			return vs_fail_errno(err, "setns user namespace of the container");
		close(u);
		ctx->ns_fds[VS_NS_USER] = -1;
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			return vs_fail_errno(
				err, "become root in the user namespace (is uid/gid 0 mapped?)");
		/* A credential change resets dumpable to fs.suid_dumpable. */
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	}
	if (ctx->ns_fds[VS_NS_PID] >= 0) {
		close(ctx->ns_fds[VS_NS_PID]);
		ctx->ns_fds[VS_NS_PID] = -1;
	}
	return 0;
}

static int setup(vs_exec_ctx *ctx, char *exe, size_t len, vs_err *err)
{
	const vs_process *p = &ctx->x->process;
	vs_sync_msg m;
	if (vs_sync_recv(ctx->sync_fd, &m, err) < 0)
		return -1;
	if (m.type != VS_SYNC_GO)
		return vs_fail(err, 0, "unexpected sync message %d", m.type);
	if (join_namespaces(ctx, err) < 0)
		return -1;
	if (ctx->root_fd >= 0) {
		/* The init's chroot (a container without a mount namespace). */
		if (fchdir(ctx->root_fd) < 0 || chroot(".") < 0)
			return vs_fail_errno(err, "enter the container's root");
		close(ctx->root_fd);
		ctx->root_fd = -1;
	}
	/* cwd and the program are resolved inside the root without magic
	 * links (CVE-2024-21626); exec never creates cwd. */
	vs_autoclose int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return vs_fail_errno(err, "open the container root");
	vs_autoclose int cwd_fd = vs_open_in_root(root_fd, p->cwd, VS_OPEN_EXISTING, err);
	if (cwd_fd < 0)
		return vs_err_wrap(err, "process.cwd");
	/* HOME from the image's /etc/passwd as for the init (runc does it for exec too). */
	if (vs_env_with_home(p->env, root_fd, p->uid, &ctx->env, err) < 0)
		return -1;
	if (p->terminal && vs_terminal_setup(root_fd, p, ctx->sync_fd, false, err) < 0)
		return -1;
	vs_process_setup ps = { .p = p,
				.seccomp = ctx->cfg->seccomp,
				.attrs = &ctx->x->attrs,
				.sync_fd = ctx->sync_fd,
				.preserve_fds = ctx->x->preserve_fds,
				.root_fd = root_fd,
				.cwd_fd = cwd_fd };
	return vs_process_setup_apply(&ps, exe, len, err);
}

void vs_exec_child(vs_exec_ctx *ctx)
{
	vs_err err = { 0 };
	char exe[PATH_MAX];
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* vessel exec holds the signals it forwards until it knows our pid. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Die with vessel exec while it is still setting us up. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	vs_log_close();
	if (ctx->lock_fd >= 0)
		close(ctx->lock_fd);
	if (close_foreign_fds(ctx, &err) < 0 ||
	    vs_sync_send(ctx->sync_fd, VS_SYNC_FDS_CLOSED, NULL) < 0 ||
	    setup(ctx, exe, sizeof(exe), &err) < 0) {
		vs_sync_send(ctx->sync_fd, VS_SYNC_ERROR, &err);
		_exit(127);
	}
	const vs_process *p = &ctx->x->process;
	prctl(PR_SET_PDEATHSIG, 0);
	char **env = ctx->env ? ctx->env : p->env;
	execve(exe, p->args, env ? env : (char *[]){ NULL });
	vs_fail_errno(&err, "exec %s", exe);
	vs_sync_send(ctx->sync_fd, VS_SYNC_ERROR, &err);
	_exit(127);
}
