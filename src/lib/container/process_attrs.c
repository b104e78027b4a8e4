#include "container/process_attrs.h"

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

/* struct sched_attr, SCHED_ATTR_SIZE_VER0 (glibc 2.36 has no wrapper). */
struct vs_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
};

#define V_IOPRIO_WHO_PROCESS 1

int vs_process_attrs_apply(const vs_process_attrs *a, vs_err *err)
{
	if (a->has_personality && personality(a->personality) < 0)
		return vs_fail_errno(err, "linux.personality: personality(0x%lx)", a->personality);
	if (a->has_mem_policy) {
		/* The kernel reads maxnode - 1 bits: pass one more than the mask holds. */
		const unsigned long *mask = a->mpol_has_nodes ? a->mpol_nodes : NULL;
		unsigned long maxnode = a->mpol_has_nodes ? VS_MPOL_MAX_NODES + 1 : 0;
		if (syscall(SYS_set_mempolicy, a->mpol_mode, mask, maxnode) < 0)
			return vs_fail_errno(err, "linux.memoryPolicy: set_mempolicy");
	}
	if (a->has_io_priority && syscall(SYS_ioprio_set, V_IOPRIO_WHO_PROCESS, 0, a->ioprio) < 0)
		return vs_fail_errno(err, "process.ioPriority: ioprio_set");
	if (a->has_scheduler) {
		struct vs_sched_attr sa = {
			.size = sizeof(sa),
			.sched_policy = a->sched_policy,
			.sched_flags = a->sched_flags,
			.sched_nice = a->sched_nice,
			.sched_priority = a->sched_priority,
			.sched_runtime = a->sched_runtime,
			.sched_deadline = a->sched_deadline,
			.sched_period = a->sched_period,
		};
		if (syscall(SYS_sched_setattr, 0, &sa, 0) < 0) {
			bool rt = a->sched_policy == SCHED_FIFO || a->sched_policy == SCHED_RR;
			return vs_fail_errno(err, "process.scheduler: sched_setattr%s",
					     errno == EPERM && rt
						     ? " (a realtime policy under RT group "
						       "scheduling needs "
						       "linux.resources.cpu.realtimeRuntime)"
						     : "");
		}
	}
	return 0;
}
