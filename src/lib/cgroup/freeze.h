/* Pause and resume: the v1 freezer (freezer.state) or cgroup2's
 * cgroup.freeze, whichever holds the container's freezer on this host. */
#ifndef VESSEL_CGROUP_FREEZE_H
#define VESSEL_CGROUP_FREEZE_H

#include <stdbool.h>

#include "cgroup/cgroup.h"
#include "core/error.h"

/* Freeze (or thaw) every process of the cgroup and wait until the kernel
 * reports the new state. */
int vs_cgroup_freeze(const vs_cgroup *cg, bool frozen, vs_err *err);

/* Whether the cgroup is frozen (or freezing). -1 if there is no freezer. */
int vs_cgroup_is_frozen(const vs_cgroup *cg, bool *frozen, vs_err *err);

#endif
