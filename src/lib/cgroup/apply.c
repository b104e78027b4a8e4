/* Apply linux.resources: each controller where it lives on this host (v1
 * or cgroup2, which on a hybrid host can differ per controller). */
#include <stdio.h>
#include <string.h>

#include "cgroup/internal.h"
#include "cgroup/resources.h"
#include "core/cleanup.h"
#include "core/log.h"

typedef int (*writer_fn)(const char *dir, const vs_resources *r, vs_err *err);

static bool any_memory(const vs_resources *r)
{
	return r->memory.limit.set || r->memory.reservation.set || r->memory.swap.set ||
	       r->memory.kernel.set || r->memory.kernel_tcp.set || r->memory.swappiness.set ||
	       r->memory.disable_oom_killer.set || r->memory.use_hierarchy.set;
}

static bool any_cpu(const vs_resources *r)
{
	return (r->cpu.shares.set && r->cpu.shares.v) || (r->cpu.quota.set && r->cpu.quota.v) ||
	       (r->cpu.period.set && r->cpu.period.v) || r->cpu.burst.set ||
	       (r->cpu.realtime_period.set && r->cpu.realtime_period.v) ||
	       (r->cpu.realtime_runtime.set && r->cpu.realtime_runtime.v) || r->cpu.idle.set;
}

static bool any_cpuset(const vs_resources *r)
{
	return (r->cpu.cpus && r->cpu.cpus[0]) || (r->cpu.mems && r->cpu.mems[0]);
}

static bool any_blkio(const vs_resources *r)
{
	bool t = false;
	for (int k = 0; k < VS_THROTTLE_KINDS; k++)
		t = t || r->blkio.n_throttle[k];
	return (r->blkio.weight.set && r->blkio.weight.v) ||
	       (r->blkio.leaf_weight.set && r->blkio.leaf_weight.v) || r->blkio.n_weight_devices ||
	       t;
}

/* On cgroup2 a controller must also be enabled for this cgroup. */
static int check_enabled(const char *dir, const char *ctrl, const char *field, vs_err *err)
{
	vs_autofree char *avail = vs_cg_read(dir, "cgroup.controllers");
	if (!avail)
		return 0; /* let the write report what is wrong */
	avail[strcspn(avail, "\n")] = '\0';
	size_t cl = strlen(ctrl);
	for (const char *p = avail; *p; p += strspn(p, " ")) {
		size_t n = strcspn(p, " ");
		if (n == cl && !strncmp(p, ctrl, n))
			return 0;
		p += n;
	}
	return vs_fail(err, 0,
		       "cgroup %s: the %s controller is not enabled for %s (its "
		       "cgroup.controllers: %s), needed for "
		       "linux.resources.%s",
		       ctrl, ctrl, dir, avail[0] ? avail : "none", field);
}

static int missing(const char *ctrl, const char *field, vs_err *err)
{
	return vs_fail(
		err, 0,
		"cgroup %s: this host has no %s controller mounted, needed for linux.resources.%s",
		ctrl, ctrl, field);
}

/* Run the v1 or v2 writer for ctrl (v2name where cgroup2 calls it differently). */
static int step(const vs_cgroup *cg, const char *ctrl, const char *v2name, const char *field,
		writer_fn v1, writer_fn v2, const vs_resources *r, vs_err *err)
{
	bool is_v2 = false;
	const char *dir = vs_cgroup_dir_of(cg, ctrl, &is_v2);
	if (!dir && v2name) {
		dir = vs_cgroup_dir_of(cg, v2name, &is_v2);
		ctrl = v2name;
	}
	if (!dir)
		return missing(ctrl, field, err);
	if (is_v2) {
		if (!v2)
			return vs_fail(err, 0,
				       "cgroup %s: linux.resources.%s has no cgroup v2 equivalent",
				       ctrl, field);
		if (check_enabled(dir, ctrl, field, err) < 0)
			return -1;
		return v2(dir, r, err);
	}
	if (!v1)
		return vs_fail(err, 0, "cgroup %s: linux.resources.%s needs cgroup v2", ctrl,
			       field);
	return v1(dir, r, err);
}

/* unified keys on a host that also has v1: only for controllers that
 * live in cgroup2 here (the spec allows no per-key v1 fallback). */
static int unified(const vs_cgroup *cg, const vs_resources *r, vs_err *err)
{
	const char *dir = vs_cgroup_v2_dir(cg);
	if (!dir)
		return vs_fail(err, 0,
			       "linux.resources.unified: this host has no cgroup v2 hierarchy "
			       "(cgroup v1 only)");
	for (size_t i = 0; i < r->n_unified; i++) {
		char ctrl[64];
		snprintf(ctrl, sizeof(ctrl), "%.*s", (int)strcspn(r->unified[i].key, "."),
			 r->unified[i].key);
		bool is_v2 = false;
		const char *where = vs_cgroup_dir_of(cg, ctrl, &is_v2);
		if (where && !is_v2)
			return vs_fail(err, 0,
				       "cgroup %s: linux.resources.unified[\"%s\"]: the %s "
				       "controller is on cgroup v1 on "
				       "this host (%s); use the linux.resources fields for it",
				       ctrl, r->unified[i].key, ctrl, where);
	}
	return vs_cg_v2_unified(dir, r, err);
}

int vs_cgroup_apply(const vs_cgroup *cg, const vs_resources *r, bool with_devices, vs_err *err)
{
	if (any_cpuset(r) &&
	    step(cg, "cpuset", NULL, "cpu.cpus/mems", vs_cg_v1_cpuset, vs_cg_v2_cpuset, r, err) < 0)
		return -1;
	if (with_devices && r->has_devices) {
		bool is_v2 = false;
		const char *dir = vs_cgroup_dir_of(cg, "devices", &is_v2);
		if (!dir)
			return missing("devices", "devices", err);
		if ((is_v2 ? vs_cg_devices_bpf : vs_cg_devices_v1)(dir, r, err) < 0)
			return -1;
	}
	if (any_memory(r) &&
	    step(cg, "memory", NULL, "memory", vs_cg_v1_memory, vs_cg_v2_memory, r, err) < 0)
		return -1;
	if (any_cpu(r) && step(cg, "cpu", NULL, "cpu", vs_cg_v1_cpu, vs_cg_v2_cpu, r, err) < 0)
		return -1;
	if (r->pids.limit.set && r->pids.limit.v &&
	    step(cg, "pids", NULL, "pids", vs_cg_v1_pids, vs_cg_v2_pids, r, err) < 0)
		return -1;
	if (any_blkio(r) &&
	    step(cg, "blkio", "io", "blockIO", vs_cg_v1_blkio, vs_cg_v2_io, r, err) < 0)
		return -1;
	if (r->n_hugepages && step(cg, "hugetlb", NULL, "hugepageLimits", vs_cg_v1_hugetlb,
				   vs_cg_v2_hugetlb, r, err) < 0)
		return -1;
	if (r->network.class_id.set &&
	    step(cg, "net_cls", NULL, "network.classID", vs_cg_v1_net_cls, NULL, r, err) < 0)
		return -1;
	if (r->network.n_priorities &&
	    step(cg, "net_prio", NULL, "network.priorities", vs_cg_v1_net_prio, NULL, r, err) < 0)
		return -1;
	if (r->n_rdma && step(cg, "rdma", NULL, "rdma", vs_cg_rdma, vs_cg_rdma, r, err) < 0)
		return -1;
	/* Last, so explicit unified values override the converted ones (runc). */
	if (r->n_unified && unified(cg, r, err) < 0)
		return -1;
	return 0;
}
