/* The first cgroup migration on a host waits for an RCU grace period
 * (percpu_down_write on the global cgroup_threadgroup_rwsem: ~5-20 ms here).
 * Starting that grace period early, from a throwaway task that "moves"
 * itself into the cgroup it is already in, lets it elapse while the
 * container is prepared; the real migration of the init then finds it done
 * or nearly so. Purely a latency measure: failures are ignored. */
#ifndef VESSEL_CGROUP_WARM_H
#define VESSEL_CGROUP_WARM_H

#include <sys/types.h>

#include "cgroup/cgroup.h"

/* Start the warm-up task; returns its pid (reap it with waitpid) or -1. */
pid_t vs_cgroup_warm_start(const vs_cgroup_host *host);

#endif
