/* Per-process kernel attributes from config.json that the container init
 * applies before exec: linux.personality, process.scheduler,
 * process.ioPriority and linux.memoryPolicy. Parsed and validated at config
 * load (create fails before touching the host); applied by
 * container/process_attrs.c. */
#ifndef VESSEL_OCI_PROCESS_ATTRS_H
#define VESSEL_OCI_PROCESS_ATTRS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

/* Nodes a memory policy may name: the kernel's MAX_NUMNODES with
 * CONFIG_NODES_SHIFT=10, the x86_64 default. */
#define VS_MPOL_MAX_NODES 1024

typedef struct vs_process_attrs {
	bool has_personality;
	unsigned long personality; /* PER_LINUX or PER_LINUX32 */

	bool has_scheduler;
	uint32_t sched_policy; /* SCHED_* */
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_flags; /* SCHED_FLAG_* */
	uint64_t sched_runtime, sched_deadline, sched_period;

	bool has_io_priority;
	int ioprio; /* IOPRIO_PRIO_VALUE(class, level) */

	bool has_mem_policy;
	int mpol_mode; /* MPOL_* | MPOL_F_* flags */
	bool mpol_has_nodes;
	unsigned long mpol_nodes[VS_MPOL_MAX_NODES / (8 * sizeof(unsigned long))];
} vs_process_attrs;

/* Read the four fields from the config document (process and linux may be
 * NULL). */
int vs_process_attrs_parse(json_object *process, json_object *linux_, vs_process_attrs *out,
			   vs_err *err);

/* Whether the cgroup limits must be in place before the init applies the
 * attributes: a realtime policy under RT group scheduling (cgroup v1
 * cpu.rt_runtime_us) is refused until the cgroup has an RT budget. */
bool vs_process_attrs_need_limits_first(const vs_process_attrs *a);

/* What `features` reports about them (linux.memoryPolicy, and annotations
 * for what features-linux.md does not define). */
void vs_process_attrs_features(json_object *linux_features, json_object *annotations);

#endif
