/* The cgroup v2 writers. OCI resources are phrased in v1 terms; the
 * conversions live in convert.c and are listed in docs/cgroups.md. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/convert.h"
#include "cgroup/internal.h"
#include "core/cleanup.h"
#include "core/log.h"

static int no_v2(const char *ctrl, const char *field, vs_err *err)
{
	return vs_fail(err, 0, "cgroup %s: linux.resources.%s has no cgroup v2 equivalent", ctrl,
		       field);
}

int vs_cg_v2_memory(const char *dir, const vs_resources *r, vs_err *err)
{
	const char *M = "memory";
	char buf[32];
	vs_res_i64 limit = r->memory.limit;
	/* update --memory-swap alone: memory+swap is relative to the live limit. */
	if (!limit.set && r->memory.swap.set && r->memory.swap.v > 0) {
		uint64_t cur;
		if (vs_cg_read_u64(dir, "memory.max", &cur) == 0)
			limit = (vs_res_i64){ true, cur == UINT64_MAX ? -1 : (int64_t)cur };
	}
	bool swap_set;
	int64_t swap;
	if (vs_cgroup_swap_to_v2(r->memory.swap.set, r->memory.swap.v, limit.set, limit.v,
				 &swap_set, &swap, err) < 0)
		return vs_err_wrap(err, "cgroup memory");
	if (r->memory.check_before_update.set && r->memory.check_before_update.v && limit.set &&
	    limit.v >= 0) {
		/* v1 refuses a limit below the usage; v2 would OOM-kill instead. */
		uint64_t cur = 0, cur_swap = 0;
		vs_cg_read_u64(dir, "memory.current", &cur);
		vs_cg_read_u64(dir, "memory.swap.current", &cur_swap);
		uint64_t want = (uint64_t)limit.v + (swap_set && swap > 0 ? (uint64_t)swap : 0);
		if (want <= cur + cur_swap)
			return vs_fail(err, 0,
				       "cgroup memory: %s: the new limit %" PRIu64
				       " is not above the current usage %" PRIu64
				       " (memory.checkBeforeUpdate)",
				       dir, want, cur + cur_swap);
	}
	if (r->memory.limit.set) {
		vs_cg_number(r->memory.limit.v, "max", buf, sizeof(buf));
		if (vs_cg_write(M, dir, "memory.max", buf, err) < 0)
			return -1;
	}
	if (swap_set) {
		vs_cg_number(swap, "max", buf, sizeof(buf));
		/* Without swap accounting there is no file; "max" then holds anyway. */
		if (swap >= 0 || vs_cg_exists(dir, "memory.swap.max"))
			if (vs_cg_write(M, dir, "memory.swap.max", buf, err) < 0)
				return -1;
	}
	if (r->memory.reservation.set) {
		vs_cg_number(r->memory.reservation.v, "max", buf, sizeof(buf));
		if (vs_cg_write(M, dir, "memory.low", buf, err) < 0)
			return -1;
	}
	if (r->memory.kernel.set)
		vs_warn("linux.resources.memory.kernel is deprecated and ignored");
	if (r->memory.kernel_tcp.set)
		return no_v2(M, "memory.kernelTCP", err);
	if (r->memory.swappiness.set)
		return no_v2(M, "memory.swappiness", err);
	if (r->memory.disable_oom_killer.set && r->memory.disable_oom_killer.v)
		return no_v2(M, "memory.disableOOMKiller", err);
	/* v2 accounting is always hierarchical: only "false" cannot be honoured. */
	if (r->memory.use_hierarchy.set && !r->memory.use_hierarchy.v)
		return no_v2(M, "memory.useHierarchy=false", err);
	return 0;
}

int vs_cg_v2_cpu(const char *dir, const vs_resources *r, vs_err *err)
{
	const char *C = "cpu";
	if (r->cpu.shares.set && r->cpu.shares.v &&
	    vs_cg_writef(C, dir, "cpu.weight", err, "%" PRIu64,
			 vs_cgroup_shares_to_weight(r->cpu.shares.v)) < 0)
		return -1;
	bool quota = r->cpu.quota.set && r->cpu.quota.v,
	     period = r->cpu.period.set && r->cpu.period.v;
	/* cpu.max is "$MAX $PERIOD"; writing one number changes only $MAX. */
	if (quota || period) {
		char max[32];
		if (quota) {
			vs_cg_number(r->cpu.quota.v, "max", max, sizeof(max));
		} else {
			/* Period alone: keep the quota in force. */
			vs_autofree char *cur = vs_cg_read(dir, "cpu.max");
			snprintf(max, sizeof(max), "%.*s", cur ? (int)strcspn(cur, " \n") : 3,
				 cur ? cur : "max");
		}
		int rc = period ? vs_cg_writef(C, dir, "cpu.max", err, "%s %" PRIu64, max,
					       r->cpu.period.v)
				: vs_cg_write(C, dir, "cpu.max", max, err);
		if (rc < 0)
			return -1;
	}
	if (r->cpu.burst.set &&
	    vs_cg_writef(C, dir, "cpu.max.burst", err, "%" PRIu64, r->cpu.burst.v) < 0)
		return -1;
	if ((r->cpu.realtime_period.set && r->cpu.realtime_period.v) ||
	    (r->cpu.realtime_runtime.set && r->cpu.realtime_runtime.v))
		return no_v2(C, "cpu.realtimePeriod/realtimeRuntime", err);
	if (r->cpu.idle.set && vs_cg_writef(C, dir, "cpu.idle", err, "%" PRId64, r->cpu.idle.v) < 0)
		return -1;
	return 0;
}

int vs_cg_v2_io(const char *dir, const vs_resources *r, vs_err *err)
{
	const char *I = "io";
	char line[160];
	/* BFQ takes the v1 range as is; io.weight needs the conversion. */
	bool bfq = vs_cg_exists(dir, "io.bfq.weight");
	if (r->blkio.weight.set && r->blkio.weight.v) {
		int rc = bfq ? vs_cg_writef(I, dir, "io.bfq.weight", err, "%" PRIu64,
					    r->blkio.weight.v)
			     : vs_cg_writef(I, dir, "io.weight", err, "default %" PRIu64,
					    vs_cgroup_blkio_to_io_weight(r->blkio.weight.v));
		if (rc < 0)
			return -1;
	}
	if (r->blkio.leaf_weight.set && r->blkio.leaf_weight.v)
		return no_v2(I, "blockIO.leafWeight", err);
	if (r->blkio.n_weight_devices) {
		const char *file = bfq ? "io.bfq.weight" : "io.weight";
		vs_autoclose int fd = vs_cg_open(I, dir, file, err);
		if (fd < 0)
			return -1;
		for (size_t i = 0; i < r->blkio.n_weight_devices; i++) {
			const vs_res_weight_device *w = &r->blkio.weight_devices[i];
			if (w->leaf_weight.set && !w->weight.set)
				return no_v2(I, "blockIO.weightDevice[].leafWeight", err);
			uint64_t v = bfq ? w->weight.v : vs_cgroup_blkio_to_io_weight(w->weight.v);
			snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %" PRIu64, w->major,
				 w->minor, v);
			if (vs_cg_write_line(fd, I, dir, file, line, err) < 0)
				return -1;
		}
	}
	static const char *const keys[VS_THROTTLE_KINDS] = { "rbps", "wbps", "riops", "wiops" };
	vs_autoclose int fd = -1;
	for (int k = 0; k < VS_THROTTLE_KINDS; k++) {
		for (size_t i = 0; i < r->blkio.n_throttle[k]; i++) {
			const vs_res_throttle *t = &r->blkio.throttle[k][i];
			if (fd < 0 && (fd = vs_cg_open(I, dir, "io.max", err)) < 0)
				return -1;
			snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %s=%" PRIu64,
				 t->major, t->minor, keys[k], t->rate);
			if (vs_cg_write_line(fd, I, dir, "io.max", line, err) < 0)
				return -1;
		}
	}
	return 0;
}

int vs_cg_v2_hugetlb(const char *dir, const vs_resources *r, vs_err *err)
{
	return vs_cg_hugetlb(dir, r, "max", "rsvd.max", err);
}

int vs_cg_v2_unified(const char *dir, const vs_resources *r, vs_err *err)
{
	vs_autofree char *avail = vs_cg_read(dir, "cgroup.controllers");
	if (avail)
		avail[strcspn(avail, "\n")] = '\0';
	for (size_t i = 0; i < r->n_unified; i++) {
		const vs_res_kv *kv = &r->unified[i];
		char ctrl[64];
		snprintf(ctrl, sizeof(ctrl), "%.*s", (int)strcspn(kv->key, "."), kv->key);
		/* The spec: a controller that is absent or cannot be enabled is an error. */
		if (strcmp(ctrl, "cgroup")) {
			bool found = false;
			size_t cl = strlen(ctrl);
			for (const char *p = avail; p && *p; p += strspn(p, " \n")) {
				size_t n = strcspn(p, " \n");
				if (n == cl && !strncmp(p, ctrl, n))
					found = true;
				p += n;
			}
			if (!found)
				return vs_fail(err, 0,
					       "cgroup %s: linux.resources.unified[\"%s\"]: the %s "
					       "controller is not "
					       "available in %s (cgroup.controllers: %s)",
					       ctrl, kv->key, ctrl, dir,
					       avail && avail[0] ? avail : "none");
		}
		if (!kv->value[0])
			continue;
		vs_autoclose int fd = vs_cg_open(ctrl, dir, kv->key, err);
		if (fd < 0)
			return -1;
		/* Multi-line values (io.max) go one line per write, as the kernel wants. */
		vs_autofree char *copy = strdup(kv->value);
		if (!copy)
			return vs_fail(err, ENOMEM, "unified");
		char *save = NULL;
		for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (vs_cg_write_line(fd, ctrl, dir, kv->key, l, err) < 0)
				return -1;
	}
	return 0;
}
