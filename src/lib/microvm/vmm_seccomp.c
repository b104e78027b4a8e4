#include "microvm/vmm_seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <linux/kvm.h>
#include <sys/socket.h>
#include <sys/ioctl.h>

/* What the monitor calls once vs_vm_create has returned: vm/vm.c's run
 * loop (vCPU threads in KVM_RUN, the I/O thread on epoll and eventfds),
 * the virtio devices (block preadv/pwritev/fdatasync, tap read/write,
 * hybrid vsock accept/connect/send/recv on AF_UNIX), signals that kick
 * vCPUs out of KVM_RUN, glibc's thread start and exit, and destroy. */
static const int allowed[] = {
	SCMP_SYS(read),
	SCMP_SYS(write),
	SCMP_SYS(readv),
	SCMP_SYS(writev),
	SCMP_SYS(pread64),
	SCMP_SYS(pwrite64),
	SCMP_SYS(preadv),
	SCMP_SYS(pwritev),
	SCMP_SYS(preadv2),
	SCMP_SYS(pwritev2),
	SCMP_SYS(lseek),
	SCMP_SYS(fsync),
	SCMP_SYS(fdatasync),
	SCMP_SYS(close),
	SCMP_SYS(fcntl),
	SCMP_SYS(fstat),
	SCMP_SYS(newfstatat),

	SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait),
	SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_create1),
	SCMP_SYS(eventfd2),
	SCMP_SYS(poll),
	SCMP_SYS(ppoll),
	SCMP_SYS(futex),
	SCMP_SYS(mmap),
	SCMP_SYS(munmap),
	SCMP_SYS(mprotect),
	SCMP_SYS(madvise),
	SCMP_SYS(mremap),
	SCMP_SYS(brk),
	SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sigaltstack),
	SCMP_SYS(gettid),
	SCMP_SYS(getpid),
	SCMP_SYS(exit),
	SCMP_SYS(exit_group),
	SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday),
	SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity),
	SCMP_SYS(set_robust_list),
	SCMP_SYS(rseq),
	SCMP_SYS(getrandom),
	SCMP_SYS(accept4),
	SCMP_SYS(connect),
	SCMP_SYS(sendmsg),
	SCMP_SYS(recvmsg),
	SCMP_SYS(sendto),
	SCMP_SYS(recvfrom),
	SCMP_SYS(shutdown),
	SCMP_SYS(getsockopt),
	SCMP_SYS(setsockopt),
	SCMP_SYS(restart_syscall),
	/* vsock's connect and close deadlines (one timerfd, made at create). */
	SCMP_SYS(timerfd_settime),
	SCMP_SYS(timerfd_gettime),
	/* A virtiofsd the monitor started (vm run --fs) is reaped when the VM
	 * ends (kill: vs_vmm_seccomp_apply_pid). */
	SCMP_SYS(wait4),
};

/* The ioctls vm/ makes once the VM is built: running vCPUs, interrupts,
 * wiring a virtio device's irqfd and ioeventfd when the guest's driver
 * activates it, registers for a crash report; and the console's termios.
 * Everything that builds a VM (KVM_CREATE_*, memory slots, CPUID, TUNSET*)
 * is done by then. */
static const unsigned long allowed_ioctls[] = {
	KVM_RUN, KVM_IRQ_LINE, KVM_IRQFD, KVM_IOEVENTFD, KVM_GET_REGS, KVM_GET_SREGS,
	TCGETS,	 TCSETS,       TCSETSW,	  TCSETSF,	 TIOCGWINSZ,
};

int vs_vmm_drop_capabilities(vs_err *err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return vs_fail_errno(err, "monitor: prctl(PR_SET_NO_NEW_PRIVS)");
	/* The bounding set first: dropping from it needs CAP_SETPCAP, which
	 * goes with the rest below. EINVAL: a cap this kernel does not know;
	 * EPERM: no CAP_SETPCAP (an unprivileged `vm run`), where with nothing
	 * permitted and no_new_privs the bounding set grants nothing anyway. */
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL && errno != EPERM)
			return vs_fail_errno(
				err, "monitor: drop capability %d from the bounding set", c);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return vs_fail_errno(err, "monitor: clear ambient capabilities");
	cap_t none = cap_init();
	if (!none)
		return vs_fail_errno(err, "monitor: cap_init");
	int rc = cap_set_proc(none);
	cap_free(none);
	return rc < 0 ? vs_fail_errno(err, "monitor: drop capabilities") : 0;
}

int vs_vmm_seccomp_apply_pid(pid_t signal_pid, vs_err *err)
{
	/* KILL_PROCESS, not ERRNO: a monitor making a call it never makes is
	 * compromised or broken, and an error return would let it probe; not
	 * KILL_THREAD, which would leave the other vCPUs running. */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return vs_fail(err, ENOMEM, "monitor seccomp filter");
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (size_t i = 0; rc == 0 && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* Threads only (pthread_create): no fork. clone3's flags are in memory
	 * where a filter cannot look, so it gets ENOSYS and glibc falls back
	 * to clone. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* Signals to the monitor's own threads (vCPU kicks, raise): tgkill
	 * with its own tgid, which the kernel checks the tid against. tkill
	 * names any thread on the host: not allowed. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	/* kill: its virtiofsd only, compared as the full 64-bit register so
	 * no high bits smuggle another pid past. An error, not a kill:
	 * vs_virtiofsd_stop falls back to kill when virtiofsd is slow, and
	 * then leaves it to its death signal. */
	if (rc == 0 && signal_pid > 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
				      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)signal_pid));
	if (rc == 0)
		rc = signal_pid > 0
			     ? seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(kill), 1,
						SCMP_A0(SCMP_CMP_NE, (scmp_datum_t)signal_pid))
			     : seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(kill), 0);
	/* The kernel takes ioctl's request as 32 bits: compare those only. */
	for (size_t i = 0; rc == 0 && i < sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, allowed_ioctls[i]));
	/* Thread names (pthread_setname_np on itself), nothing else of prctl. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				      SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
	/* Sockets to the host's vsock listeners only. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	/* The microvm monitor's own connections to its guest's agent, handed
	 * to its vsock device (vs_vm_config.vsock_inject_fd): AF_UNIX pairs. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 1,
				      SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	/* destroy removes the vsock socket it made; confined, it leaves it to
	 * whoever made the directory (an error return, not a kill). */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unlink), 0);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unlinkat), 0);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc < 0 ? vs_fail(err, -rc, "monitor seccomp filter") : 0;
}

int vs_vmm_seccomp_apply(vs_err *err)
{
	return vs_vmm_seccomp_apply_pid(0, err);
}

/* The jail's network namespace: as root, a plain one; unprivileged (no
 * CAP_SYS_ADMIN), a user namespace with it, whose capabilities the chroot
 * then uses (and which go with the rest). */
static int own_netns(vs_err *err)
{
	if (unshare(CLONE_NEWNET) == 0)
		return 0;
	if (errno == EPERM && geteuid() != 0 && unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0)
		return 0;
	return vs_fail_errno(err, "monitor jail: unshare(CLONE_NEWNET)");
}

/* chroot into an empty directory nothing can be created in: made, entered
 * through an fd and removed, so nothing is left behind either. */
static int chroot_empty(vs_err *err)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s/vessel-jail-XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
	    (int)sizeof(dir))
		return vs_fail(err, ENAMETOOLONG, "monitor jail: directory");
	if (!mkdtemp(dir))
		return vs_fail_errno(err, "monitor jail: mkdtemp %s", dir);
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int e = errno;
	rmdir(dir);
	if (fd < 0)
		return vs_fail(err, e, "monitor jail: open %s", dir);
	int rc = fchdir(fd) < 0 || chroot(".") < 0 ? -1 : 0;
	e = errno;
	close(fd);
	return rc < 0 ? vs_fail(err, e, "monitor jail: chroot into an empty directory") : 0;
}

static int jail(const char *root, vs_err *err)
{
	if (own_netns(err) < 0)
		return -1;
	if (!root)
		return chroot_empty(err);
	char real[PATH_MAX];
	if (!realpath(root, real))
		return vs_fail_errno(err, "monitor jail: %s", root);
	/* "/" would jail nothing. */
	if (!strcmp(real, "/"))
		return vs_fail(err, EINVAL, "monitor jail: %s is the root directory", root);
	if (chroot(real) < 0)
		return vs_fail_errno(err, "monitor jail: chroot %s", real);
	if (chdir("/") < 0)
		return vs_fail_errno(err, "monitor jail: chdir /");
	return 0;
}

int vs_vmm_confine_opts(const vs_vmm_confinement *o, vs_err *err)
{
	if (o->jail && jail(o->root, err) < 0)
		return -1;
	if (vs_vmm_drop_capabilities(err) < 0)
		return -1;
	return vs_vmm_seccomp_apply_pid(o->signal_pid, err);
}

int vs_vmm_confine(vs_err *err)
{
	vs_vmm_confinement o = { 0 };
	return vs_vmm_confine_opts(&o, err);
}
