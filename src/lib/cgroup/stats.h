/* Container statistics in the shape of runc's `events --stats` data
 * (types.Stats: cpu, cpuset, memory, pids, blkio, hugetlb, intel_rdt,
 * network_interfaces), read from v1 or cgroup2 files, and OOM
 * notifications for `events`. */
#ifndef VESSEL_CGROUP_STATS_H
#define VESSEL_CGROUP_STATS_H

#include <json-c/json.h>
#include <stdint.h>

#include "cgroup/cgroup.h"
#include "core/error.h"

/* A new JSON object with the current statistics. Files a host lacks
 * read as zero, as in runc. */
json_object *vs_cgroup_stats(const vs_cgroup *cg, vs_err *err);

/* The huge page sizes of this host as the kernel names hugetlb files
 * ("2MB", "1GB"), malloc'd and NULL terminated. */
char **vs_cgroup_hugepage_sizes(void);
void vs_cgroup_free_strv(char **v);

/* OOM notifications: v1 memory.oom_control through cgroup.event_control
 * and an eventfd, cgroup2 memory.events (oom_kill) through inotify. */
typedef struct vs_cgroup_oom vs_cgroup_oom;

int vs_cgroup_oom_open(const vs_cgroup *cg, vs_cgroup_oom **out, vs_err *err);
/* Poll this fd for POLLIN. */
int vs_cgroup_oom_fd(const vs_cgroup_oom *w);
/* Consume a wakeup: *count is the number of OOM kills since the last call
 * (0 for a spurious wakeup). Returns 1 when the cgroup is gone, 0 else. */
int vs_cgroup_oom_read(vs_cgroup_oom *w, uint64_t *count, vs_err *err);
void vs_cgroup_oom_close(vs_cgroup_oom *w);

#endif
