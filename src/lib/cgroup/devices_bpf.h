/* cgroup v2 device control: the OCI device list compiled to a
 * BPF_PROG_TYPE_CGROUP_DEVICE program, hand-assembled (as crun does) and
 * loaded and attached with raw bpf(2) calls, so libbpf is not needed. */
#ifndef VESSEL_CGROUP_DEVICES_BPF_H
#define VESSEL_CGROUP_DEVICES_BPF_H

#include <linux/bpf.h>
#include <stddef.h>

#include "cgroup/resources.h"
#include "core/error.h"

/* Compile r->devices into *insns (malloc'd, *n instructions). The rules are
 * checked last to first and the first match decides; before them stands the
 * effect of the last "type a" rule (allow or deny everything), as on v1. */
int vs_devices_bpf_build(const vs_resources *r, struct bpf_insn **insns, size_t *n, vs_err *err);

/* Load the program and attach it to the cgroup2 directory dir, then detach
 * the programs that were attached there before (so applying twice replaces
 * rather than stacks). */
int vs_devices_bpf_attach(const char *dir, const struct bpf_insn *insns, size_t n, vs_err *err);

#endif
