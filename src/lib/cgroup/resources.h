/* linux.resources (OCI runtime-spec) as typed values, and applying them to
 * a container's cgroup on v1, v2 or hybrid hosts. Every field records
 * whether it was given: an absent field is never written. */
#ifndef VESSEL_CGROUP_RESOURCES_H
#define VESSEL_CGROUP_RESOURCES_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup/cgroup.h"
#include "core/error.h"

typedef struct vs_res_i64 {
	bool set;
	int64_t v;
} vs_res_i64;

typedef struct vs_res_u64 {
	bool set;
	uint64_t v;
} vs_res_u64;

typedef struct vs_res_bool {
	bool set;
	bool v;
} vs_res_bool;

/* One device rule. type 'a' means every device; major/minor -1 mean "*". */
typedef struct vs_res_device {
	bool allow;
	char type;
	int64_t major, minor;
	char access[4]; /* subset of "rwm" */
} vs_res_device;

typedef struct vs_res_weight_device {
	int64_t major, minor;
	vs_res_u64 weight, leaf_weight;
} vs_res_weight_device;

typedef struct vs_res_throttle {
	int64_t major, minor;
	uint64_t rate;
} vs_res_throttle;

enum vs_throttle_kind {
	VS_THROTTLE_READ_BPS = 0,
	VS_THROTTLE_WRITE_BPS,
	VS_THROTTLE_READ_IOPS,
	VS_THROTTLE_WRITE_IOPS,
	VS_THROTTLE_KINDS
};

typedef struct vs_res_hugepage {
	char page_size[16]; /* "2MB" */
	uint64_t limit;
} vs_res_hugepage;

typedef struct vs_res_netprio {
	char name[64];
	uint32_t priority;
} vs_res_netprio;

typedef struct vs_res_rdma {
	char device[64];
	vs_res_u64 hca_handles, hca_objects;
} vs_res_rdma;

typedef struct vs_res_kv {
	char *key, *value;
} vs_res_kv;

typedef struct vs_resources {
	struct {
		vs_res_i64 limit, reservation, swap, kernel, kernel_tcp;
		vs_res_u64 swappiness;
		vs_res_bool disable_oom_killer, use_hierarchy, check_before_update;
	} memory;
	struct {
		vs_res_u64 shares, period, burst, realtime_period;
		vs_res_i64 quota, realtime_runtime, idle;
		char *cpus, *mems;
	} cpu;
	struct {
		vs_res_i64 limit;
	} pids;
	struct {
		vs_res_u64 weight, leaf_weight;
		vs_res_weight_device *weight_devices;
		size_t n_weight_devices;
		vs_res_throttle *throttle[VS_THROTTLE_KINDS];
		size_t n_throttle[VS_THROTTLE_KINDS];
	} blkio;
	vs_res_hugepage *hugepages;
	size_t n_hugepages;
	struct {
		vs_res_u64 class_id;
		vs_res_netprio *priorities;
		size_t n_priorities;
	} network;
	vs_res_rdma *rdma;
	size_t n_rdma;
	vs_res_kv *unified;
	size_t n_unified;
	bool has_devices; /* linux.resources.devices given (even empty) */
	vs_res_device *devices;
	size_t n_devices;
} vs_resources;

/* Parse a LinuxResources object (NULL gives empty resources). what names it
 * in errors ("linux.resources", or "--resources" for update). Values are
 * checked for type and range here, so create fails before touching the
 * host. */
int vs_resources_parse(json_object *obj, const char *what, vs_resources *r, vs_err *err);
void vs_resources_clear(vs_resources *r);

/* The device list a container gets: deny everything, then the spec's rules,
 * then an allow rule for each of linux.devices, then the devices every
 * container needs (null, zero, full, tty, random, urandom, pts, ptmx, tun;
 * mknod of any), as runc and crun do. extra may be NULL. */
typedef struct vs_res_device_node {
	char type;
	int64_t major, minor;
} vs_res_device_node;
int vs_resources_container_devices(vs_resources *r, const vs_res_device_node *extra, size_t n_extra,
				   vs_err *err);

/* Apply r to the container's cgroup, each controller where it lives on
 * this host. A value the host cannot apply is an error naming the
 * controller and the file. with_devices: also (re)write the device rules
 * (create does; update leaves them alone). */
int vs_cgroup_apply(const vs_cgroup *cg, const vs_resources *r, bool with_devices, vs_err *err);

#endif
