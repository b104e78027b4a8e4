/* Resource control of a live workload, whatever backend runs it: pause and
 * resume, update of linux.resources, statistics, its processes and OOM
 * notifications. Each checks the status first and fails with a message
 * naming the container; a backend without the operation says so. */
#ifndef VESSEL_LIFECYCLE_CONTROL_H
#define VESSEL_LIFECYCLE_CONTROL_H

#include <json-c/json.h>
#include <stddef.h>
#include <sys/types.h>

#include "lifecycle/container.h"

/* running -> paused, and back. The container must be locked. */
int vs_container_pause(vs_container *c, vs_err *err);
int vs_container_resume(vs_container *c, vs_err *err);

/* Apply resources to a created, running or paused container (locked). */
int vs_container_update(vs_container *c, const vs_resources *r, vs_err *err);

/* runc's `events --stats` data object; the caller owns *out. */
int vs_container_stats(vs_container *c, json_object **out, vs_err *err);

/* Every pid of the container (host pids, sorted, malloc'd). */
int vs_container_pids(vs_container *c, pid_t **pids, size_t *n, vs_err *err);

/* OOM notifications: poll vs_oom_watch_fd for POLLIN, then
 * vs_oom_watch_read (see vs_oom_watch in lifecycle/backend.h). */
int vs_container_oom_watch(vs_container *c, vs_oom_watch **w, vs_err *err);
int vs_oom_watch_fd(const vs_oom_watch *w);
int vs_oom_watch_read(vs_oom_watch *w, uint64_t *count, vs_err *err);
/* NULL is fine. */
void vs_oom_watch_close(vs_oom_watch *w);

#endif
