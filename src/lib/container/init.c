/* The container init: the cloned child that builds the container around
 * itself, reports READY, waits on the exec fifo for `start`, then execs. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container/home_env.h"
#include "container/internal.h"
#include "container/process_setup.h"
#include "container/sync.h"
#include "container/terminal.h"
#include "core/cleanup.h"
#include "core/fs.h"
#include "core/resolve.h"
#include "core/log.h"

static int set_sysctls(const vs_config *cfg, vs_err *err)
{
	for (size_t i = 0; i < cfg->n_sysctl; i++) {
		char path[PATH_MAX] = "/proc/sys/";
		size_t off = strlen(path);
		for (const char *k = cfg->sysctl[i].key; *k && off < sizeof(path) - 1; k++)
			path[off++] = *k == '.' ? '/' : *k;
		path[off] = '\0';
		const char *v = cfg->sysctl[i].value;
		if (vs_write_file(path, v, strlen(v), 0644, err) < 0)
			return vs_err_wrap(err, "linux.sysctl %s", cfg->sysctl[i].key);
	}
	return 0;
}

static int set_hostnames(const vs_config *cfg, vs_err *err)
{
	if (cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
		return vs_fail_errno(err, "sethostname \"%s\"", cfg->hostname);
	if (cfg->domainname && setdomainname(cfg->domainname, strlen(cfg->domainname)) < 0)
		return vs_fail_errno(err, "setdomainname \"%s\"", cfg->domainname);
	return 0;
}

static int enter_namespaces(vs_init_ctx *ctx, vs_err *err)
{
	const vs_config *cfg = ctx->cfg;
	/* The user namespace first: it decides who owns what is created after. */
	if (ctx->ns_fds[VS_NS_USER] >= 0 && setns(ctx->ns_fds[VS_NS_USER], CLONE_NEWUSER) < 0)
		return vs_fail_errno(err, "setns user %s", cfg->ns[VS_NS_USER].path);
	if (cfg->ns[VS_NS_USER].present) {
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			return vs_fail_errno(
				err, "become root in the user namespace (is uid/gid 0 mapped?)");
		/* A credential change resets dumpable to fs.suid_dumpable. */
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	}
	if (ctx->ns_fds[VS_NS_MNT] >= 0 && setns(ctx->ns_fds[VS_NS_MNT], CLONE_NEWNS) < 0)
		return vs_fail_errno(err, "setns mount %s", cfg->ns[VS_NS_MNT].path);
	if (ctx->deferred_unshare && unshare(ctx->deferred_unshare) < 0)
		return vs_fail_errno(err, "unshare namespaces 0x%x", ctx->deferred_unshare);
	return 0;
}

static int setup(vs_init_ctx *ctx, char *exe, size_t exelen, vs_err *err)
{
	const vs_config *cfg = ctx->cfg;
	const vs_process *p = &cfg->process;
	vs_sync_msg m;
	if (vs_sync_recv(ctx->sync_fd, &m, err) < 0)
		return -1;
	if (m.type != VS_SYNC_GO)
		return vs_fail(err, 0, "unexpected sync message %d", m.type);
	if (enter_namespaces(ctx, err) < 0 || set_hostnames(cfg, err) < 0)
		return -1;
	if (vs_rootfs_setup(ctx, err) < 0 || vs_init_wait_cgroup(ctx, err) < 0 ||
	    set_sysctls(cfg, err) < 0)
		return -1;
	/* cwd and the program are resolved inside the new root, never through a
	 * magic link (/proc/self/fd/N, /proc/self/exe): CVE-2024-21626. cwd may
	 * be missing from the image: create it before root goes read-only. */
	vs_autoclose int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return vs_fail_errno(err, "open the container root");
	vs_autoclose int cwd_fd = vs_open_in_root(root_fd, p->cwd, VS_CREATE_DIR, err);
	if (cwd_fd < 0)
		return vs_err_wrap(err, "process.cwd");
	if (vs_env_with_home(p->env, root_fd, p->uid, &ctx->env, err) < 0)
		return -1;
	if (p->terminal && vs_terminal_setup(root_fd, p, ctx->sync_fd, true, err) < 0)
		return -1;
	if (vs_rootfs_finalize(cfg, err) < 0)
		return -1;
	/* opts->instead: the program is an fd, not looked up in the root. */
	vs_process_setup ps = { .p = p,
				.no_lookup = ctx->opts->instead != NULL,
				.seccomp = cfg->seccomp,
				.attrs = &cfg->process_attrs,
				.sync_fd = ctx->sync_fd,
				.preserve_fds = ctx->opts->preserve_fds,
				.root_fd = root_fd,
				.cwd_fd = cwd_fd };
	return vs_process_setup_apply(&ps, exe, exelen, err);
}

/* Our own fds must not sit where --preserve-fds hands fds to the program
 * (a caller may pass fewer than it says): move them above 3+N. */
static int move_above(int *fd, int floor)
{
	if (*fd < 0 || *fd >= floor)
		return 0;
	int nfd = fcntl(*fd, F_DUPFD_CLOEXEC, floor);
	if (nfd < 0)
		return -1;
	close(*fd);
	*fd = nfd;
	return 0;
}

/* The first fd above what the program gets: the std fds, --preserve-fds
 * and opts->instead's pass_fd. */
static int fd_floor(const vs_init_ctx *ctx)
{
	return 3 + ctx->opts->preserve_fds + (ctx->pass_fd >= 0);
}

static int relocate_internal_fds(vs_init_ctx *ctx, vs_err *err)
{
	int floor = fd_floor(ctx);
	vs_log_close(); /* the init reports errors over the sync socket, not the log */
	if (move_above(&ctx->sync_fd, floor) < 0 || move_above(&ctx->fifo_fd, floor) < 0 ||
	    move_above(&ctx->exec_error_fd, floor) < 0 || move_above(&ctx->instead_fd, floor) < 0 ||
	    move_above(&ctx->pass_fd, floor) < 0)
		return vs_fail_errno(err, "move internal fds above %d", floor);
	for (int t = 0; t < VS_NS_COUNT; t++)
		if (move_above(&ctx->ns_fds[t], floor) < 0)
			return vs_fail_errno(err, "move internal fds above %d", floor);
	for (size_t i = 0; ctx->bind_fds && i < ctx->cfg->n_mounts; i++)
		if (move_above(&ctx->bind_fds[i], floor) < 0)
			return vs_fail_errno(err, "move internal fds above %d", floor);
	const vs_exec_instead *in = ctx->opts->instead;
	for (size_t i = 0; in && i < in->n_keep; i++)
		if (move_above(&in->keep[i], floor) < 0)
			return vs_fail_errno(err, "move internal fds above %d", floor);
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Close (not just mark close-on-exec) every fd above the std fds and
 * --preserve-fds that is not one of ours: the runtime's saved namespace fds,
 * its state dir, whatever our caller leaked. A close-on-exec fd is still
 * open while execve resolves a #! interpreter or PT_INTERP, and until then a
 * neighbour in our pid namespace could reach it through /proc/PID/fd. */
static int close_foreign_fds(vs_init_ctx *ctx, vs_err *err)
{
	/* Only these namespaces are entered here; the runtime joined the rest. */
	for (int t = 0; t < VS_NS_COUNT; t++)
		if (t != VS_NS_USER && t != VS_NS_MNT && t != VS_NS_CGROUP && ctx->ns_fds[t] >= 0) {
			close(ctx->ns_fds[t]);
			ctx->ns_fds[t] = -1;
		}
	const vs_exec_instead *in = ctx->opts->instead;
	size_t n_keep = in ? in->n_keep : 0;
	int keep[5 + VS_NS_COUNT + (ctx->bind_fds ? ctx->cfg->n_mounts : 0) + n_keep], n = 0;
	int floor = fd_floor(ctx);
	int mine[] = { ctx->sync_fd, ctx->fifo_fd, ctx->exec_error_fd, ctx->instead_fd,
		       ctx->pass_fd };
	for (size_t i = 0; i < sizeof(mine) / sizeof(mine[0]); i++)
		if (mine[i] >= floor)
			keep[n++] = mine[i];
	for (int t = 0; t < VS_NS_COUNT; t++)
		if (ctx->ns_fds[t] >= floor)
			keep[n++] = ctx->ns_fds[t];
	for (size_t i = 0; ctx->bind_fds && i < ctx->cfg->n_mounts; i++)
		if (ctx->bind_fds[i] >= floor)
			keep[n++] = ctx->bind_fds[i];
	for (size_t i = 0; i < n_keep; i++)
		if (in->keep[i] >= floor)
			keep[n++] = in->keep[i];
	qsort(keep, (size_t)n, sizeof(int), cmp_int);
	unsigned int from = (unsigned int)floor;
	for (int i = 0; i < n; i++) {
		unsigned int fd = (unsigned int)keep[i];
		if (fd < from)
			continue; /* a duplicate */
		if (fd > from && syscall(SYS_close_range, from, fd - 1, 0) < 0)
			return vs_fail_errno(err, "close inherited fds");
		from = fd + 1;
	}
	if (syscall(SYS_close_range, from, ~0U, 0) < 0)
		return vs_fail_errno(err, "close inherited fds");
	return 0;
}

static void close_namespace_fds(vs_init_ctx *ctx)
{
	for (int t = 0; t < VS_NS_COUNT; t++)
		if (ctx->ns_fds[t] >= 0)
			close(ctx->ns_fds[t]);
}

/* After start released us the sync socket is gone: leave the reason in
 * exec.error (start reads it once our fifo fd closes) and on stderr. */
__attribute__((noreturn)) static void fail_after_start(vs_init_ctx *ctx, const vs_err *err)
{
	dprintf(STDERR_FILENO, "vessel: %s\n", err->msg);
	if (ctx->exec_error_fd >= 0)
		dprintf(ctx->exec_error_fd, "%s", err->msg);
	_exit(127);
}

/* opts->instead: exec the program now; it waits for start its own way. */
__attribute__((noreturn)) static void exec_instead(vs_init_ctx *ctx)
{
	vs_err err = { 0 };
	int to = 3 + ctx->opts->preserve_fds;
	if (ctx->pass_fd >= 0 && dup2(ctx->pass_fd, to) < 0) {
		vs_fail_errno(&err, "pass fd %d as %d", ctx->pass_fd, to);
		fail_after_start(ctx, &err);
	}
	char **env = ctx->env ? ctx->env : ctx->cfg->process.env;
	syscall(SYS_execveat, ctx->instead_fd, "", ctx->opts->instead->argv,
		env ? env : (char *[]){ NULL }, AT_EMPTY_PATH);
	vs_fail_errno(&err, "exec %s", ctx->opts->instead->argv[0]);
	fail_after_start(ctx, &err);
}

/* opts->instead->root_tree: our finished root, as a detached tree, to the
 * host side; its answer (a vhost-user connection) back. */
static int share_root(vs_init_ctx *ctx, vs_err *err)
{
	const vs_exec_instead *in = ctx->opts->instead;
	int tree = (int)syscall(SYS_open_tree, AT_FDCWD, "/",
				OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		return vs_fail_errno(err, "open_tree of the container's root");
	int rc = vs_sync_send(ctx->sync_fd, VS_SYNC_ROOT_TREE, NULL) < 0 ||
				 vs_sync_send_fd(ctx->sync_fd, tree) < 0
			 ? vs_fail_errno(err, "send the root tree")
			 : 0;
	close(tree);
	vs_sync_msg m;
	if (rc < 0 || vs_sync_recv(ctx->sync_fd, &m, err) < 0)
		return -1;
	if (m.type != VS_SYNC_ROOT_TREE_DONE)
		return vs_fail(err, 0, "unexpected sync message %d", m.type);
	return vs_sync_recv_fd(ctx->sync_fd, in->root_reply, err);
}

/* opts->instead in-process: the monitor carries on in this process. */
__attribute__((noreturn)) static void run_instead(vs_init_ctx *ctx)
{
	/* What an exec would have closed: start is the backend's own (the
	 * agent's), not the fifo's, and run reports on stderr. */
	close(ctx->fifo_fd);
	close(ctx->exec_error_fd);
	_exit(ctx->opts->instead->run(ctx->opts->instead->arg));
}

void vs_container_init(vs_init_ctx *ctx)
{
	vs_err err = { 0 };
	char exe[PATH_MAX];
	/* Not dumpable until the program is exec'd (execve makes it dumpable
	 * again): a neighbour in our pid namespace cannot open /proc/PID/fd/N
	 * or /proc/PID/exe of this still-privileged vessel process. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (relocate_internal_fds(ctx, &err) < 0 || close_foreign_fds(ctx, &err) < 0) {
		vs_sync_send(ctx->sync_fd, VS_SYNC_ERROR, &err);
		_exit(1);
	}
	/* Die with the runtime while it is still setting us up. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (setup(ctx, exe, sizeof(exe), &err) < 0) {
		vs_sync_send(ctx->sync_fd, VS_SYNC_ERROR, &err);
		_exit(1);
	}
	close_namespace_fds(ctx);
	prctl(PR_SET_PDEATHSIG, 0);
	/* In-process: prepare may confine us (no prctl after it), so it runs
	 * after PDEATHSIG is cleared; a runtime gone meanwhile shows as the
	 * failed send below, and we end. */
	const vs_exec_instead *in = ctx->opts->instead;
	if (in && in->fd < 0 &&
	    ((in->root_tree && share_root(ctx, &err) < 0) || in->prepare(in->arg, &err) < 0)) {
		vs_sync_send(ctx->sync_fd, VS_SYNC_ERROR, &err);
		_exit(1);
	}
	if (vs_sync_send(ctx->sync_fd, VS_SYNC_READY, NULL) < 0)
		_exit(1);
	close(ctx->sync_fd);
	if (in && in->fd < 0)
		run_instead(ctx);
	if (ctx->instead_fd >= 0)
		exec_instead(ctx);

	/* Block until `start` writes to the fifo (opened O_RDWR by us, so it
	 * never blocks at open and start can tell whether we are still here). */
	char c;
	ssize_t r;
	do
		r = read(ctx->fifo_fd, &c, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		_exit(1);
	/* The fifo fd stays open (close-on-exec) through startContainer hooks:
	 * start waits for it to close to know the program was exec'd. */

	if (ctx->cfg->hooks.n[VS_HOOK_START_CONTAINER] &&
	    vs_hooks_run(&ctx->cfg->hooks, VS_HOOK_START_CONTAINER, ctx->state_created, &err) < 0)
		fail_after_start(ctx, &err);
	char **env = ctx->env ? ctx->env : ctx->cfg->process.env;
	execve(exe, ctx->cfg->process.args, env ? env : (char *[]){ NULL });
	vs_fail_errno(&err, "exec %s", exe);
	fail_after_start(ctx, &err);
}
