/* The cgroup v1 writers: one function per controller directory. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cgroup/internal.h"
#include "core/cleanup.h"
#include "core/log.h"

int vs_cg_v1_memory(const char *dir, const vs_resources *r, vs_err *err)
{
	const char *M = "memory";
	vs_res_i64 limit = r->memory.limit, swap = r->memory.swap;
	/* Unlimited memory with swap unset: lift memsw too, or the old memsw
	 * limit would still cap the container (runc does the same). */
	if (limit.set && limit.v == -1 && (!swap.set || swap.v == 0) &&
	    vs_cg_exists(dir, "memory.memsw.limit_in_bytes"))
		swap = (vs_res_i64){ true, -1 };
	/* memory+swap must stay >= memory at every step: raise swap first when
	 * the new limit is above the current memsw, lower memory first
	 * otherwise. Trying memory first and retrying after swap on EINVAL
	 * covers both (crun's order). */
	bool limit_done = false;
	if (limit.set) {
		vs_err e1 = { 0 };
		if (vs_cg_writef(M, dir, "memory.limit_in_bytes", &e1, "%" PRId64, limit.v) == 0)
			limit_done = true;
		else if (e1.errnum != EINVAL || !swap.set || swap.v == 0)
			return *err = e1, -1;
	}
	if (swap.set && swap.v != 0 &&
	    vs_cg_writef(M, dir, "memory.memsw.limit_in_bytes", err, "%" PRId64, swap.v) < 0)
		return -1;
	if (limit.set && !limit_done &&
	    vs_cg_writef(M, dir, "memory.limit_in_bytes", err, "%" PRId64, limit.v) < 0)
		return -1;
	if (r->memory.reservation.set && vs_cg_writef(M, dir, "memory.soft_limit_in_bytes", err,
						      "%" PRId64, r->memory.reservation.v) < 0)
		return -1;
	/* Kernel memory limits are deprecated and refused by current kernels;
	 * runc ignores memory.kernel the same way. */
	if (r->memory.kernel.set)
		vs_warn("linux.resources.memory.kernel is deprecated and ignored");
	if (r->memory.kernel_tcp.set && vs_cg_writef(M, dir, "memory.kmem.tcp.limit_in_bytes", err,
						     "%" PRId64, r->memory.kernel_tcp.v) < 0)
		return -1;
	if (r->memory.swappiness.set &&
	    vs_cg_writef(M, dir, "memory.swappiness", err, "%" PRIu64, r->memory.swappiness.v) < 0)
		return -1;
	if (r->memory.disable_oom_killer.set && r->memory.disable_oom_killer.v &&
	    vs_cg_write(M, dir, "memory.oom_control", "1", err) < 0)
		return -1;
	if (r->memory.use_hierarchy.set &&
	    vs_cg_write(M, dir, "memory.use_hierarchy", r->memory.use_hierarchy.v ? "1" : "0",
			err) < 0)
		return -1;
	return 0;
}

int vs_cg_v1_cpu(const char *dir, const vs_resources *r, vs_err *err)
{
	const char *C = "cpu";
	/* shares 0 means unset (Docker's convention, runc and crun agree). */
	if (r->cpu.shares.set && r->cpu.shares.v) {
		if (vs_cg_writef(C, dir, "cpu.shares", err, "%" PRIu64, r->cpu.shares.v) < 0)
			return -1;
		/* The kernel clamps out-of-range shares silently: say so. */
		uint64_t got;
		if (vs_cg_read_u64(dir, "cpu.shares", &got) == 0 && got != r->cpu.shares.v)
			return vs_fail(err, 0,
				       "cgroup cpu: %s/cpu.shares: the kernel stored %" PRIu64
				       " for %" PRIu64 " (allowed range is 2-262144)",
				       dir, got, r->cpu.shares.v);
	}
	/* A shorter period can be refused while the old quota is in place:
	 * then write the quota first and the period after (crun's order). */
	bool period_done = false;
	if (r->cpu.period.set && r->cpu.period.v) {
		vs_err e1 = { 0 };
		if (vs_cg_writef(C, dir, "cpu.cfs_period_us", &e1, "%" PRIu64, r->cpu.period.v) ==
		    0)
			period_done = true;
		else if (e1.errnum != EINVAL || !r->cpu.quota.set || !r->cpu.quota.v)
			return *err = e1, -1;
	}
	if (r->cpu.quota.set && r->cpu.quota.v &&
	    vs_cg_writef(C, dir, "cpu.cfs_quota_us", err, "%" PRId64, r->cpu.quota.v) < 0)
		return -1;
	if (r->cpu.period.set && r->cpu.period.v && !period_done &&
	    vs_cg_writef(C, dir, "cpu.cfs_period_us", err, "%" PRIu64, r->cpu.period.v) < 0)
		return -1;
	if (r->cpu.burst.set &&
	    vs_cg_writef(C, dir, "cpu.cfs_burst_us", err, "%" PRIu64, r->cpu.burst.v) < 0)
		return -1;
	/* Period before runtime: the runtime must fit in the period. */
	if (r->cpu.realtime_period.set && r->cpu.realtime_period.v &&
	    vs_cg_writef(C, dir, "cpu.rt_period_us", err, "%" PRIu64, r->cpu.realtime_period.v) < 0)
		return -1;
	if (r->cpu.realtime_runtime.set && r->cpu.realtime_runtime.v &&
	    vs_cg_writef(C, dir, "cpu.rt_runtime_us", err, "%" PRId64, r->cpu.realtime_runtime.v) <
		    0)
		return -1;
	if (r->cpu.idle.set && vs_cg_writef(C, dir, "cpu.idle", err, "%" PRId64, r->cpu.idle.v) < 0)
		return -1;
	return 0;
}

/* Same file names on v1 and v2. */
static int cpuset(const char *dir, const vs_resources *r, vs_err *err)
{
	if (r->cpu.cpus && r->cpu.cpus[0] &&
	    vs_cg_write("cpuset", dir, "cpuset.cpus", r->cpu.cpus, err) < 0)
		return -1;
	if (r->cpu.mems && r->cpu.mems[0] &&
	    vs_cg_write("cpuset", dir, "cpuset.mems", r->cpu.mems, err) < 0)
		return -1;
	return 0;
}

int vs_cg_v1_cpuset(const char *dir, const vs_resources *r, vs_err *err)
{
	return cpuset(dir, r, err);
}

int vs_cg_v2_cpuset(const char *dir, const vs_resources *r, vs_err *err)
{
	return cpuset(dir, r, err);
}

/* pids.max is the same on both versions: positive is a limit, negative is
 * "max", 0 is unset (runc). */
static int pids(const char *dir, const vs_resources *r, vs_err *err)
{
	if (!r->pids.limit.set || r->pids.limit.v == 0)
		return 0;
	if (r->pids.limit.v < 0)
		return vs_cg_write("pids", dir, "pids.max", "max", err);
	return vs_cg_writef("pids", dir, "pids.max", err, "%" PRId64, r->pids.limit.v);
}

int vs_cg_v1_pids(const char *dir, const vs_resources *r, vs_err *err)
{
	return pids(dir, r, err);
}

int vs_cg_v2_pids(const char *dir, const vs_resources *r, vs_err *err)
{
	return pids(dir, r, err);
}

/* blkio.weight with CFQ, blkio.bfq.weight with BFQ: whichever exists. */
static const char *either(const char *dir, const char *a, const char *b)
{
	return vs_cg_exists(dir, a) || !vs_cg_exists(dir, b) ? a : b;
}

int vs_cg_v1_blkio(const char *dir, const vs_resources *r, vs_err *err)
{
	const char *B = "blkio";
	char line[128];
	if (r->blkio.weight.set && r->blkio.weight.v &&
	    vs_cg_writef(B, dir, either(dir, "blkio.weight", "blkio.bfq.weight"), err, "%" PRIu64,
			 r->blkio.weight.v) < 0)
		return -1;
	if (r->blkio.leaf_weight.set && r->blkio.leaf_weight.v &&
	    vs_cg_writef(B, dir, "blkio.leaf_weight", err, "%" PRIu64, r->blkio.leaf_weight.v) < 0)
		return -1;
	if (r->blkio.n_weight_devices) {
		const char *wfile = either(dir, "blkio.weight_device", "blkio.bfq.weight_device");
		const char *lfile = "blkio.leaf_weight_device";
		vs_autoclose int wfd = -1;
		vs_autoclose int lfd = -1;
		for (size_t i = 0; i < r->blkio.n_weight_devices; i++) {
			const vs_res_weight_device *w = &r->blkio.weight_devices[i];
			if (w->weight.set) {
				if (wfd < 0 && (wfd = vs_cg_open(B, dir, wfile, err)) < 0)
					return -1;
				snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %" PRIu64,
					 w->major, w->minor, w->weight.v);
				if (vs_cg_write_line(wfd, B, dir, wfile, line, err) < 0)
					return -1;
			}
			if (w->leaf_weight.set) {
				if (lfd < 0 && (lfd = vs_cg_open(B, dir, lfile, err)) < 0)
					return -1;
				snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %" PRIu64,
					 w->major, w->minor, w->leaf_weight.v);
				if (vs_cg_write_line(lfd, B, dir, lfile, line, err) < 0)
					return -1;
			}
		}
	}
	static const char *const files[VS_THROTTLE_KINDS] = { "blkio.throttle.read_bps_device",
							      "blkio.throttle.write_bps_device",
							      "blkio.throttle.read_iops_device",
							      "blkio.throttle.write_iops_device" };
	for (int k = 0; k < VS_THROTTLE_KINDS; k++) {
		if (!r->blkio.n_throttle[k])
			continue;
		vs_autoclose int fd = vs_cg_open(B, dir, files[k], err);
		if (fd < 0)
			return -1;
		for (size_t i = 0; i < r->blkio.n_throttle[k]; i++) {
			const vs_res_throttle *t = &r->blkio.throttle[k][i];
			snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %" PRIu64, t->major,
				 t->minor, t->rate);
			if (vs_cg_write_line(fd, B, dir, files[k], line, err) < 0)
				return -1;
		}
	}
	return 0;
}

/* hugetlb.<size>.<suffix>, plus the reservation file when the kernel has it
 * (the spec prefers reservation accounting where supported). */
int vs_cg_hugetlb(const char *dir, const vs_resources *r, const char *limit_suffix,
		  const char *rsvd_suffix, vs_err *err)
{
	for (size_t i = 0; i < r->n_hugepages; i++) {
		char file[96], rsvd[96];
		snprintf(file, sizeof(file), "hugetlb.%s.%s", r->hugepages[i].page_size,
			 limit_suffix);
		snprintf(rsvd, sizeof(rsvd), "hugetlb.%s.%s", r->hugepages[i].page_size,
			 rsvd_suffix);
		if (!vs_cg_exists(dir, file))
			return vs_fail(err, 0,
				       "cgroup hugetlb: %s/%s does not exist: this host has no %s "
				       "huge pages "
				       "(linux.resources.hugepageLimits[%zu].pageSize)",
				       dir, file, r->hugepages[i].page_size, i);
		if (vs_cg_writef("hugetlb", dir, file, err, "%" PRIu64, r->hugepages[i].limit) < 0)
			return -1;
		if (vs_cg_exists(dir, rsvd) &&
		    vs_cg_writef("hugetlb", dir, rsvd, err, "%" PRIu64, r->hugepages[i].limit) < 0)
			return -1;
	}
	return 0;
}

int vs_cg_v1_hugetlb(const char *dir, const vs_resources *r, vs_err *err)
{
	return vs_cg_hugetlb(dir, r, "limit_in_bytes", "rsvd.limit_in_bytes", err);
}

int vs_cg_v1_net_cls(const char *dir, const vs_resources *r, vs_err *err)
{
	if (!r->network.class_id.set)
		return 0;
	return vs_cg_writef("net_cls", dir, "net_cls.classid", err, "%" PRIu64,
			    r->network.class_id.v);
}

int vs_cg_v1_net_prio(const char *dir, const vs_resources *r, vs_err *err)
{
	if (!r->network.n_priorities)
		return 0;
	vs_autoclose int fd = vs_cg_open("net_prio", dir, "net_prio.ifpriomap", err);
	if (fd < 0)
		return -1;
	for (size_t i = 0; i < r->network.n_priorities; i++) {
		char line[96];
		snprintf(line, sizeof(line), "%s %u", r->network.priorities[i].name,
			 r->network.priorities[i].priority);
		if (vs_cg_write_line(fd, "net_prio", dir, "net_prio.ifpriomap", line, err) < 0)
			return -1;
	}
	return 0;
}

/* rdma.max has one format on v1 and v2: "dev hca_handle=N hca_object=M". */
int vs_cg_rdma(const char *dir, const vs_resources *r, vs_err *err)
{
	if (!r->n_rdma)
		return 0;
	vs_autoclose int fd = vs_cg_open("rdma", dir, "rdma.max", err);
	if (fd < 0)
		return -1;
	for (size_t i = 0; i < r->n_rdma; i++) {
		const vs_res_rdma *d = &r->rdma[i];
		char line[160], h[32] = "max", o[32] = "max";
		if (d->hca_handles.set)
			snprintf(h, sizeof(h), "%" PRIu64, d->hca_handles.v);
		if (d->hca_objects.set)
			snprintf(o, sizeof(o), "%" PRIu64, d->hca_objects.v);
		snprintf(line, sizeof(line), "%s hca_handle=%s hca_object=%s", d->device, h, o);
		if (vs_cg_write_line(fd, "rdma", dir, "rdma.max", line, err) < 0)
			return -1;
	}
	return 0;
}
