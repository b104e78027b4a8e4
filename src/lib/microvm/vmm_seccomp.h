/* The monitor's own confinement (docs/microvm.md, "The monitor's seccomp
 * filter"): once the VM is built (KVM fds, guest memory, kernel loaded,
 * devices attached, the tap and its tc redirect set up), the monitor needs
 * no capability and a few dozen syscalls. The config's process.* settings
 * belong to the guest program, not to it. */
#ifndef VESSEL_MICROVM_VMM_SECCOMP_H
#define VESSEL_MICROVM_VMM_SECCOMP_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/error.h"

typedef struct vs_vmm_confinement {
	/* Jail the monitor before the capabilities go: a network namespace
	 * of its own (abstract unix socket names are per namespace) and a
	 * chroot, so that its connect() reaches only sockets below root
	 * (Firecracker's jailer). */
	bool jail;
	/* The jail (the vsock PATH's directory); NULL: an empty directory
	 * nothing can be added to (made, entered and removed). */
	const char *root;
	/* The one process kill() may signal (a virtiofsd the monitor
	 * started); 0: none. kill of any other pid fails with EPERM. */
	pid_t signal_pid;
} vs_vmm_confinement;

/* Every capability gone: effective, permitted, inheritable, ambient and the
 * bounding set; no_new_privs set. */
int vs_vmm_drop_capabilities(vs_err *err);

/* The allow-list filter, on every thread of the process (TSYNC). Anything
 * else kills the whole process (SCMP_ACT_KILL_PROCESS). kill() reaches
 * signal_pid only (0: nobody), tgkill() this process's threads only. */
int vs_vmm_seccomp_apply_pid(pid_t signal_pid, vs_err *err);
int vs_vmm_seccomp_apply(vs_err *err); /* signal_pid 0 */

/* The jail (if asked), then both of the above, in that order. Must run
 * single-threaded when jailing (chroot is process-wide; see .c). */
int vs_vmm_confine_opts(const vs_vmm_confinement *o, vs_err *err);
/* No jail, kill() for nobody. */
int vs_vmm_confine(vs_err *err);

#endif
