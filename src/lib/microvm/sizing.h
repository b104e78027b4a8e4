/* The guest's size from the workload's limits (docs/microvm.md, "Sizing"):
 * the memory limit bounds the whole VM (the monitor runs in the container's
 * cgroup), so guest RAM is the limit minus what the monitor itself uses. */
#ifndef VESSEL_MICROVM_SIZING_H
#define VESSEL_MICROVM_SIZING_H

#include <json-c/json.h>
#include <stdint.h>

#include "core/error.h"
#include "oci/resources.h"

/* Reserved for the monitor beyond guest RAM. Measured: 1.42 MiB resident
 * with a tiny guest (bench/vm-start.sh, docs/SPECIFICATION.md); rounded up
 * for the virtio queues and buffers, vsock connections, the kernel's page
 * tables for guest RAM (charged to the cgroup) and the vessel init. */
#define VS_MICROVM_OVERHEAD_MIB 8
/* Below this a Debian cloud kernel with vessel's initramfs does not boot. */
#define VS_MICROVM_MIN_GUEST_MIB 64
/* Guest RAM when the workload has no memory limit. */
#define VS_MICROVM_DEFAULT_GUEST_MIB 256

typedef struct vs_microvm_size {
	uint64_t memory_mib;
	unsigned cpus;
} vs_microvm_size;

/* r: the config's linux.resources (may be NULL); annotations: overrides
 * io.vessel.vm.memory and io.vessel.vm.cpus (may be NULL). Errors name the
 * field or annotation at fault. */
int vs_microvm_sizing(const vs_resources *r, json_object *annotations, vs_microvm_size *out,
		      vs_err *err);

#endif
