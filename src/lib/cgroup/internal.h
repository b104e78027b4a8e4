/* Private to src/lib/cgroup: reading and writing control files with errors
 * that name the controller and the file, and the per-version writers. */
#ifndef VESSEL_CGROUP_INTERNAL_H
#define VESSEL_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "cgroup/cgroup.h"
#include "cgroup/resources.h"
#include "core/error.h"

/* Write one value ("\n" appended, as echo does) to dir/file. A missing file
 * is reported as such: the host's controller does not offer it. */
int vs_cg_write(const char *ctrl, const char *dir, const char *file, const char *val, vs_err *err);
/* A number as cgroup files spell it, or the file's word for "any" when v is
 * negative ("max" in v2 limits, "*" in v1 device rules). */
void vs_cg_number(int64_t v, const char *negative, char *buf, size_t len);
int vs_cg_writef(const char *ctrl, const char *dir, const char *file, vs_err *err, const char *fmt,
		 ...) __attribute__((format(printf, 5, 6)));

/* Files that take one rule per write(2) (devices.allow, io.max, ...): open
 * once, then write each line with vs_cg_write_line. Returns the fd. */
int vs_cg_open(const char *ctrl, const char *dir, const char *file, vs_err *err);
int vs_cg_write_line(int fd, const char *ctrl, const char *dir, const char *file, const char *line,
		     vs_err *err);

bool vs_cg_exists(const char *dir, const char *file);
/* malloc'd contents of dir/file, NULL if unreadable. */
char *vs_cg_read(const char *dir, const char *file);
/* A single number; "max" reads as UINT64_MAX. -1 if absent or not a number. */
int vs_cg_read_u64(const char *dir, const char *file, uint64_t *v);
/* A "key value" (v1 stat files) or "key=value" field, -1 if absent. */
int vs_cg_read_key(const char *dir, const char *file, const char *key, uint64_t *v);

/* Per-version writers: each applies the parts of r its controller owns. */
int vs_cg_v1_memory(const char *dir, const vs_resources *r, vs_err *err);
int vs_cg_v1_cpu(const char *dir, const vs_resources *r, vs_err *err);
int vs_cg_v1_cpuset(const char *dir, const vs_resources *r, vs_err *err);
int vs_cg_v1_pids(const char *dir, const vs_resources *r, vs_err *err);
int vs_cg_v1_blkio(const char *dir, const vs_resources *r, vs_err *err);
int vs_cg_v1_hugetlb(const char *dir, const vs_resources *r, vs_err *err);
int vs_cg_v1_net_cls(const char *dir, const vs_resources *r, vs_err *err);
int vs_cg_v1_net_prio(const char *dir, const vs_resources *r, vs_err *err);
/* hugetlb.<size>.<limit_suffix> (and .<rsvd_suffix> where it exists). */
int vs_cg_hugetlb(const char *dir, const vs_resources *r, const char *limit_suffix,
		  const char *rsvd_suffix, vs_err *err);
int vs_cg_rdma(const char *dir, const vs_resources *r, vs_err *err);

int vs_cg_v2_memory(const char *dir, const vs_resources *r, vs_err *err);
int vs_cg_v2_cpu(const char *dir, const vs_resources *r, vs_err *err);
int vs_cg_v2_cpuset(const char *dir, const vs_resources *r, vs_err *err);
int vs_cg_v2_pids(const char *dir, const vs_resources *r, vs_err *err);
int vs_cg_v2_io(const char *dir, const vs_resources *r, vs_err *err);
int vs_cg_v2_hugetlb(const char *dir, const vs_resources *r, vs_err *err);
/* linux.resources.unified: each key a file in the cgroup2 directory. */
int vs_cg_v2_unified(const char *dir, const vs_resources *r, vs_err *err);

/* Device rules: v1 devices.allow/deny, v2 an eBPF program. */
int vs_cg_devices_v1(const char *dir, const vs_resources *r, vs_err *err);
int vs_cg_devices_bpf(const char *dir, const vs_resources *r, vs_err *err);

#endif
