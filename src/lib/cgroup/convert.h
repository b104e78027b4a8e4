/* cgroup v1 <-> v2 value conversions. */
#ifndef VESSEL_CGROUP_CONVERT_H
#define VESSEL_CGROUP_CONVERT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

/* cpu.shares [2, 262144] -> cpu.weight [1, 10000], the quadratic fit in
 * log2 space that runc >= 1.3.2, crun >= 1.23 and opencontainers/cgroups
 * use: min, default (1024 -> 100) and max map onto each other. 0 stays 0
 * ("unset"). */
uint64_t vs_cgroup_shares_to_weight(uint64_t shares);
/* The inverse (cpu.weight -> cpu.shares): the largest shares that maps
 * to weight, so 100 -> 1024. */
uint64_t vs_cgroup_weight_to_shares(uint64_t weight);

/* blkio.weight [10, 1000] -> io.weight [1, 10000], linearly (crun, runc),
 * used when the cgroup2 host has no io.bfq.weight. 0 stays 0. */
uint64_t vs_cgroup_blkio_to_io_weight(uint64_t weight);

/* OCI memory.swap is memory+swap (the v1 memsw meaning); cgroup2's
 * memory.swap.max is swap alone. Returns the memory.swap.max value, with
 * -1 for "max", the way runc converts:
 *   swap -1 -> max; swap 0 -> unset (returns 0 with *set false);
 *   limit -1 and swap unset -> max (unlimited memory, unlimited swap);
 *   otherwise swap - limit, which needs a limit and swap >= limit. */
int vs_cgroup_swap_to_v2(bool swap_set, int64_t swap, bool limit_set, int64_t limit, bool *set,
			 int64_t *out, vs_err *err);

#endif
