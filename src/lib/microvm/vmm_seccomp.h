/* The monitor's own confinement (docs/microvm.md, "The monitor's seccomp
 * filter"): once the VM is built (KVM fds, guest memory, kernel loaded,
 * devices attached, the tap and its tc redirect set up), the monitor needs
 * no capability and a few dozen syscalls. The config's process.* settings
 * belong to the guest program, not to it. */
#ifndef VESSEL_MICROVM_VMM_SECCOMP_H
#define VESSEL_MICROVM_VMM_SECCOMP_H

#include "core/error.h"

/* Every capability gone: effective, permitted, inheritable, ambient and the
 * bounding set; no_new_privs set. */
int vs_vmm_drop_capabilities(vs_err *err);

/* The allow-list filter, on every thread of the process (TSYNC). Anything
 * else kills the whole process (SCMP_ACT_KILL_PROCESS). */
int vs_vmm_seccomp_apply(vs_err *err);

/* Both, in that order. */
int vs_vmm_confine(vs_err *err);

#endif
