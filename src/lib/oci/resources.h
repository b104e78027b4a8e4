/* linux.resources (OCI runtime-spec) as typed values, backend-neutral: the
 * container backend applies them to cgroups (cgroup/resources.h), the
 * microvm backend sizes its guest from them (microvm/sizing.h). Every field
 * records whether it was given: an absent field is never written. */
#ifndef VESSEL_OCI_RESOURCES_H
#define VESSEL_OCI_RESOURCES_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
