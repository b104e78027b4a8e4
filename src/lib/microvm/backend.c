/* The microvm backend's host side (docs/microvm.md "Lifecycle"): the
 * container backend makes the container, the agent (in the VM, or the
 * test stand-in) runs the workload; every op below is the same for both. */
#include "microvm/backend.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/fs.h"
#include "core/log.h"
#include "lifecycle/container.h"
#include "lifecycle/terminal_check.h"
#include "microvm/hwvirt.h"
#include "microvm/initramfs.h"
#include "microvm/kernel.h"
#include "microvm/monitor.h"
#include "microvm/netinfo.h"
#include "microvm/sizing.h"
#include "microvm/standin.h"
#include "vm/vm.h"

#define INIT_ID	  "init"
#define EXEC_FIFO "exec.fifo" /* the container backend's: present while created */

static int state_path(const vs_container *c, const char *name, char *out, size_t len, vs_err *err)
{
	return vs_path_join(out, len, c->dir, name, err);
}

/* The stand-in's agent listens on a plain socket; a VM's is behind vsock. */
static bool plain_agent_socket(const vs_container *c)
{
	char path[PATH_MAX];
	return state_path(c, VS_MICROVM_AGENT_SOCK, path, sizeof(path), NULL) == 0 &&
	       access(path, F_OK) == 0;
}

/* Where a create finds its guest: the production paths, or a test tree's
 * (standin.h, VS_TEST_HOOKS only). */
typedef struct guest_paths {
	char kernels[PATH_MAX], initramfs[PATH_MAX], agent[PATH_MAX];
	char extra_cmdline[512]; /* test trees: the test guest's words */
} guest_paths;

/* A test guest has no agent, unless its tree says so (DIR/with-agent:
 * then create waits for one as for a real guest). */
static bool test_guest(void)
{
#ifdef VS_TEST_HOOKS
	const char *dir = vs_microvm_test_guest();
	char file[PATH_MAX];
	return dir && (vs_path_join(file, sizeof(file), dir, "with-agent", NULL) < 0 ||
		       access(file, F_OK) < 0);
#else
	return false;
#endif
}

static int guest_paths_get(guest_paths *g, vs_err *err)
{
	snprintf(g->kernels, sizeof(g->kernels), "%s", VS_KERNEL_CACHE);
	snprintf(g->initramfs, sizeof(g->initramfs), "%s", VS_INITRAMFS_CACHE);
	snprintf(g->agent, sizeof(g->agent), "%s", VS_AGENT_PATH);
#ifdef VS_TEST_HOOKS
	const char *dir = vs_microvm_test_guest();
	if (dir) {
		char file[PATH_MAX];
		if (vs_path_join(g->kernels, sizeof(g->kernels), dir, "kernels", err) < 0 ||
		    vs_path_join(g->initramfs, sizeof(g->initramfs), dir, "initramfs", err) < 0 ||
		    vs_path_join(g->agent, sizeof(g->agent), dir, "vessel-agent", err) < 0 ||
		    vs_path_join(file, sizeof(file), dir, "cmdline", err) < 0)
			return -1;
		vs_autofree char *words = NULL;
		if (access(file, F_OK) == 0 && vs_read_file(file, &words, NULL, err) < 0)
			return -1;
		snprintf(g->extra_cmdline, sizeof(g->extra_cmdline), "%s", words ? words : "");
		for (char *p = g->extra_cmdline; *p; p++)
			if (*p == '\n')
				*p = ' ';
	}
#else
	(void)err;
#endif
	return 0;
}

/* One VM owns a network namespace's interface, and the host's is never
 * given to a guest (it would take the host's eth0). */
static int check_netns(const vs_config *cfg, vs_err *err)
{
	const vs_namespace *n = &cfg->ns[VS_NS_NET];
	if (!n->present)
		return vs_fail(err, 0,
			       "microvm: the workload shares the host's network namespace "
			       "(no network namespace in linux.namespaces): refused, a VM would "
			       "take over the host's interface");
	if (!n->path)
		return 0;
	struct stat a, b;
	if (stat(n->path, &a) < 0)
		return vs_fail_errno(err, "linux.namespaces: network %s", n->path);
	if (stat("/proc/self/ns/net", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return vs_fail(err, 0,
			       "microvm: linux.namespaces: network %s is the host's network "
			       "namespace: refused, a VM would take over the host's interface",
			       n->path);
	return 0;
}

/* The real VM path: the host pieces in their order (docs/microvm.md "The
 * host pieces a microvm create uses"), so a host that lacks one fails
 * naming it, then the container with the monitor as its init. */
static int vm_create(vs_container *c, const vs_config *cfg, const vs_create_opts *opts, vs_err *err)
{
	vs_resources res = { 0 };
	vs_microvm_size size;
	vs_guest_kernel k;
	guest_paths g = { 0 };
	char initrd[PATH_MAX];
	if (check_netns(cfg, err) < 0 ||
	    vs_resources_parse(cfg->resources, "config.json: linux.resources", &res, err) < 0)
		return -1;
	int rc = vs_microvm_sizing(&res, cfg->annotations, &size, err);
	vs_resources_clear(&res);
	if (rc < 0 || guest_paths_get(&g, err) < 0 ||
	    vs_kernel_lookup(cfg->annotations, VS_CONFIG_FILE, g.kernels, &k, err) < 0 ||
	    vs_initramfs_get(g.agent, &k, g.initramfs, initrd, sizeof(initrd), err) < 0)
		return -1;
	char cmdline[1024], cmdline_blk[1024];
	int n = snprintf(cmdline, sizeof(cmdline), "%s vessel.root=virtiofs:%s%s%s",
			 VS_VM_DEFAULT_CMDLINE, VS_MICROVM_ROOT_TAG, g.extra_cmdline[0] ? " " : "",
			 g.extra_cmdline);
	int nb = snprintf(cmdline_blk, sizeof(cmdline_blk), "%s vessel.root=blk:/dev/vda%s%s",
			  VS_VM_DEFAULT_CMDLINE, g.extra_cmdline[0] ? " " : "", g.extra_cmdline);
	if (n < 0 || (size_t)n >= sizeof(cmdline) || nb < 0 || (size_t)nb >= sizeof(cmdline_blk))
		return vs_fail(err, E2BIG, "microvm: kernel command line too long");
	vs_debug("container %s: guest %s with %s, %llu MiB, %u vCPUs, \"%s\"", c->state.id, k.image,
		 initrd, (unsigned long long)size.memory_mib, size.cpus, cmdline);
	vs_microvm_boot b = { .kernel = k.image,
			      .initrd = initrd,
			      .memory_mib = size.memory_mib,
			      .cpus = size.cpus,
			      .cmdline = cmdline,
			      .cmdline_blk = cmdline_blk,
			      .no_agent = test_guest() };
	return vs_microvm_monitor_create(c, cfg, opts, &b, err);
}

/* A VM's agent listens once the guest kernel has booted: until then a
 * CONNECT is refused. Dial until it answers hello, the monitor is gone, or
 * VS_MICROVM_BOOT_MS pass. */
#define VS_MICROVM_BOOT_MS 30000
static int wait_for_agent(vs_container *c, vs_err *err)
{
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		vs_agent_client ac;
		vs_err e = { 0 };
		if (vs_microvm_agent_open(c, &ac, &e) == 0) {
			vs_agent_client_close(&ac);
			return 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (vs_container_backend.status(c) == VS_STATUS_STOPPED)
			return vs_fail(err, 0,
				       "microvm: the VM ended before its agent answered "
				       "(the guest's console is in %s/console.log)",
				       c->dir);
		if (ms > VS_MICROVM_BOOT_MS) {
			*err = e;
			return vs_err_wrap(err,
					   "microvm: the guest's agent did not answer within %d s",
					   VS_MICROVM_BOOT_MS / 1000);
		}
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* The container's eth0 (which the guest's NIC took over) as the agent's
 * network request: its addresses and routes, read in the container's
 * network namespace. None: nothing to send. */
static int send_network(vs_container *c, vs_err *err)
{
	json_object *f;
	if (vs_microvm_netinfo(c->state.pid, VS_MICROVM_VETH, &f, err) < 0)
		return -1;
	if (!f)
		return 0;
	vs_agent_client ac;
	if (vs_microvm_agent_open(c, &ac, err) < 0) {
		json_object_put(f);
		return -1;
	}
	int rc = vs_agent_call(&ac, "network", f, ac.timeout_ms, NULL, err);
	vs_agent_client_close(&ac);
	return rc;
}

/* Why the agent went away before answering: the init's exec error. */
static void agent_gone(vs_container *c, vs_err *err)
{
	char file[PATH_MAX];
	vs_autofree char *why = NULL;
	if (state_path(c, "exec.error", file, sizeof(file), NULL) == 0 &&
	    vs_read_file(file, &why, NULL, NULL) == 0 && why[0])
		vs_err_wrap(err, "the agent did not start (%s)", why);
}

/* The workload's process, created in the guest behind a relay that carries
 * its stdio (the caller's, or a host pty) for as long as it runs. */
static int agent_create_init(vs_container *c, const vs_config *cfg, const vs_create_opts *opts,
			     vs_err *err)
{
	json_object *proc = NULL;
	json_object_object_get_ex(cfg->doc, "process", &proc);
	const vs_process *p = &cfg->process;
	vs_microvm_relay spec = {
		.type = "create",
		.id = INIT_ID,
		.process = proc,
		/* The stand-in's container has set it already, in its own UTS namespace. */
		.hostname = plain_agent_socket(c) ? NULL : cfg->hostname,
		.terminal = p->terminal,
		.rows = p->has_console_size ? p->console_height : 0,
		.cols = p->has_console_size ? p->console_width : 0,
		.console_socket = opts->console_socket,
		.console_fd = opts->console_proxy ? &c->console_fd : NULL,
	};
	pid_t relay;
	if (vs_microvm_relay_spawn(c, &spec, &relay, err) < 0) {
		agent_gone(c, err);
		return -1;
	}
	vs_debug("container %s: stdio relay pid %d", c->state.id, (int)relay);
	/* The init (agent or monitor) ignores what a foreground run passes
	 * on, as a pid namespace's init does; the relay sends it to the guest. */
	c->signal_pid = relay;
	return 0;
}

/* As the container backend (and runc), the terminal rules. And
 * startContainer hooks, which would run in the init just before the
 * program, have no place yet: refused, not skipped. */
static int check_config(const vs_config *cfg, const vs_create_opts *opts, vs_err *err)
{
	if (cfg->hooks.n[VS_HOOK_START_CONTAINER])
		return vs_fail(err, 0,
			       "config.json: hooks.startContainer: not supported by the microvm "
			       "backend yet");
	return vs_create_check_terminal(cfg, opts, err);
}

static int microvm_create(vs_container *c, const vs_config *cfg, const vs_create_opts *opts,
			  vs_err *err)
{
	int rc;
#ifdef VS_TEST_HOOKS
	const char *agent = vs_microvm_standin_agent();
	if (agent)
		rc = check_config(cfg, opts, err) < 0
			     ? -1
			     : vs_microvm_standin_create(c, cfg, opts, agent, err);
	else
#endif
		rc = vs_hwvirt_check(cfg->annotations, err) < 0 || check_config(cfg, opts, err) < 0
			     ? -1
			     : vm_create(c, cfg, opts, err);
	if (rc < 0)
		return -1;
	if (test_guest())
		return 0; /* no agent in a test guest: the monitor's exit code is the guest's */
	if (!plain_agent_socket(c) && (wait_for_agent(c, err) < 0 || send_network(c, err) < 0))
		return -1;
	return agent_create_init(c, cfg, opts, err);
}

static int microvm_start(vs_container *c, vs_err *err)
{
	char fifo[PATH_MAX];
	if (state_path(c, EXEC_FIFO, fifo, sizeof(fifo), err) < 0)
		return -1;
	if (test_guest()) {
		if (unlink(fifo) < 0)
			return vs_fail_errno(err, "unlink %s", fifo);
		return 0;
	}
	vs_agent_client ac;
	if (vs_microvm_agent_open(c, &ac, err) < 0)
		return -1;
	int rc = vs_agent_start(&ac, INIT_ID, err);
	vs_agent_client_close(&ac);
	/* The fifo's existence means "created" (the container backend's status). */
	if (rc == 0 && unlink(fifo) < 0)
		return vs_fail_errno(err, "unlink %s", fifo);
	return rc;
}

static vs_status microvm_status(vs_container *c)
{
	return vs_container_backend.status(c);
}

/* SIGKILL ends the VM (the init); anything else is the guest program's. */
static int microvm_kill(vs_container *c, int sig, bool all, vs_err *err)
{
	if (sig == SIGKILL || vs_container_backend.status(c) == VS_STATUS_STOPPED)
		return vs_container_backend.kill(c, sig, all, err);
	vs_agent_client ac;
	if (vs_microvm_agent_open(c, &ac, err) < 0)
		return -1;
	int rc = vs_agent_signal(&ac, INIT_ID, sig, all, err);
	vs_agent_client_close(&ac);
	return rc;
}

/* The cgroup's view, with the agent's (as "guest") where it answers. */
static int microvm_stats(vs_container *c, json_object **out, vs_err *err)
{
	if (vs_container_backend.stats(c, out, err) < 0)
		return -1;
	vs_agent_client ac;
	vs_err aerr = { 0 };
	json_object *g = NULL;
	if (vs_microvm_agent_open(c, &ac, &aerr) == 0) {
		if (vs_agent_stats(&ac, &g, &aerr) == 0) {
			json_object_object_del(g, "type");
			json_object_object_del(g, "id");
			json_object_object_add(*out, "guest", g);
		}
		vs_agent_client_close(&ac);
	}
	if (aerr.msg[0])
		vs_debug("container %s: %s", c->state.id, aerr.msg);
	return 0;
}

/* The container the VM lives in is the container backend's: its records,
 * network devices, cgroup (the monitor's, which bounds the whole VM). */
static int microvm_verify(vs_container *c, vs_err *err)
{
	return vs_container_backend.verify(c, err);
}

static int microvm_detach(vs_container *c, vs_err *err)
{
	return vs_container_backend.detach(c, err);
}

static int microvm_destroy(vs_container *c, vs_err *err)
{
	return vs_container_backend.destroy(c, err);
}

static int microvm_pause(vs_container *c, vs_err *err)
{
	return vs_container_backend.pause(c, err);
}

static int microvm_resume(vs_container *c, vs_err *err)
{
	return vs_container_backend.resume(c, err);
}

static int microvm_update(vs_container *c, const vs_resources *r, vs_err *err)
{
	return vs_container_backend.update(c, r, err);
}

/* Host pids (what ps(1) and kill need): the monitor's cgroup. */
static int microvm_pids(vs_container *c, pid_t **pids, size_t *n, vs_err *err)
{
	return vs_container_backend.pids(c, pids, n, err);
}

static int microvm_oom_watch(vs_container *c, vs_oom_watch **w, vs_err *err)
{
	return vs_container_backend.oom_watch(c, w, err);
}

const vs_backend_ops vs_microvm_backend = {
	.name = "microvm",
	.create = microvm_create,
	.start = microvm_start,
	.verify = microvm_verify,
	.status = microvm_status,
	.kill = microvm_kill,
	.detach = microvm_detach,
	.destroy = microvm_destroy,
	.pause = microvm_pause,
	.resume = microvm_resume,
	.update = microvm_update,
	.stats = microvm_stats,
	.pids = microvm_pids,
	.exec = vs_microvm_exec,
	.oom_watch = microvm_oom_watch,
};
