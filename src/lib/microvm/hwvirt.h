/* Whether this host can run a Linux guest at all: KVM without VT-x/AMD-V
 * emulates every instruction and a stock kernel never reaches userspace.
 * A microvm create asks first, before anything else (kernel included). */
#ifndef VESSEL_MICROVM_HWVIRT_H
#define VESSEL_MICROVM_HWVIRT_H

#include <json-c/json.h>
#include <stdbool.h>

#include "core/error.h"

/* NULL when the host has hardware virtualization under kvm_dev; else a
 * static line saying what is missing. cpuinfo: /proc/cpuinfo or a test's
 * file; kvm_emulated: vm/vm.h's vs_kvm_is_emulated() (a parameter so tests
 * can give both answers). */
const char *vs_hwvirt_missing(const char *cpuinfo, const char *kvm_dev, bool kvm_emulated);

/* The create check on this host: fails with the reason and the override
 * (VS_ANN_ALLOW_EMULATED=true, which skips the check) in one line. */
int vs_hwvirt_check(json_object *annotations, vs_err *err);

#endif
