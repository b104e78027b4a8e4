/* linux.resources JSON -> vs_resources, with type and range checks. Every
 * message names the exact key path through core/json. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/resources.h"
#include "core/json.h"

/* The core/json getters, filling resources' set/value pairs. */
static int res_i64(json_object *o, const char *where, const char *key, vs_res_i64 *out, vs_err *err)
{
	int64_t v;
	int rc = vs_json_get_int(o, where, key, INT64_MIN, INT64_MAX, &v, err);
	if (rc > 0)
		*out = (vs_res_i64){ .set = true, .v = v };
	return rc;
}

static int res_u64(json_object *o, const char *where, const char *key, uint64_t max,
		   vs_res_u64 *out, vs_err *err)
{
	uint64_t v;
	int rc = vs_json_get_u64(o, where, key, max, &v, err);
	if (rc > 0)
		*out = (vs_res_u64){ .set = true, .v = v };
	return rc;
}

static int res_bool(json_object *o, const char *where, const char *key, vs_res_bool *out,
		    vs_err *err)
{
	bool v;
	int rc = vs_json_get_bool(o, where, key, &v, err);
	if (rc > 0)
		*out = (vs_res_bool){ .set = true, .v = v };
	return rc;
}

/* An array; *n is its length and *out a zeroed allocation of n elements. */
static int res_array(json_object *o, const char *where, const char *key, size_t elem, void **out,
		     size_t *n, json_object **arr, vs_err *err)
{
	*n = 0;
	int rc = vs_json_get_array(o, where, key, arr, err);
	if (rc <= 0)
		return rc;
	*n = json_object_array_length(*arr);
	*out = calloc(*n ? *n : 1, elem);
	return *out ? 1 : vs_json_fail(err, where, key, "out of memory");
}

/* Element i of arr, which must be an object; its name goes to name. */
static json_object *element(json_object *arr, size_t i, const char *where, const char *key,
			    char *name, size_t len, vs_err *err)
{
	char base[256];
	vs_json_index(name, len, vs_json_path(base, sizeof(base), where, key), i);
	json_object *e = json_object_array_get_idx(arr, i);
	if (!json_object_is_type(e, json_type_object)) {
		vs_json_fail(err, name, NULL, "expected an object");
		return NULL;
	}
	return e;
}

/* "0-3,5" style lists: digits, commas and dashes only (the kernel parses the rest). */
static int check_list(const char *where, const char *key, const char *s, vs_err *err)
{
	if (!s)
		return 0;
	for (const char *c = s; *c; c++)
		if (!((*c >= '0' && *c <= '9') || *c == ',' || *c == '-' || *c == '\n'))
			return vs_json_fail(err, where, key, "expected a list like \"0-3,5\"");
	return 0;
}

static int parse_memory(json_object *m, const char *W, vs_resources *r, vs_err *err)
{
	if (res_i64(m, W, "limit", &r->memory.limit, err) < 0 ||
	    res_i64(m, W, "reservation", &r->memory.reservation, err) < 0 ||
	    res_i64(m, W, "swap", &r->memory.swap, err) < 0 ||
	    res_i64(m, W, "kernel", &r->memory.kernel, err) < 0 ||
	    res_i64(m, W, "kernelTCP", &r->memory.kernel_tcp, err) < 0 ||
	    res_u64(m, W, "swappiness", 100, &r->memory.swappiness, err) < 0 ||
	    res_bool(m, W, "disableOOMKiller", &r->memory.disable_oom_killer, err) < 0 ||
	    res_bool(m, W, "useHierarchy", &r->memory.use_hierarchy, err) < 0 ||
	    res_bool(m, W, "checkBeforeUpdate", &r->memory.check_before_update, err) < 0)
		return -1;
	/* -1 means unlimited; other negative values mean nothing. */
	const struct {
		vs_res_i64 *v;
		const char *key;
	} lims[] = { { &r->memory.limit, "limit" },
		     { &r->memory.reservation, "reservation" },
		     { &r->memory.swap, "swap" },
		     { &r->memory.kernel, "kernel" },
		     { &r->memory.kernel_tcp, "kernelTCP" } };
	for (size_t i = 0; i < sizeof(lims) / sizeof(lims[0]); i++)
		if (lims[i].v->set && lims[i].v->v < -1)
			return vs_json_fail(err, W, lims[i].key,
					    "must be -1 (unlimited) or a number of bytes");
	if (r->memory.limit.set && r->memory.swap.set && r->memory.limit.v > 0 &&
	    r->memory.swap.v > 0 && r->memory.swap.v < r->memory.limit.v)
		return vs_json_fail(err, W, "swap",
				    "is memory+swap and must not be below memory.limit");
	return 0;
}

static int parse_cpu(json_object *c, const char *W, vs_resources *r, vs_err *err)
{
	if (res_u64(c, W, "shares", UINT64_MAX, &r->cpu.shares, err) < 0 ||
	    res_i64(c, W, "quota", &r->cpu.quota, err) < 0 ||
	    res_u64(c, W, "burst", UINT64_MAX, &r->cpu.burst, err) < 0 ||
	    res_u64(c, W, "period", UINT64_MAX, &r->cpu.period, err) < 0 ||
	    res_i64(c, W, "realtimeRuntime", &r->cpu.realtime_runtime, err) < 0 ||
	    res_u64(c, W, "realtimePeriod", UINT64_MAX, &r->cpu.realtime_period, err) < 0 ||
	    vs_json_get_string(c, W, "cpus", &r->cpu.cpus, err) < 0 ||
	    vs_json_get_string(c, W, "mems", &r->cpu.mems, err) < 0 ||
	    res_i64(c, W, "idle", &r->cpu.idle, err) < 0)
		return -1;
	if (check_list(W, "cpus", r->cpu.cpus, err) < 0 ||
	    check_list(W, "mems", r->cpu.mems, err) < 0)
		return -1;
	if (r->cpu.idle.set && r->cpu.idle.v != 0 && r->cpu.idle.v != 1)
		return vs_json_fail(err, W, "idle", "must be 0 or 1");
	if (r->cpu.quota.set && r->cpu.quota.v < -1)
		return vs_json_fail(err, W, "quota",
				    "must be -1 (unlimited) or a number of microseconds");
	/* The spec: burst MUST be no larger than a positive quota. */
	if (r->cpu.burst.set && r->cpu.quota.set && r->cpu.quota.v > 0 &&
	    r->cpu.burst.v > (uint64_t)r->cpu.quota.v)
		return vs_json_fail(err, W, "burst", "must not be larger than cpu.quota");
	return 0;
}

static int parse_major_minor(json_object *e, const char *W, int64_t *major, int64_t *minor,
			     vs_err *err)
{
	vs_res_i64 ma = { 0 }, mi = { 0 };
	if (res_i64(e, W, "major", &ma, err) < 0 || res_i64(e, W, "minor", &mi, err) < 0)
		return -1;
	if (!ma.set || !mi.set)
		return vs_json_fail(err, W, NULL, "major and minor are required");
	if (ma.v < 0 || mi.v < 0 || ma.v > UINT32_MAX || mi.v > UINT32_MAX)
		return vs_json_fail(err, W, NULL, "major and minor must be device numbers");
	*major = ma.v;
	*minor = mi.v;
	return 0;
}

static int parse_blkio(json_object *b, const char *W, vs_resources *r, vs_err *err)
{
	if (res_u64(b, W, "weight", UINT16_MAX, &r->blkio.weight, err) < 0 ||
	    res_u64(b, W, "leafWeight", UINT16_MAX, &r->blkio.leaf_weight, err) < 0)
		return -1;
	json_object *arr;
	if (res_array(b, W, "weightDevice", sizeof(vs_res_weight_device),
		      (void **)&r->blkio.weight_devices, &r->blkio.n_weight_devices, &arr, err) < 0)
		return -1;
	for (size_t i = 0; i < r->blkio.n_weight_devices; i++) {
		vs_res_weight_device *w = &r->blkio.weight_devices[i];
		char f[300];
		json_object *e = element(arr, i, W, "weightDevice", f, sizeof(f), err);
		if (!e || parse_major_minor(e, f, &w->major, &w->minor, err) < 0 ||
		    res_u64(e, f, "weight", UINT16_MAX, &w->weight, err) < 0 ||
		    res_u64(e, f, "leafWeight", UINT16_MAX, &w->leaf_weight, err) < 0)
			return -1;
		if (!w->weight.set && !w->leaf_weight.set)
			return vs_json_fail(err, f, NULL, "needs weight or leafWeight");
	}
	static const char *const keys[VS_THROTTLE_KINDS] = { "throttleReadBpsDevice",
							     "throttleWriteBpsDevice",
							     "throttleReadIOPSDevice",
							     "throttleWriteIOPSDevice" };
	for (int k = 0; k < VS_THROTTLE_KINDS; k++) {
		if (res_array(b, W, keys[k], sizeof(vs_res_throttle),
			      (void **)&r->blkio.throttle[k], &r->blkio.n_throttle[k], &arr,
			      err) < 0)
			return -1;
		for (size_t i = 0; i < r->blkio.n_throttle[k]; i++) {
			vs_res_throttle *t = &r->blkio.throttle[k][i];
			char f[300];
			json_object *e = element(arr, i, W, keys[k], f, sizeof(f), err);
			vs_res_u64 rate = { 0 };
			if (!e || parse_major_minor(e, f, &t->major, &t->minor, err) < 0 ||
			    res_u64(e, f, "rate", UINT64_MAX, &rate, err) < 0)
				return -1;
			if (!rate.set)
				return vs_json_fail(err, f, NULL, "rate is required");
			t->rate = rate.v;
		}
	}
	return 0;
}

/* "2MB", "64KB", "1GB": digits then a unit, as the kernel names hugetlb files. */
static int parse_hugepages(json_object *o, const char *W, vs_resources *r, vs_err *err)
{
	json_object *arr;
	if (res_array(o, W, "hugepageLimits", sizeof(vs_res_hugepage), (void **)&r->hugepages,
		      &r->n_hugepages, &arr, err) < 0)
		return -1;
	for (size_t i = 0; i < r->n_hugepages; i++) {
		char f[300];
		json_object *e = element(arr, i, W, "hugepageLimits", f, sizeof(f), err);
		if (!e)
			return -1;
		const char *size = NULL;
		vs_res_u64 limit = { 0 };
		if (vs_json_get_cstr(e, f, "pageSize", &size, err) < 0 ||
		    res_u64(e, f, "limit", UINT64_MAX, &limit, err) < 0)
			return -1;
		size_t d = size ? strspn(size, "0123456789") : 0;
		bool ok = size && d > 0 && strlen(size) < sizeof(r->hugepages[i].page_size) &&
			  (!strcmp(size + d, "KB") || !strcmp(size + d, "MB") ||
			   !strcmp(size + d, "GB") || !strcmp(size + d, "TB") ||
			   !strcmp(size + d, "PB"));
		if (!ok)
			return vs_json_fail(err, f, NULL,
					    "pageSize must look like \"2MB\", \"64KB\" or \"1GB\"");
		snprintf(r->hugepages[i].page_size, sizeof(r->hugepages[i].page_size), "%s", size);
		if (!limit.set)
			return vs_json_fail(err, f, NULL, "limit is required");
		r->hugepages[i].limit = limit.v;
	}
	return 0;
}

static int parse_network(json_object *n, const char *W, vs_resources *r, vs_err *err)
{
	if (res_u64(n, W, "classID", UINT32_MAX, &r->network.class_id, err) < 0)
		return -1;
	json_object *arr;
	if (res_array(n, W, "priorities", sizeof(vs_res_netprio), (void **)&r->network.priorities,
		      &r->network.n_priorities, &arr, err) < 0)
		return -1;
	for (size_t i = 0; i < r->network.n_priorities; i++) {
		char f[300];
		json_object *e = element(arr, i, W, "priorities", f, sizeof(f), err);
		if (!e)
			return -1;
		const char *name = NULL;
		vs_res_u64 prio = { 0 };
		if (vs_json_get_cstr(e, f, "name", &name, err) < 0 ||
		    res_u64(e, f, "priority", UINT32_MAX, &prio, err) < 0)
			return -1;
		bool ok = name && name[0] && strlen(name) < sizeof(r->network.priorities[i].name) &&
			  !strpbrk(name, " \n/");
		if (!ok)
			return vs_json_fail(err, f, NULL, "name must be an interface name");
		snprintf(r->network.priorities[i].name, sizeof(r->network.priorities[i].name), "%s",
			 name);
		if (!prio.set)
			return vs_json_fail(err, f, NULL, "priority is required");
		r->network.priorities[i].priority = (uint32_t)prio.v;
	}
	return 0;
}

static int parse_rdma(json_object *o, const char *W, vs_resources *r, vs_err *err)
{
	size_t n = (size_t)json_object_object_length(o);
	r->rdma = calloc(n ? n : 1, sizeof(vs_res_rdma));
	if (!r->rdma)
		return vs_fail(err, ENOMEM, "%s", W);
	json_object_object_foreach(o, key, val)
	{
		vs_res_rdma *d = &r->rdma[r->n_rdma++];
		char f[300];
		vs_json_path(f, sizeof(f), W, key);
		if (strlen(key) >= sizeof(d->device) || !key[0] || strpbrk(key, " \n/"))
			return vs_json_fail(err, f, NULL, "not a device name");
		snprintf(d->device, sizeof(d->device), "%s", key);
		if (!json_object_is_type(val, json_type_object))
			return vs_json_fail(err, f, NULL, "expected an object");
		if (res_u64(val, f, "hcaHandles", UINT32_MAX, &d->hca_handles, err) < 0 ||
		    res_u64(val, f, "hcaObjects", UINT32_MAX, &d->hca_objects, err) < 0)
			return -1;
		if (!d->hca_handles.set && !d->hca_objects.set)
			return vs_json_fail(err, f, NULL, "needs hcaHandles or hcaObjects");
	}
	return 0;
}

static int parse_unified(json_object *o, const char *W, vs_resources *r, vs_err *err)
{
	size_t n = (size_t)json_object_object_length(o);
	r->unified = calloc(n ? n : 1, sizeof(vs_res_kv));
	if (!r->unified)
		return vs_fail(err, ENOMEM, "%s", W);
	json_object_object_foreach(o, key, val)
	{
		/* A key names one file of the container's own cgroup, nothing else. */
		if (!key[0] || strchr(key, '/') || !strchr(key, '.') || key[0] == '.')
			return vs_json_fail(err, W, key,
					    "keys must be file names of the form CONTROLLER.KEY");
		if (!json_object_is_type(val, json_type_string))
			return vs_json_fail(err, W, key, "expected a string");
		vs_res_kv *kv = &r->unified[r->n_unified++];
		kv->key = strdup(key);
		kv->value = strdup(json_object_get_string(val));
		if (!kv->key || !kv->value)
			return vs_json_fail(err, W, key, "out of memory");
	}
	return 0;
}

static int parse_devices(json_object *o, const char *W, vs_resources *r, vs_err *err)
{
	json_object *arr;
	int rc = res_array(o, W, "devices", sizeof(vs_res_device), (void **)&r->devices,
			   &r->n_devices, &arr, err);
	if (rc < 0)
		return -1;
	r->has_devices = rc > 0;
	for (size_t i = 0; i < r->n_devices; i++) {
		vs_res_device *d = &r->devices[i];
		char f[300];
		json_object *e = element(arr, i, W, "devices", f, sizeof(f), err);
		if (!e)
			return -1;
		vs_res_bool allow = { 0 };
		if (res_bool(e, f, "allow", &allow, err) < 0)
			return -1;
		if (!allow.set)
			return vs_json_fail(err, f, NULL, "allow is required");
		d->allow = allow.v;
		const char *type = NULL, *access = NULL;
		if (vs_json_get_cstr(e, f, "type", &type, err) < 0)
			return -1;
		if (type && (strlen(type) != 1 || !strchr("acb", type[0])))
			return vs_json_fail(err, f, "type", "must be \"a\", \"c\" or \"b\"");
		d->type = type ? type[0] : 'a';
		vs_res_i64 ma = { 0 }, mi = { 0 };
		if (res_i64(e, f, "major", &ma, err) < 0 || res_i64(e, f, "minor", &mi, err) < 0)
			return -1;
		/* Absent (or -1, as some configs write it) means "*". */
		d->major = ma.set ? ma.v : -1;
		d->minor = mi.set ? mi.v : -1;
		if (d->major < -1 || d->minor < -1 || d->major > UINT32_MAX ||
		    d->minor > UINT32_MAX)
			return vs_json_fail(err, f, NULL, "major and minor must be device numbers");
		if (vs_json_get_cstr(e, f, "access", &access, err) < 0)
			return -1;
		const char *a = access ? access : "rwm";
		if (strlen(a) > 3 || strspn(a, "rwm") != strlen(a))
			return vs_json_fail(err, f, "access",
					    "must combine \"r\", \"w\" and \"m\"");
		/* Normalised order so v1 and the eBPF program see the same set. */
		size_t k = 0;
		for (const char *c = "rwm"; *c; c++)
			if (strchr(a, *c))
				d->access[k++] = *c;
		d->access[k] = '\0';
	}
	return 0;
}

/* One object member of linux.resources, parsed by fn under its full name. */
static int section(json_object *obj, const char *what, const char *key,
		   int (*fn)(json_object *, const char *, vs_resources *, vs_err *),
		   vs_resources *r, vs_err *err)
{
	json_object *o;
	int rc = vs_json_get_object(obj, what, key, &o, err);
	if (rc <= 0)
		return rc;
	char w[256];
	return fn(o, vs_json_path(w, sizeof(w), what, key), r, err);
}

static int parse_pids(json_object *o, const char *W, vs_resources *r, vs_err *err)
{
	return res_i64(o, W, "limit", &r->pids.limit, err);
}

int vs_resources_parse(json_object *obj, const char *what, vs_resources *r, vs_err *err)
{
	memset(r, 0, sizeof(*r));
	if (!obj)
		return 0;
	if (!json_object_is_type(obj, json_type_object))
		return vs_fail(err, 0, "%s: expected an object", what);
	if (section(obj, what, "memory", parse_memory, r, err) < 0 ||
	    section(obj, what, "cpu", parse_cpu, r, err) < 0 ||
	    section(obj, what, "pids", parse_pids, r, err) < 0 ||
	    section(obj, what, "blockIO", parse_blkio, r, err) < 0 ||
	    parse_hugepages(obj, what, r, err) < 0 ||
	    section(obj, what, "network", parse_network, r, err) < 0 ||
	    section(obj, what, "rdma", parse_rdma, r, err) < 0 ||
	    section(obj, what, "unified", parse_unified, r, err) < 0 ||
	    parse_devices(obj, what, r, err) < 0) {
		vs_resources_clear(r);
		return -1;
	}
	return 0;
}

void vs_resources_clear(vs_resources *r)
{
	free(r->cpu.cpus);
	free(r->cpu.mems);
	free(r->blkio.weight_devices);
	for (int k = 0; k < VS_THROTTLE_KINDS; k++)
		free(r->blkio.throttle[k]);
	free(r->hugepages);
	free(r->network.priorities);
	free(r->rdma);
	for (size_t i = 0; i < r->n_unified; i++) {
		free(r->unified[i].key);
		free(r->unified[i].value);
	}
	free(r->unified);
	free(r->devices);
	memset(r, 0, sizeof(*r));
}
