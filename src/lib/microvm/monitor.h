/* The real VM path of the microvm backend (docs/microvm.md "The real VM
 * path"): the host side opens what the monitor needs while the host is
 * still in reach (the kernel, the initramfs, /dev/kvm, the console log and
 * the hybrid vsock listener VS_MICROVM_VSOCK_SOCK, bound in the state
 * dir), then has the container backend build the container; its init
 * carries on in-process as the monitor: it builds the VM after pivot_root,
 * confines itself (vmm_seccomp.h) and reports READY; the VM runs from
 * then on, and the init's exit status is the guest's. */
#ifndef VESSEL_MICROVM_MONITOR_H
#define VESSEL_MICROVM_MONITOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lifecycle/backend.h"

/* What a create boots; paths on the host. */
typedef struct vs_microvm_boot {
	const char *kernel, *initrd;
	uint64_t memory_mib;
	unsigned cpus;
	const char *cmdline;	 /* with vessel.root=virtiofs:VS_MICROVM_ROOT_TAG */
	const char *cmdline_blk; /* with vessel.root=blk:/dev/vda (the erofs fallback) */
	bool no_agent;		 /* a test guest (standin.h): its own exit code is the status */
} vs_microvm_boot;

/* The console log in the state dir (the guest kernel's serial output). */
#define VS_MICROVM_CONSOLE_LOG "console.log"
/* The erofs fallback's image of the container's root. */
#define VS_MICROVM_ROOT_IMAGE "rootfs.erofs"
/* virtiofsd's (or mkfs.erofs's) stdout and stderr (not the workload's stdio). */
#define VS_MICROVM_VIRTIOFSD_LOG "virtiofsd.log"
/* Where virtiofsd's namespace mounts the container's root (an empty
 * directory in the state dir: nothing is mounted there on the host). */
#define VS_MICROVM_ROOT_SHARE "rootfs.share"
/* The container's interface the guest takes over, and the monitor's tap
 * beside it (its name marks the namespace as a VM's). */
#define VS_MICROVM_VETH "eth0"
#define VS_MICROVM_TAP	"vstap0"
/* The guest's root: the agent mounts vessel.root= (agent-protocol.md). */
#define VS_MICROVM_ROOT_TAG "root"

/* Build the container with the monitor as its init (cfg's process is the
 * guest's: the init keeps its own identity). */
int vs_microvm_monitor_create(vs_container *c, const vs_config *cfg, const vs_create_opts *opts,
			      const vs_microvm_boot *b, vs_err *err);

/* monitor_wait.c, in the confined monitor: a thread that dials the guest's
 * agent through the vsock device (inject: vs_vm_config.vsock_inject_fd's
 * other end), retrying while the guest boots, waits for "init" and then
 * stores its exit code (0..255, 128+N for signal N) in *code and stops
 * the VM, so the monitor exits with the program's status. */
struct vs_vm;
int vs_microvm_monitor_wait_start(int inject, struct vs_vm *vm, atomic_int *code, vs_err *err);

#endif
