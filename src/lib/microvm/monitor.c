/* The monitor inside the container (monitor.h). */
#include "microvm/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "core/cleanup.h"
#include "core/fs.h"
#include "core/unixsock.h"
#include "core/log.h"
#include "lifecycle/container.h"
#include "microvm/backend.h"
#include "microvm/identity.h"
#include "microvm/rootimg.h"
#include "microvm/standin.h"
#include "microvm/vmm_seccomp.h"
#include "net/tcredirect.h"
#include "vm/vhost_user/virtiofsd.h"
#include "vm/vm.h"

enum { FD_KVM, FD_KERNEL, FD_INITRD, FD_CONSOLE, FD_VSOCK, FD_TUN, FD_COUNT };

/* Lives in the create's memory; the init works on its own copy (clone is
 * fork-like), so prepare and run can keep state here. */
typedef struct monitor {
	vs_vm_config vmc;
	int fds[FD_COUNT];
	int fs_conn;	    /* the init's: the vhost-user connection to virtiofsd */
	uint64_t image_max; /* the erofs fallback's size limit */
	vs_tc_redirect tc;
	bool no_agent;
	const char *cmdline_blk;
	int inject[2];		/* [0] the waiter's, [1] the vsock device's */
	atomic_int code;	/* the program's exit code, -1 until the agent said */
	char net[64];		/* vs_vm_config.net: "fd=N,mac=MAC" */
	struct stat host_netns; /* the runtime's network namespace */
	vs_vm *vm;
} monitor;

/* In the init, in the container's network namespace, before confining:
 * a namespace with an eth0 gives it to the guest (a tap redirected to and
 * from it with tc, the guest's NIC with eth0's MAC); one with only lo gets
 * no net device. One VM owns the interface: the tap's name is the marker. */
static int monitor_net(monitor *m, vs_err *err)
{
	/* The host side refused the host's namespace already (check_netns in
	 * backend.c); this is the second lock on that door: a tc redirect on
	 * the host's eth0 would take the host's traffic. */
	struct stat st;
	if (stat("/proc/self/ns/net", &st) < 0)
		return vs_fail_errno(err, "microvm: stat /proc/self/ns/net");
	if (st.st_dev == m->host_netns.st_dev && st.st_ino == m->host_netns.st_ino)
		return vs_fail(err, EPERM,
			       "microvm: the monitor is in the host's network namespace");
	if (!if_nametoindex(VS_MICROVM_VETH))
		return 0;
	if (if_nametoindex(VS_MICROVM_TAP))
		return vs_fail(err, EBUSY,
			       "microvm: this network namespace's %s already belongs to another "
			       "VM (its tap %s exists): one VM per network namespace",
			       VS_MICROVM_VETH, VS_MICROVM_TAP);
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", VS_MICROVM_VETH);
	vs_autoclose int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
		return vs_fail_errno(err, "microvm: the MAC address of %s", VS_MICROVM_VETH);
	const unsigned char *a = (const unsigned char *)ifr.ifr_hwaddr.sa_data;
	/* A tun file belongs to the network namespace it was opened in: the
	 * host's fd is O_PATH, reopened here, in ours. */
	char path[32];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", m->fds[FD_TUN]);
	vs_autoclose int tun = m->fds[FD_TUN] < 0 ? -1 : open(path, O_RDWR | O_CLOEXEC);
	if (tun < 0)
		return vs_fail_errno(err, "microvm: the guest's network: open /dev/net/tun");
	/* No live tap of ours: an ingress qdisc on eth0 is a dead VM's. */
	if (vs_tc_redirect_reclaim(VS_MICROVM_VETH, err) < 0 ||
	    vs_tc_redirect_setup_tun(tun, VS_MICROVM_VETH, VS_MICROVM_TAP, &m->tc, err) < 0)
		return vs_err_wrap(err, "microvm: the guest's network");
	snprintf(m->net, sizeof(m->net), "fd=%d,mac=%02x:%02x:%02x:%02x:%02x:%02x", m->tc.tap_fd,
		 a[0], a[1], a[2], a[3], a[4], a[5]);
	m->vmc.net = m->net;
	return 0;
}

static bool have_virtiofsd(void)
{
#ifdef VS_TEST_HOOKS
	if (vs_microvm_test_no_virtiofsd())
		return false;
#endif
	return access(VS_VIRTIOFSD_PATH, X_OK) == 0;
}

/* Host side, while the init waits with its root built: virtiofsd serves
 * that root (a detached clone of the container's mount tree, so bind
 * mounts and volumes are there and writes reach the same files) from its
 * own mount namespace, mounted on an empty directory in the state dir
 * that the host's mount table never shows. Its lifetime is the
 * connection's: it ends when the monitor's end closes (the monitor
 * exited or was killed), so nothing outlives the workload. */
/* The container's cgroup record in its state dir (container/internal.h's
 * VS_CGROUP_FILE, written by the container backend before the root tree
 * is handed over). */
#define CONTAINER_CGROUP_FILE "cgroup.json"

/* virtiofsd and mkfs.erofs work for the container: they go into its
 * cgroups (its limits, its accounting, killed by delete with it), not
 * vessel's caller's. */
static int enter_container_cgroup(void *arg, pid_t pid, vs_err *err)
{
	const vs_container *c = arg;
	char file[PATH_MAX];
	if (vs_path_join(file, sizeof(file), c->dir, CONTAINER_CGROUP_FILE, err) < 0)
		return -1;
	vs_cgroup *cg = vs_cgroup_load(file, err);
	if (!cg)
		return -1;
	int rc = vs_cgroup_enter(cg, pid, err);
	vs_cgroup_free(cg);
	return rc;
}

static int monitor_root_tree(void *arg, vs_container *c, int tree_fd, int *reply, vs_err *err)
{
	const monitor *m = arg;
	char mnt[PATH_MAX];
	if (vs_path_join(mnt, sizeof(mnt), c->dir, VS_MICROVM_ROOT_SHARE, err) < 0)
		return -1;
	if (mkdir(mnt, 0700) < 0 && errno != EEXIST)
		return vs_fail_errno(err, "mkdir %s", mnt);
	char log[PATH_MAX];
	if (vs_path_join(log, sizeof(log), c->dir, VS_MICROVM_VIRTIOFSD_LOG, err) < 0)
		return -1;
	vs_autoclose int lfd =
		open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
	if (lfd < 0)
		return vs_fail_errno(err, "open %s", log);
	if (!have_virtiofsd()) {
		/* No virtiofsd: an erofs image of the same tree on virtio-blk. */
		char image[PATH_MAX];
		if (vs_path_join(image, sizeof(image), c->dir, VS_MICROVM_ROOT_IMAGE, err) < 0)
			return -1;
		vs_warn("microvm: no virtiofsd at %s (Debian: qemu-system-common): the guest's "
			"root is an erofs image of the container's, and writes stay in the VM",
			VS_VIRTIOFSD_PATH);
		if (vs_microvm_root_image(tree_fd, mnt, image, lfd, m->image_max,
					  enter_container_cgroup, c, reply, err) < 0)
			return vs_err_wrap(err, "microvm");
		return 0;
	}
	pid_t pid;
	if (vs_virtiofsd_start_tree(NULL, tree_fd, mnt, lfd, enter_container_cgroup, c, &pid, reply,
				    err) < 0)
		return vs_err_wrap(err, "microvm: the guest's root");
	vs_debug("container %s: virtiofsd pid %d", c->state.id, (int)pid);
	return 0;
}

/* The hybrid vsock listener, bound here: after pivot_root the init cannot
 * reach the state dir, and the workload never sees it. */
static int vsock_listener(const vs_container *c, vs_err *err)
{
	char path[PATH_MAX];
	if (vs_path_join(path, sizeof(path), c->dir, VS_MICROVM_VSOCK_SOCK, err) < 0)
		return -1;
	return vs_unix_listen(path, 64, "vsock socket", err);
}

static int open_fds(vs_container *c, const vs_microvm_boot *b, int *fds, vs_err *err)
{
	char log[PATH_MAX];
	if ((fds[FD_KVM] = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0)
		return vs_fail_errno(err, "open /dev/kvm");
	if ((fds[FD_KERNEL] = open(b->kernel, O_RDONLY | O_CLOEXEC)) < 0)
		return vs_fail_errno(err, "guest kernel: open %s", b->kernel);
	if ((fds[FD_INITRD] = open(b->initrd, O_RDONLY | O_CLOEXEC)) < 0)
		return vs_fail_errno(err, "initramfs: open %s", b->initrd);
	if (vs_path_join(log, sizeof(log), c->dir, VS_MICROVM_CONSOLE_LOG, err) < 0)
		return -1;
	fds[FD_CONSOLE] = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
	if (fds[FD_CONSOLE] < 0)
		return vs_fail_errno(err, "open %s", log);
	/* Needed only if the namespace has an eth0, which the init finds out. */
	fds[FD_TUN] = open("/dev/net/tun", O_PATH | O_CLOEXEC);
	return (fds[FD_VSOCK] = vsock_listener(c, err)) < 0 ? -1 : 0;
}

/* In the init, after pivot_root, before READY: build the VM from the fds
 * (renumbered by the init), then confine. Either failing fails create. */
static int monitor_prepare(void *arg, vs_err *err)
{
	monitor *m = arg;
	m->vmc.kvm_fd = m->fds[FD_KVM];
	m->vmc.kernel_fd = m->fds[FD_KERNEL];
	m->vmc.initrd_fd = m->fds[FD_INITRD];
	m->vmc.console_out_fd = m->fds[FD_CONSOLE];
	m->vmc.vsock_listen_fd = m->fds[FD_VSOCK];
	if (!m->no_agent) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, m->inject) < 0)
			return vs_fail_errno(err, "microvm monitor: socketpair");
		m->vmc.vsock_inject_fd = m->inject[1];
	}
	/* The host side's answer: virtiofsd's connection, or the erofs image. */
	struct stat st;
	if (fstat(m->fs_conn, &st) < 0)
		return vs_fail_errno(err, "microvm monitor: fstat the root's fd");
	if (S_ISREG(st.st_mode)) {
		m->vmc.disk_fd = m->fs_conn;
		m->vmc.disk_readonly = true;
		m->vmc.cmdline = m->cmdline_blk;
	} else {
		m->vmc.fs_tag = VS_MICROVM_ROOT_TAG;
		m->vmc.fs_conn_fd = m->fs_conn;
	}
	int rc = monitor_net(m, err) < 0 ? -1 : vs_vm_create(&m->vmc, &m->vm, err);
	close(m->fs_conn);
	if (rc < 0)
		return vs_err_wrap(err, "microvm monitor");
	/* The VM holds its own duplicates; the kernel and initrd are loaded. */
	for (int i = 0; i < FD_COUNT; i++)
		if (i != FD_CONSOLE && m->fds[i] >= 0)
			close(m->fds[i]);
	if (vs_vmm_confine(err) < 0)
		return vs_err_wrap(err, "microvm monitor");
	return 0;
}

/* After READY: the guest runs; its end is the init's exit status. */
static int monitor_run(void *arg)
{
	monitor *m = arg;
	vs_vm_result res;
	vs_err err = { 0 };
	atomic_store(&m->code, -1);
	if (!m->no_agent &&
	    vs_microvm_monitor_wait_start(m->inject[0], m->vm, &m->code, &err) < 0) {
		dprintf(STDERR_FILENO, "vessel: %s\n", err.msg);
		return 1;
	}
	if (vs_vm_run(m->vm, &res, &err) < 0) {
		dprintf(STDERR_FILENO, "vessel: microvm monitor: %s\n", err.msg);
		return 1;
	}
	if (res.reason != VS_VM_EXIT_POWEROFF && res.reason != VS_VM_EXIT_GUEST_CODE)
		dprintf(m->fds[FD_CONSOLE], "vessel: guest ended: %s%s%s\n",
			vs_vm_exit_name(res.reason), res.detail[0] ? ": " : "", res.detail);
	int code = atomic_load(&m->code);
	if (res.reason == VS_VM_EXIT_STOPPED && code >= 0)
		return code;		/* the agent's wait reply */
	return vs_vm_exit_status(&res); /* the guest's code, 0 for power-off */
}

int vs_microvm_monitor_create(vs_container *c, const vs_config *cfg, const vs_create_opts *opts,
			      const vs_microvm_boot *b, vs_err *err)
{
	monitor m = { .fds = { -1, -1, -1, -1, -1, -1 }, .fs_conn = -1 };
	vs_vm_config_init(&m.vmc);
	m.vmc.memory_mib = b->memory_mib;
	m.vmc.cpus = b->cpus;
	m.vmc.cmdline = b->cmdline;
	m.vmc.console = VS_VM_CONSOLE_FDS;
	m.no_agent = b->no_agent;
	m.cmdline_blk = b->cmdline_blk;
	if (vs_microvm_root_image_max(cfg->annotations, &m.image_max, err) < 0)
		return -1;
	if (stat("/proc/self/ns/net", &m.host_netns) < 0)
		return vs_fail_errno(err, "stat /proc/self/ns/net");
	m.inject[0] = m.inject[1] = -1;
	int rc = -1;
	if (open_fds(c, b, m.fds, err) == 0) {
		char *env[] = { NULL };
		vs_exec_instead instead = { .fd = -1,
					    .pass_fd = -1,
					    .prepare = monitor_prepare,
					    .run = monitor_run,
					    .arg = &m,
					    .keep = m.fds,
					    .n_keep = FD_COUNT,
					    .root_tree = monitor_root_tree,
					    .root_reply = &m.fs_conn };
		rc = vs_microvm_create_init(c, cfg, opts, &instead, env, err);
	}
	for (int i = 0; i < FD_COUNT; i++)
		if (m.fds[i] >= 0)
			close(m.fds[i]);
	return rc;
}
