/* The container backend, runtime side: prepares namespaces and cgroups,
 * clones the init, feeds it id maps, and implements start/status/kill. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup/warm.h"
#include "cgroup/freeze.h"
#include "cgroup/resources.h"
#include "cgroup/stats.h"
#include "container/internal.h"
#include "container/mount_ext.h"
#include "container/netdev.h"
#include "container/sync.h"
#include "container/terminal.h"
#include "core/cleanup.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/sealed_exe.h"
#include "lifecycle/container.h"
#include "lifecycle/terminal_check.h"
#include "oci/consistency.h"

#define EXEC_FIFO     "exec.fifo"
#define EXEC_ERROR    "exec.error"
#define CGROUP_RECORD "cgroups.created"
#define CGROUP_FILE   VS_CGROUP_FILE

static int state_file(const vs_container *c, const char *name, char *out, size_t len, vs_err *err)
{
	return vs_path_join(out, len, c->dir, name, err);
}

static int write_id_map(pid_t pid, const char *file, const vs_idmap *m, size_t n, vs_err *err)
{
	char path[64], buf[4096];
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + off, sizeof(buf) - off, "%u %u %u\n", m[i].container_id,
				 m[i].host_id, m[i].size);
		if (w < 0 || (size_t)w >= sizeof(buf) - off)
			return vs_fail(err, E2BIG, "linux.%s: too many mappings", file);
		off += (size_t)w;
	}
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if (vs_write_file(path, buf, off, 0644, err) < 0)
		return vs_err_wrap(err, "linux.%s",
				   !strcmp(file, "uid_map") ? "uidMappings" : "gidMappings");
	return 0;
}

static int write_time_offsets(const vs_config *cfg, vs_err *err)
{
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "monotonic %lld %lld\nboottime %lld %lld\n",
			 (long long)cfg->time_offsets[0][0], (long long)cfg->time_offsets[0][1],
			 (long long)cfg->time_offsets[1][0], (long long)cfg->time_offsets[1][1]);
	if (vs_write_file("/proc/self/timens_offsets", buf, (size_t)n, 0644, err) < 0)
		return vs_err_wrap(err, "linux.timeOffsets");
	return 0;
}

/* Namespaces the runtime itself can enter before cloning without losing
 * what it needs (pid and time only affect children anyway). User and mount
 * namespaces are joined by the init, which owns nothing on the host. */
static bool joined_in_parent(enum vs_ns_type t)
{
	/* cgroup too: joined by the init once it is in its cgroups, since on a
	 * cgroup2 "nsdelegate" host we could not place it from inside. */
	return t != VS_NS_USER && t != VS_NS_MNT && t != VS_NS_CGROUP;
}

static int open_namespaces(const vs_config *cfg, int fds[VS_NS_COUNT], vs_err *err)
{
	/* All first: on a failure, close_namespaces must not close fd 0. */
	for (int t = 0; t < VS_NS_COUNT; t++)
		fds[t] = -1;
	for (int t = 0; t < VS_NS_COUNT; t++) {
		if (!cfg->ns[t].path)
			continue;
		fds[t] = open(cfg->ns[t].path, O_RDONLY | O_CLOEXEC);
		if (fds[t] < 0)
			return vs_fail_errno(err, "linux.namespaces: %s namespace %s",
					     vs_ns_name(t), cfg->ns[t].path);
	}
	return 0;
}

static void close_namespaces(int fds[VS_NS_COUNT])
{
	for (int t = 0; t < VS_NS_COUNT; t++)
		if (fds[t] >= 0)
			close(fds[t]);
}

/* /proc/self/ns entry of each type the runtime may enter itself. */
static const char *proc_ns_name(enum vs_ns_type t)
{
	switch (t) {
	case VS_NS_PID:
		return "pid";
	case VS_NS_NET:
		return "net";
	case VS_NS_IPC:
		return "ipc";
	case VS_NS_UTS:
		return "uts";
	case VS_NS_TIME:
		return "time";
	default:
		return NULL;
	}
}

/* The runtime enters joined namespaces only to clone the init into them;
 * it goes back right after, so prestart/createRuntime hooks and everything
 * else it does run in the runtime's own namespaces, as the spec says. */
static void restore_parent_namespaces(int saved[VS_NS_COUNT])
{
	for (int t = 0; t < VS_NS_COUNT; t++) {
		if (saved[t] < 0)
			continue;
		if (setns(saved[t], vs_ns_clone_flag(t)) < 0)
			vs_warn("return to the runtime's %s namespace: %s", vs_ns_name(t),
				strerror(errno));
		close(saved[t]);
		saved[t] = -1;
	}
}

static int save_parent_namespace(enum vs_ns_type t, int saved[VS_NS_COUNT], vs_err *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/ns/%s", proc_ns_name(t));
	saved[t] = open(path, O_RDONLY | O_CLOEXEC);
	return saved[t] < 0 ? vs_fail_errno(err, "open %s", path) : 0;
}

static int enter_parent_namespaces(const vs_config *cfg, const int fds[VS_NS_COUNT],
				   int saved[VS_NS_COUNT], vs_err *err)
{
	for (int t = 0; t < VS_NS_COUNT; t++) {
		if (fds[t] < 0 || !joined_in_parent(t))
			continue;
		if (save_parent_namespace(t, saved, err) < 0)
			return -1;
		if (setns(fds[t], vs_ns_clone_flag(t)) < 0)
			return vs_fail_errno(err, "setns %s %s", vs_ns_name(t), cfg->ns[t].path);
	}
	if (cfg->ns[VS_NS_TIME].present && !cfg->ns[VS_NS_TIME].path) {
		if (save_parent_namespace(VS_NS_TIME, saved, err) < 0)
			return -1;
		if (unshare(vs_ns_clone_flag(VS_NS_TIME)) < 0)
			return vs_fail_errno(err, "unshare time namespace");
		if (cfg->has_time_offsets && write_time_offsets(cfg, err) < 0)
			return -1;
	}
	return 0;
}

/* Split new namespaces into those created by clone (pid must be, user so
 * we can write its id maps) and those the init unshares itself. */
static void clone_flags(const vs_config *cfg, int *at_clone, int *deferred)
{
	static const enum vs_ns_type late[] = { VS_NS_MNT, VS_NS_UTS, VS_NS_IPC, VS_NS_NET };
	*at_clone = 0;
	*deferred = 0;
	if (cfg->ns[VS_NS_PID].present && !cfg->ns[VS_NS_PID].path)
		*at_clone |= CLONE_NEWPID;
	if (cfg->ns[VS_NS_USER].present && !cfg->ns[VS_NS_USER].path)
		*at_clone |= CLONE_NEWUSER;
	/* The rest the init unshares itself, after entering its user namespace
	 * (so that one owns them) and in parallel with our cgroup work (a new
	 * network namespace alone costs about a millisecond). */
	for (size_t i = 0; i < sizeof(late) / sizeof(late[0]); i++)
		if (cfg->ns[late[i]].present && !cfg->ns[late[i]].path)
			*deferred |= vs_ns_clone_flag(late[i]);
}

static int validate(const vs_config *cfg, const vs_create_opts *opts, vs_err *err)
{
	if (vs_config_check_mount_namespace(cfg, err) < 0)
		return -1;
	if (vs_create_check_terminal(cfg, opts, err) < 0)
		return -1;
	if (opts->preserve_fds < 0)
		return vs_fail(err, 0, "--preserve-fds: must not be negative");
	return vs_netdev_check(&cfg->net_devices, err);
}

static void copy_child_error(const vs_sync_msg *m, vs_err *err)
{
	err->errnum = m->errnum;
	snprintf(err->msg, sizeof(err->msg), "%s", m->msg);
	err->exit_code = 1;
}

/* When a step on our side fails because the init already quit, its own
 * error (already queued on the socket) is the one worth reporting. */
static void take_child_error(int sock, vs_err *err)
{
	vs_sync_msg m;
	if (recv(sock, &m, sizeof(m), MSG_DONTWAIT) == (ssize_t)sizeof(m) &&
	    m.type == VS_SYNC_ERROR) {
		m.msg[sizeof(m.msg) - 1] = '\0';
		copy_child_error(&m, err);
	}
}

/* The init stopped before pivot_root: run prestart and createRuntime hooks
 * here (runtime namespace), then hand it the state for its own hooks. Every
 * one of them sees status "created", as crun passes (table in docs/cli.md). */
static int run_runtime_hooks(vs_container *c, const vs_config *cfg, int sock, vs_err *err)
{
	json_object *created = vs_state_to_oci_json(&c->state, VS_STATUS_CREATED);
	const char *s = json_object_to_json_string(created);
	int rc = -1;
	if (vs_hooks_run(&cfg->hooks, VS_HOOK_PRESTART, s, err) < 0 ||
	    vs_hooks_run(&cfg->hooks, VS_HOOK_CREATE_RUNTIME, s, err) < 0)
		goto out;
	/* Two documents: for createContainer, then for startContainer. */
	if (vs_sync_send(sock, VS_SYNC_HOOKS_DONE, NULL) < 0 ||
	    vs_sync_send_blob(sock, s, strlen(s)) < 0 ||
	    vs_sync_send_blob(sock, s, strlen(s)) < 0) {
		if (errno == EMSGSIZE)
			vs_fail(err, EMSGSIZE,
				"container state (%zu bytes) too large to hand to hooks",
				strlen(s));
		else
			vs_fail_errno(err, "sync with container init");
		take_child_error(sock, err);
		goto out;
	}
	rc = 0;
out:
	json_object_put(created);
	return rc;
}

static void cgroup_freep(vs_cgroup **cg)
{
	vs_cgroup_free(*cg);
}
#define vs_autocgroup __attribute__((cleanup(cgroup_freep)))

static void resources_clearp(vs_resources *r)
{
	vs_resources_clear(r);
}
#define vs_autoresources __attribute__((cleanup(resources_clearp)))

/* The device rules every container gets: the spec's, plus linux.devices
 * and the standard devices (see vs_resources_container_devices). */
static int container_devices(const vs_config *cfg, vs_resources *res, vs_err *err)
{
	vs_res_device_node *nodes = calloc(cfg->n_devices ? cfg->n_devices : 1, sizeof(*nodes));
	if (!nodes)
		return vs_fail(err, ENOMEM, "device rules");
	for (size_t i = 0; i < cfg->n_devices; i++)
		nodes[i] = (vs_res_device_node){ cfg->devices[i].type, cfg->devices[i].major,
						 cfg->devices[i].minor };
	int rc = vs_resources_container_devices(res, nodes, cfg->n_devices, err);
	free(nodes);
	return rc;
}

/* The container's cgroup as create recorded it (checked at open, see
 * trust.c); none for records that are not believed. */
static vs_cgroup *load_cgroup(vs_container *c, vs_err *err)
{
	char file[PATH_MAX];
	if (c->state.untrusted[0]) {
		vs_fail(err, 0, "container \"%s\": %s", c->state.id, c->state.untrusted);
		return NULL;
	}
	if (state_file(c, CGROUP_FILE, file, sizeof(file), err) < 0)
		return NULL;
	if (access(file, F_OK) < 0) {
		vs_fail(err, 0, "container \"%s\" has no cgroup", c->state.id);
		return NULL;
	}
	return vs_cgroup_load(file, err);
}

vs_cgroup *vs_container_cgroup(vs_container *c, vs_err *err)
{
	return load_cgroup(c, err);
}

static void reap_child(pid_t *pid)
{
	if (*pid > 0)
		waitpid(*pid, NULL, 0);
}

/* opts->instead->root_tree: the init's root tree to the backend built on
 * us, its reply fd back. Only asked for by that kind of instead. */
static int root_tree_handoff(vs_container *c, const vs_create_opts *opts, int sock, vs_err *err)
{
	const vs_exec_instead *in = opts->instead;
	if (!in || !in->root_tree)
		return vs_fail(err, 0, "container init sent a root tree nobody asked for");
	int tree, reply = -1;
	if (vs_sync_recv_fd(sock, &tree, err) < 0)
		return -1;
	int rc = in->root_tree(in->arg, c, tree, &reply, err);
	close(tree);
	if (rc == 0 && (vs_sync_send(sock, VS_SYNC_ROOT_TREE_DONE, NULL) < 0 ||
			vs_sync_send_fd(sock, reply) < 0))
		rc = vs_fail_errno(err, "send the root tree's reply to the container init");
	if (reply >= 0)
		close(reply);
	return rc;
}

static int container_create(vs_container *c, const vs_config *cfg, const vs_create_opts *opts,
			    vs_err *err)
{
	if (validate(cfg, opts, err) < 0)
		return -1;
	/* The init is a clone of us: it must run the sealed copy (CVE-2019-5736). */
	if (!vs_self_is_sealed())
		return vs_fail(err, 0,
			       "vessel is not running from a sealed copy of itself, which the "
			       "container init needs (CVE-2019-5736); the vessel CLI re-executes "
			       "from one");

	char cg_path[PATH_MAX], record[PATH_MAX], fifo[PATH_MAX], cg_file[PATH_MAX],
		exec_error[PATH_MAX];
	vs_cgroup_host host;
	vs_autocgroup vs_cgroup *cg = NULL;
	vs_autoresources vs_resources res = { 0 };
	/* Parse linux.resources before touching the host. */
	if (vs_resources_parse(cfg->resources, "config.json: linux.resources", &res, err) < 0 ||
	    container_devices(cfg, &res, err) < 0)
		return -1;
	int rp = c->rt->systemd_cgroup ? vs_cgroup_resolve_systemd(cfg->cgroups_path, c->state.id,
								   cg_path, sizeof(cg_path), err)
				       : vs_cgroup_resolve_path(cfg->cgroups_path, c->state.id,
								cg_path, sizeof(cg_path), err);
	if (rp < 0 || vs_cgroup_detect(&host, NULL, err) < 0)
		return -1;
	/* Start the first-migration grace period now, so it elapses while we
	 * prepare; reaped on every return. Not with a time namespace: the task
	 * shares our memory, and setns(CLONE_NEWTIME) (to enter one, or to come
	 * back from it) refuses a process whose memory another task shares. */
	__attribute__((cleanup(reap_child))) pid_t warm =
		cfg->ns[VS_NS_TIME].present ? -1 : vs_cgroup_warm_start(&host);
	(void)warm;
	if (state_file(c, CGROUP_RECORD, record, sizeof(record), err) < 0 ||
	    state_file(c, CGROUP_FILE, cg_file, sizeof(cg_file), err) < 0 ||
	    state_file(c, EXEC_FIFO, fifo, sizeof(fifo), err) < 0 ||
	    state_file(c, EXEC_ERROR, exec_error, sizeof(exec_error), err) < 0)
		return -1;
	c->state.cgroup_path = strdup(cg_path);
	if (!c->state.cgroup_path)
		return vs_fail(err, ENOMEM, "create");
	if (!(cg = vs_cgroup_open(&host, cg_path, err)) || vs_cgroup_save(cg, cg_file, err) < 0)
		return -1;

	if (mkfifo(fifo, 0600) < 0)
		return vs_fail_errno(err, "mkfifo %s", fifo);
	/* O_RDWR: the init's read blocks until start writes, and never at open. */
	vs_autoclose int fifo_fd = open(fifo, O_RDWR | O_CLOEXEC);
	if (fifo_fd < 0)
		return vs_fail_errno(err, "open %s", fifo);
	/* A regular file for the init's exec errors: it never holds a host directory. */
	vs_autoclose int exec_error_fd =
		open(exec_error, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (exec_error_fd < 0)
		return vs_fail_errno(err, "open %s", exec_error);

	vs_init_ctx ctx = { .cfg = cfg,
			    .opts = opts,
			    .fifo_fd = fifo_fd,
			    .cgroup_path = cg_path,
			    .cgroup = cg,
			    .exec_error_fd = exec_error_fd,
			    .instead_fd = opts->instead ? opts->instead->fd : -1,
			    .pass_fd = opts->instead ? opts->instead->pass_fd : -1 };
	const vs_hooks *hooks = &cfg->hooks;
	/* A realtime policy also stops there: the limits applied at that
	 * point give the cgroup its RT budget before sched_setattr. */
	ctx.want_hooks = hooks->n[VS_HOOK_PRESTART] || hooks->n[VS_HOOK_CREATE_RUNTIME] ||
			 hooks->n[VS_HOOK_CREATE_CONTAINER] || hooks->n[VS_HOOK_START_CONTAINER] ||
			 vs_process_attrs_need_limits_first(&cfg->process_attrs);
	int rc = -1;
	int saved_ns[VS_NS_COUNT];
	for (int t = 0; t < VS_NS_COUNT; t++)
		saved_ns[t] = -1;
	if (open_namespaces(cfg, ctx.ns_fds, err) < 0 || vs_bind_sources_check(cfg, err) < 0 ||
	    vs_bind_sources_prepare(cfg, ctx.ns_fds[VS_NS_USER], &ctx.bind_fds, err) < 0)
		goto out;
	if (enter_parent_namespaces(cfg, ctx.ns_fds, saved_ns, err) < 0)
		goto out;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		vs_fail_errno(err, "socketpair");
		goto out;
	}
	if (ctx.want_hooks) {
		/* The state documents for hooks travel as single datagrams: make
		 * room for large annotations (the default buffer is ~208 KiB). */
		int size = 1 << 20;
		for (int i = 0; i < 2; i++)
			if (setsockopt(sv[i], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
				setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	int at_clone;
	clone_flags(cfg, &at_clone, &ctx.deferred_unshare);
	/* fork-like clone: the child continues on a copy of our stack. */
	pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)(at_clone | SIGCHLD), NULL, NULL, NULL,
				   NULL);
	if (pid < 0) {
		vs_fail_errno(err, "clone (flags 0x%x)", at_clone);
		close(sv[0]);
		close(sv[1]);
		goto out;
	}
	if (pid == 0) {
		/* The lock's open file description is shared with us: keeping it
		 * would hold the container lock until exec. */
		close(c->lock_fd);
		close(sv[0]);
		ctx.sync_fd = sv[1];
		vs_container_init(&ctx);
	}
	close(sv[1]);
	c->state.pid = pid;
	/* Our unreaped child: the pid cannot be reused under us. */
	vs_proc_stat(pid, &c->state.start_time, NULL);
	restore_parent_namespaces(saved_ns);

	/* From here, not from the init: it may have no /proc of its own. */
	if ((cfg->process.has_oom_score_adj &&
	     vs_proc_write_oom_score_adj(pid, cfg->process.oom_score_adj, err) < 0) ||
	    (cfg->ns[VS_NS_USER].present && !cfg->ns[VS_NS_USER].path &&
	     (write_id_map(pid, "uid_map", cfg->uid_mappings, cfg->n_uid_mappings, err) < 0 ||
	      write_id_map(pid, "gid_map", cfg->gid_mappings, cfg->n_gid_mappings, err) < 0))) {
		take_child_error(sv[0], err);
		goto out_sock;
	}
	/* GO first: the init builds its rootfs while we migrate it into its
	 * cgroups; it waits for VS_SYNC_CGROUP before anything cgroup-bound.
	 * A failed send means the init already quit: its error is waiting below. */
	if (vs_sync_send(sv[0], VS_SYNC_GO, NULL) == 0) {
		/* Record the pid: if this process dies now, delete --force can
		 * still find and kill the half-made container. */
		if (vs_state_save(c->dir, &c->state, err) < 0 ||
		    vs_cgroup_create(cg, record, err) < 0 ||
		    vs_sync_send(sv[0], VS_SYNC_CGROUP_DIRS, NULL) < 0 ||
		    vs_cgroup_enter(cg, pid, err) < 0) {
			take_child_error(sv[0], err);
			goto out_sock;
		}
		vs_sync_send(sv[0], VS_SYNC_CGROUP, NULL);
	}
	vs_sync_msg m;
	if (vs_sync_recv(sv[0], &m, err) < 0)
		goto out_sock;
	/* HOOKS or READY: the init has its own network namespace by now. */
	if (m.type != VS_SYNC_ERROR && vs_netdev_attach(c->dir, &cfg->net_devices, pid, err) < 0)
		goto out_sock;
	/* Limits go on once the init has built its rootfs and before it can
	 * exec, ahead of prestart hooks, which may add to them (device rules),
	 * as runc does. */
	bool limited = false;
	if (m.type == VS_SYNC_HOOKS) {
		if (vs_cgroup_apply(cg, &res, true, err) < 0)
			goto out_sock;
		limited = true;
		if (run_runtime_hooks(c, cfg, sv[0], err) < 0 || vs_sync_recv(sv[0], &m, err) < 0)
			goto out_sock;
	}
	if (m.type == VS_SYNC_CONSOLE_FD &&
	    (vs_console_handoff(sv[0], opts->console_socket, &c->console_fd,
				cfg->process.has_console_size, err) < 0 ||
	     vs_sync_recv(sv[0], &m, err) < 0))
		goto out_sock;
	if (m.type == VS_SYNC_SECCOMP_FD &&
	    (vs_seccomp_notify_handoff(c, cfg, sv[0], err) < 0 || vs_sync_recv(sv[0], &m, err) < 0))
		goto out_sock;
	if (m.type == VS_SYNC_ROOT_TREE &&
	    (root_tree_handoff(c, opts, sv[0], err) < 0 || vs_sync_recv(sv[0], &m, err) < 0))
		goto out_sock;
	if (m.type == VS_SYNC_ERROR) {
		copy_child_error(&m, err);
		goto out_sock;
	}
	if (m.type != VS_SYNC_READY) {
		vs_fail(err, 0, "unexpected message %d from container init", m.type);
		goto out_sock;
	}
	if (!limited && vs_cgroup_apply(cg, &res, true, err) < 0)
		goto out_sock;
	rc = 0;
out_sock:
	/* Closing the socket ends the init, and its namespace with the devices. */
	if (rc < 0) {
		vs_err derr = { 0 };
		if (vs_container_detach(c, &derr) < 0)
			vs_warn("%s", derr.msg);
	}
	close(sv[0]);
out:
	restore_parent_namespaces(saved_ns);
	close_namespaces(ctx.ns_fds);
	vs_bind_sources_close(cfg, ctx.bind_fds);
	return rc;
}

/* The init's fifo fd is close-on-exec: once the write end reports POLLERR
 * (no reader left) the program has been exec'd (or the init died). start
 * returns only then, so poststart hooks run after the program started,
 * as the runtime-spec asks. poll with no events sleeps until exactly that.
 * Bounded: a slow startContainer hook does not hang start forever. */
static void wait_for_exec(vs_container *c, int fifo_wr)
{
	struct pollfd p = { .fd = fifo_wr, .events = 0 };
	int r;
	do
		r = poll(&p, 1, 10000);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		vs_warn("container %s: program not started after 10 s", c->state.id);
}

static int container_start(vs_container *c, vs_err *err)
{
	char fifo[PATH_MAX];
	if (state_file(c, EXEC_FIFO, fifo, sizeof(fifo), err) < 0)
		return -1;
	/* Non-blocking write open fails with ENXIO if the init (the only reader) is gone. */
	vs_autoclose int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENXIO)
			return vs_fail(err, 0, "container init (pid %d) is gone",
				       (int)c->state.pid);
		return vs_fail_errno(err, "open %s", fifo);
	}
	if (write(fd, "0", 1) != 1)
		return vs_fail_errno(err, "write %s", fifo);
	/* The fifo's existence means "created"; from now on the status is running. */
	if (unlink(fifo) < 0)
		return vs_fail_errno(err, "unlink %s", fifo);
	wait_for_exec(c, fd);
	/* The init wrote exec.error if a startContainer hook or the exec failed. */
	char errfile[PATH_MAX];
	vs_autofree char *why = NULL;
	if (state_file(c, EXEC_ERROR, errfile, sizeof(errfile), NULL) == 0 &&
	    vs_read_file(errfile, &why, NULL, NULL) == 0 && why[0])
		return vs_fail(err, 0, "the container process did not start: %s", why);
	return 0;
}

static vs_status container_status(vs_container *c)
{
	if (c->state.status == VS_STATUS_CREATING && c->state.pid == 0)
		return VS_STATUS_CREATING;
	if (!vs_proc_alive(c->state.pid, c->state.start_time))
		return VS_STATUS_STOPPED;
	char fifo[PATH_MAX];
	if (state_file(c, EXEC_FIFO, fifo, sizeof(fifo), NULL) == 0 && access(fifo, F_OK) == 0)
		return c->state.status == VS_STATUS_CREATING ? VS_STATUS_CREATING
							     : VS_STATUS_CREATED;
	/* Paused is the freezer's state, whoever froze it. */
	vs_autocgroup vs_cgroup *cg = load_cgroup(c, NULL);
	bool frozen = false;
	if (cg && vs_cgroup_is_frozen(cg, &frozen, NULL) == 0 && frozen)
		return VS_STATUS_PAUSED;
	return VS_STATUS_RUNNING;
}

static int container_kill(vs_container *c, int sig, bool all, vs_err *err)
{
	bool alive = vs_proc_alive(c->state.pid, c->state.start_time);
	/* A failed create may not have got as far as the cgroup. */
	vs_autocgroup vs_cgroup *cg = load_cgroup(c, NULL);
	/* --all goes through the cgroup: it reaches processes that left the
	 * pid namespace's tree (or were never in it) too. */
	if (all && cg && vs_cgroup_signal_all(cg, sig, err) < 0)
		return -1;
	if (!alive)
		return all ? 0 : vs_fail(err, ESRCH, "container process %d", (int)c->state.pid);
	vs_err serr = { 0 };
	if (vs_proc_signal(c->state.pid, c->state.start_time, sig, &serr) < 0 &&
	    !(all && serr.errnum == ESRCH)) {
		if (err)
			*err = serr;
		return -1;
	}
	/* A frozen v1 task acts on SIGKILL only once thawed (runc thaws too). */
	bool frozen = false;
	if (sig == SIGKILL && !all && cg && vs_cgroup_is_frozen(cg, &frozen, NULL) == 0 && frozen)
		return vs_cgroup_freeze(cg, false, err);
	return 0;
}

static int container_destroy(vs_container *c, vs_err *err)
{
	char record[PATH_MAX];
	if (state_file(c, CGROUP_RECORD, record, sizeof(record), err) < 0)
		return -1;
	/* Processes outside the init's tree (no pid namespace, or moved in)
	 * outlive the init and keep the cgroup busy: kill them too. */
	vs_autocgroup vs_cgroup *cg = load_cgroup(c, NULL);
	if (cg && vs_cgroup_kill_all_wait(cg, 10000, err) < 0)
		return -1;
	if (vs_cgroup_destroy(cg, record, err) < 0)
		return -1;
	if (cg)
		vs_cgroup_remove_default_parent(cg);
	return 0;
}

static int container_pause(vs_container *c, vs_err *err)
{
	vs_autocgroup vs_cgroup *cg = load_cgroup(c, err);
	return cg ? vs_cgroup_freeze(cg, true, err) : -1;
}

static int container_resume(vs_container *c, vs_err *err)
{
	vs_autocgroup vs_cgroup *cg = load_cgroup(c, err);
	return cg ? vs_cgroup_freeze(cg, false, err) : -1;
}

static int container_update(vs_container *c, const vs_resources *r, vs_err *err)
{
	vs_autocgroup vs_cgroup *cg = load_cgroup(c, err);
	/* Device rules stay as created: rewriting them on v1 would deny
	 * every device for a moment under a running workload. */
	if (r->has_devices && r->n_devices)
		vs_warn("update: linux.resources.devices is not changed on a live container");
	return cg ? vs_cgroup_apply(cg, r, false, err) : -1;
}

static int container_stats(vs_container *c, json_object **out, vs_err *err)
{
	vs_autocgroup vs_cgroup *cg = load_cgroup(c, err);
	if (!cg)
		return -1;
	*out = vs_cgroup_stats(cg, err);
	return *out ? 0 : -1;
}

static int container_pids(vs_container *c, pid_t **pids, size_t *n, vs_err *err)
{
	vs_autocgroup vs_cgroup *cg = load_cgroup(c, err);
	return cg ? vs_cgroup_pids(cg, pids, n, err) : -1;
}

/* The cgroup's OOM watcher behind the backend-neutral handle. */
typedef struct cgroup_oom_watch {
	vs_oom_watch base;
	vs_cgroup_oom *cg;
} cgroup_oom_watch;

static int cgroup_oom_read(vs_oom_watch *w, uint64_t *count, vs_err *err)
{
	return vs_cgroup_oom_read(((cgroup_oom_watch *)w)->cg, count, err);
}

static void cgroup_oom_close(vs_oom_watch *w)
{
	vs_cgroup_oom_close(((cgroup_oom_watch *)w)->cg);
	free(w);
}

static int container_oom_watch(vs_container *c, vs_oom_watch **out, vs_err *err)
{
	vs_autocgroup vs_cgroup *cg = load_cgroup(c, err);
	if (!cg)
		return -1;
	cgroup_oom_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return vs_fail(err, ENOMEM, "OOM watch");
	if (vs_cgroup_oom_open(cg, &w->cg, err) < 0) {
		free(w);
		return -1;
	}
	w->base = (vs_oom_watch){ vs_cgroup_oom_fd(w->cg), cgroup_oom_read, cgroup_oom_close };
	*out = &w->base;
	return 0;
}

const vs_backend_ops vs_container_backend = {
	.name = "container",
	.create = container_create,
	.start = container_start,
	.verify = vs_container_verify,
	.status = container_status,
	.kill = container_kill,
	.detach = vs_container_detach,
	.destroy = container_destroy,
	.pause = container_pause,
	.resume = container_resume,
	.update = container_update,
	.stats = container_stats,
	.pids = container_pids,
	.oom_watch = container_oom_watch,
	.exec = vs_container_backend_exec,
};
