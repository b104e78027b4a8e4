/* linux.resources JSON -> vs_resources, with type and range checks. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/resources.h"

/* snprintf for field names in messages: truncation there is harmless. */
static void fld(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fld(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

typedef struct pctx {
	const char *what; /* "config.json: linux.resources" */
	vs_err *err;
} pctx;

static int bad(pctx *p, const char *field, const char *msg)
{
	return vs_fail(p->err, 0, "%s.%s: %s", p->what, field, msg);
}

static json_object *member(json_object *o, const char *key)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

static int get_i64(pctx *p, json_object *o, const char *key, const char *field, vs_res_i64 *out)
{
	json_object *v = member(o, key);
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return bad(p, field, "expected an integer");
	errno = 0;
	int64_t x = json_object_get_int64(v);
	/* json-c keeps values above INT64_MAX as uint64 and clamps get_int64. */
	if (x == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
		return bad(p, field, "value out of range");
	out->set = true;
	out->v = x;
	return 0;
}

static int get_u64(pctx *p, json_object *o, const char *key, const char *field, uint64_t max,
		   vs_res_u64 *out)
{
	json_object *v = member(o, key);
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return bad(p, field, "expected an integer");
	if (json_object_get_int64(v) < 0)
		return bad(p, field, "must not be negative");
	uint64_t x = json_object_get_uint64(v);
	if (x > max) {
		char msg[64];
		snprintf(msg, sizeof(msg), "must be at most %" PRIu64, max);
		return bad(p, field, msg);
	}
	out->set = true;
	out->v = x;
	return 0;
}

static int get_bool(pctx *p, json_object *o, const char *key, const char *field, vs_res_bool *out)
{
	json_object *v = member(o, key);
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return bad(p, field, "expected a boolean");
	out->set = true;
	out->v = json_object_get_boolean(v);
	return 0;
}

static int get_str(pctx *p, json_object *o, const char *key, const char *field, char **out)
{
	json_object *v = member(o, key);
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return bad(p, field, "expected a string");
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : vs_fail(p->err, ENOMEM, "%s.%s", p->what, field);
}

static int get_obj(pctx *p, json_object *o, const char *key, const char *field, json_object **out)
{
	*out = member(o, key);
	if (*out && !json_object_is_type(*out, json_type_object))
		return bad(p, field, "expected an object");
	return 0;
}

/* An array; *n is its length and *out a zeroed allocation of n elements. */
static int get_arr(pctx *p, json_object *o, const char *key, const char *field, size_t elem,
		   void **out, size_t *n, json_object **arr)
{
	*arr = member(o, key);
	*n = 0;
	if (!*arr)
		return 0;
	if (!json_object_is_type(*arr, json_type_array))
		return bad(p, field, "expected an array");
	*n = json_object_array_length(*arr);
	*out = calloc(*n ? *n : 1, elem);
	return *out ? 0 : vs_fail(p->err, ENOMEM, "%s.%s", p->what, field);
}

/* "0-3,5" style lists: digits, commas and dashes only (the kernel parses the rest). */
static int check_list(pctx *p, const char *field, const char *s)
{
	if (!s)
		return 0;
	for (const char *c = s; *c; c++)
		if (!((*c >= '0' && *c <= '9') || *c == ',' || *c == '-' || *c == '\n'))
			return bad(p, field, "expected a list like \"0-3,5\"");
	return 0;
}

static int parse_memory(pctx *p, json_object *m, vs_resources *r)
{
	if (get_i64(p, m, "limit", "memory.limit", &r->memory.limit) < 0 ||
	    get_i64(p, m, "reservation", "memory.reservation", &r->memory.reservation) < 0 ||
	    get_i64(p, m, "swap", "memory.swap", &r->memory.swap) < 0 ||
	    get_i64(p, m, "kernel", "memory.kernel", &r->memory.kernel) < 0 ||
	    get_i64(p, m, "kernelTCP", "memory.kernelTCP", &r->memory.kernel_tcp) < 0 ||
	    get_u64(p, m, "swappiness", "memory.swappiness", 100, &r->memory.swappiness) < 0 ||
	    get_bool(p, m, "disableOOMKiller", "memory.disableOOMKiller",
		     &r->memory.disable_oom_killer) < 0 ||
	    get_bool(p, m, "useHierarchy", "memory.useHierarchy", &r->memory.use_hierarchy) < 0 ||
	    get_bool(p, m, "checkBeforeUpdate", "memory.checkBeforeUpdate",
		     &r->memory.check_before_update) < 0)
		return -1;
	/* -1 means unlimited; other negative values mean nothing. */
	const struct {
		vs_res_i64 *v;
		const char *f;
	} lims[] = { { &r->memory.limit, "memory.limit" },
		     { &r->memory.reservation, "memory.reservation" },
		     { &r->memory.swap, "memory.swap" },
		     { &r->memory.kernel, "memory.kernel" },
		     { &r->memory.kernel_tcp, "memory.kernelTCP" } };
	for (size_t i = 0; i < sizeof(lims) / sizeof(lims[0]); i++)
		if (lims[i].v->set && lims[i].v->v < -1)
			return bad(p, lims[i].f, "must be -1 (unlimited) or a number of bytes");
	if (r->memory.limit.set && r->memory.swap.set && r->memory.limit.v > 0 &&
	    r->memory.swap.v > 0 && r->memory.swap.v < r->memory.limit.v)
		return bad(p, "memory.swap", "is memory+swap and must not be below memory.limit");
	return 0;
}

static int parse_cpu(pctx *p, json_object *c, vs_resources *r)
{
	if (get_u64(p, c, "shares", "cpu.shares", UINT64_MAX, &r->cpu.shares) < 0 ||
	    get_i64(p, c, "quota", "cpu.quota", &r->cpu.quota) < 0 ||
	    get_u64(p, c, "burst", "cpu.burst", UINT64_MAX, &r->cpu.burst) < 0 ||
	    get_u64(p, c, "period", "cpu.period", UINT64_MAX, &r->cpu.period) < 0 ||
	    get_i64(p, c, "realtimeRuntime", "cpu.realtimeRuntime", &r->cpu.realtime_runtime) < 0 ||
	    get_u64(p, c, "realtimePeriod", "cpu.realtimePeriod", UINT64_MAX,
		    &r->cpu.realtime_period) < 0 ||
	    get_str(p, c, "cpus", "cpu.cpus", &r->cpu.cpus) < 0 ||
	    get_str(p, c, "mems", "cpu.mems", &r->cpu.mems) < 0 ||
	    get_i64(p, c, "idle", "cpu.idle", &r->cpu.idle) < 0)
		return -1;
	if (check_list(p, "cpu.cpus", r->cpu.cpus) < 0 ||
	    check_list(p, "cpu.mems", r->cpu.mems) < 0)
		return -1;
	if (r->cpu.idle.set && r->cpu.idle.v != 0 && r->cpu.idle.v != 1)
		return bad(p, "cpu.idle", "must be 0 or 1");
	if (r->cpu.quota.set && r->cpu.quota.v < -1)
		return bad(p, "cpu.quota", "must be -1 (unlimited) or a number of microseconds");
	/* The spec: burst MUST be no larger than a positive quota. */
	if (r->cpu.burst.set && r->cpu.quota.set && r->cpu.quota.v > 0 &&
	    r->cpu.burst.v > (uint64_t)r->cpu.quota.v)
		return bad(p, "cpu.burst", "must not be larger than cpu.quota");
	return 0;
}

static int parse_major_minor(pctx *p, json_object *e, const char *field, int64_t *major,
			     int64_t *minor)
{
	char f[96];
	vs_res_i64 ma = { 0 }, mi = { 0 };
	fld(f, sizeof(f), "%s.major", field);
	if (get_i64(p, e, "major", f, &ma) < 0)
		return -1;
	fld(f, sizeof(f), "%s.minor", field);
	if (get_i64(p, e, "minor", f, &mi) < 0)
		return -1;
	if (!ma.set || !mi.set)
		return bad(p, field, "major and minor are required");
	if (ma.v < 0 || mi.v < 0 || ma.v > UINT32_MAX || mi.v > UINT32_MAX)
		return bad(p, field, "major and minor must be device numbers");
	*major = ma.v;
	*minor = mi.v;
	return 0;
}

static int parse_blkio(pctx *p, json_object *b, vs_resources *r)
{
	if (get_u64(p, b, "weight", "blockIO.weight", UINT16_MAX, &r->blkio.weight) < 0 ||
	    get_u64(p, b, "leafWeight", "blockIO.leafWeight", UINT16_MAX, &r->blkio.leaf_weight) <
		    0)
		return -1;
	json_object *arr;
	if (get_arr(p, b, "weightDevice", "blockIO.weightDevice", sizeof(vs_res_weight_device),
		    (void **)&r->blkio.weight_devices, &r->blkio.n_weight_devices, &arr) < 0)
		return -1;
	for (size_t i = 0; i < r->blkio.n_weight_devices; i++) {
		vs_res_weight_device *w = &r->blkio.weight_devices[i];
		json_object *e = json_object_array_get_idx(arr, i);
		char f[96], f2[112];
		fld(f, sizeof(f), "blockIO.weightDevice[%zu]", i);
		if (!json_object_is_type(e, json_type_object))
			return bad(p, f, "expected an object");
		if (parse_major_minor(p, e, f, &w->major, &w->minor) < 0)
			return -1;
		fld(f2, sizeof(f2), "%s.weight", f);
		if (get_u64(p, e, "weight", f2, UINT16_MAX, &w->weight) < 0)
			return -1;
		fld(f2, sizeof(f2), "%s.leafWeight", f);
		if (get_u64(p, e, "leafWeight", f2, UINT16_MAX, &w->leaf_weight) < 0)
			return -1;
		if (!w->weight.set && !w->leaf_weight.set)
			return bad(p, f, "needs weight or leafWeight");
	}
	static const char *const keys[VS_THROTTLE_KINDS] = { "throttleReadBpsDevice",
							     "throttleWriteBpsDevice",
							     "throttleReadIOPSDevice",
							     "throttleWriteIOPSDevice" };
	for (int k = 0; k < VS_THROTTLE_KINDS; k++) {
		char f[96];
		fld(f, sizeof(f), "blockIO.%s", keys[k]);
		if (get_arr(p, b, keys[k], f, sizeof(vs_res_throttle),
			    (void **)&r->blkio.throttle[k], &r->blkio.n_throttle[k], &arr) < 0)
			return -1;
		for (size_t i = 0; i < r->blkio.n_throttle[k]; i++) {
			vs_res_throttle *t = &r->blkio.throttle[k][i];
			json_object *e = json_object_array_get_idx(arr, i);
			char fi[112], fr[128];
			fld(fi, sizeof(fi), "%s[%zu]", f, i);
			if (!json_object_is_type(e, json_type_object))
				return bad(p, fi, "expected an object");
			if (parse_major_minor(p, e, fi, &t->major, &t->minor) < 0)
				return -1;
			vs_res_u64 rate = { 0 };
			fld(fr, sizeof(fr), "%s.rate", fi);
			if (get_u64(p, e, "rate", fr, UINT64_MAX, &rate) < 0)
				return -1;
			if (!rate.set)
				return bad(p, fi, "rate is required");
			t->rate = rate.v;
		}
	}
	return 0;
}

/* "2MB", "64KB", "1GB": digits then a unit, as the kernel names hugetlb files. */
static int parse_hugepages(pctx *p, json_object *o, vs_resources *r)
{
	json_object *arr;
	if (get_arr(p, o, "hugepageLimits", "hugepageLimits", sizeof(vs_res_hugepage),
		    (void **)&r->hugepages, &r->n_hugepages, &arr) < 0)
		return -1;
	for (size_t i = 0; i < r->n_hugepages; i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		char f[64], f2[80];
		fld(f, sizeof(f), "hugepageLimits[%zu]", i);
		if (!json_object_is_type(e, json_type_object))
			return bad(p, f, "expected an object");
		char *size = NULL;
		vs_res_u64 limit = { 0 };
		fld(f2, sizeof(f2), "%s.pageSize", f);
		if (get_str(p, e, "pageSize", f2, &size) < 0)
			return -1;
		fld(f2, sizeof(f2), "%s.limit", f);
		if (get_u64(p, e, "limit", f2, UINT64_MAX, &limit) < 0) {
			free(size);
			return -1;
		}
		size_t d = size ? strspn(size, "0123456789") : 0;
		bool ok = size && d > 0 && strlen(size) < sizeof(r->hugepages[i].page_size) &&
			  (!strcmp(size + d, "KB") || !strcmp(size + d, "MB") ||
			   !strcmp(size + d, "GB") || !strcmp(size + d, "TB") ||
			   !strcmp(size + d, "PB"));
		if (ok)
			snprintf(r->hugepages[i].page_size, sizeof(r->hugepages[i].page_size), "%s",
				 size);
		free(size);
		if (!ok)
			return bad(p, f, "pageSize must look like \"2MB\", \"64KB\" or \"1GB\"");
		if (!limit.set)
			return bad(p, f, "limit is required");
		r->hugepages[i].limit = limit.v;
	}
	return 0;
}

static int parse_network(pctx *p, json_object *n, vs_resources *r)
{
	if (get_u64(p, n, "classID", "network.classID", UINT32_MAX, &r->network.class_id) < 0)
		return -1;
	json_object *arr;
	if (get_arr(p, n, "priorities", "network.priorities", sizeof(vs_res_netprio),
		    (void **)&r->network.priorities, &r->network.n_priorities, &arr) < 0)
		return -1;
	for (size_t i = 0; i < r->network.n_priorities; i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		char f[64], f2[80];
		fld(f, sizeof(f), "network.priorities[%zu]", i);
		if (!json_object_is_type(e, json_type_object))
			return bad(p, f, "expected an object");
		char *name = NULL;
		vs_res_u64 prio = { 0 };
		fld(f2, sizeof(f2), "%s.name", f);
		if (get_str(p, e, "name", f2, &name) < 0)
			return -1;
		fld(f2, sizeof(f2), "%s.priority", f);
		if (get_u64(p, e, "priority", f2, UINT32_MAX, &prio) < 0) {
			free(name);
			return -1;
		}
		bool ok = name && name[0] && strlen(name) < sizeof(r->network.priorities[i].name) &&
			  !strpbrk(name, " \n/");
		if (ok)
			snprintf(r->network.priorities[i].name,
				 sizeof(r->network.priorities[i].name), "%s", name);
		free(name);
		if (!ok)
			return bad(p, f, "name must be an interface name");
		if (!prio.set)
			return bad(p, f, "priority is required");
		r->network.priorities[i].priority = (uint32_t)prio.v;
	}
	return 0;
}

static int parse_rdma(pctx *p, json_object *o, vs_resources *r)
{
	size_t n = (size_t)json_object_object_length(o);
	r->rdma = calloc(n ? n : 1, sizeof(vs_res_rdma));
	if (!r->rdma)
		return vs_fail(p->err, ENOMEM, "%s.rdma", p->what);
	json_object_object_foreach(o, key, val)
	{
		vs_res_rdma *d = &r->rdma[r->n_rdma++];
		char f[128], f2[160];
		fld(f, sizeof(f), "rdma.%s", key);
		if (strlen(key) >= sizeof(d->device) || !key[0] || strpbrk(key, " \n/"))
			return bad(p, f, "not a device name");
		snprintf(d->device, sizeof(d->device), "%s", key);
		if (!json_object_is_type(val, json_type_object))
			return bad(p, f, "expected an object");
		fld(f2, sizeof(f2), "%s.hcaHandles", f);
		if (get_u64(p, val, "hcaHandles", f2, UINT32_MAX, &d->hca_handles) < 0)
			return -1;
		fld(f2, sizeof(f2), "%s.hcaObjects", f);
		if (get_u64(p, val, "hcaObjects", f2, UINT32_MAX, &d->hca_objects) < 0)
			return -1;
		if (!d->hca_handles.set && !d->hca_objects.set)
			return bad(p, f, "needs hcaHandles or hcaObjects");
	}
	return 0;
}

static int parse_unified(pctx *p, json_object *o, vs_resources *r)
{
	size_t n = (size_t)json_object_object_length(o);
	r->unified = calloc(n ? n : 1, sizeof(vs_res_kv));
	if (!r->unified)
		return vs_fail(p->err, ENOMEM, "%s.unified", p->what);
	json_object_object_foreach(o, key, val)
	{
		char f[300];
		fld(f, sizeof(f), "unified.%s", key);
		/* A key names one file of the container's own cgroup, nothing else. */
		if (!key[0] || strchr(key, '/') || !strchr(key, '.') || key[0] == '.')
			return bad(p, f, "keys must be file names of the form CONTROLLER.KEY");
		if (!json_object_is_type(val, json_type_string))
			return bad(p, f, "expected a string");
		vs_res_kv *kv = &r->unified[r->n_unified++];
		kv->key = strdup(key);
		kv->value = strdup(json_object_get_string(val));
		if (!kv->key || !kv->value)
			return vs_fail(p->err, ENOMEM, "%s.%s", p->what, f);
	}
	return 0;
}

static int parse_devices(pctx *p, json_object *o, vs_resources *r)
{
	json_object *arr;
	if (get_arr(p, o, "devices", "devices", sizeof(vs_res_device), (void **)&r->devices,
		    &r->n_devices, &arr) < 0)
		return -1;
	r->has_devices = arr != NULL;
	for (size_t i = 0; i < r->n_devices; i++) {
		vs_res_device *d = &r->devices[i];
		json_object *e = json_object_array_get_idx(arr, i);
		char f[64], f2[80];
		fld(f, sizeof(f), "devices[%zu]", i);
		if (!json_object_is_type(e, json_type_object))
			return bad(p, f, "expected an object");
		vs_res_bool allow = { 0 };
		fld(f2, sizeof(f2), "%s.allow", f);
		if (get_bool(p, e, "allow", f2, &allow) < 0)
			return -1;
		if (!allow.set)
			return bad(p, f, "allow is required");
		d->allow = allow.v;
		char *type = NULL, *access = NULL;
		fld(f2, sizeof(f2), "%s.type", f);
		if (get_str(p, e, "type", f2, &type) < 0)
			return -1;
		d->type = type ? type[0] : 'a';
		bool type_ok = !type || (strlen(type) == 1 && strchr("acb", type[0]));
		free(type);
		if (!type_ok)
			return bad(p, f2, "must be \"a\", \"c\" or \"b\"");
		vs_res_i64 ma = { 0 }, mi = { 0 };
		fld(f2, sizeof(f2), "%s.major", f);
		if (get_i64(p, e, "major", f2, &ma) < 0)
			return -1;
		fld(f2, sizeof(f2), "%s.minor", f);
		if (get_i64(p, e, "minor", f2, &mi) < 0)
			return -1;
		/* Absent (or -1, as some configs write it) means "*". */
		d->major = ma.set ? ma.v : -1;
		d->minor = mi.set ? mi.v : -1;
		if (d->major < -1 || d->minor < -1 || d->major > UINT32_MAX ||
		    d->minor > UINT32_MAX)
			return bad(p, f, "major and minor must be device numbers");
		fld(f2, sizeof(f2), "%s.access", f);
		if (get_str(p, e, "access", f2, &access) < 0)
			return -1;
		const char *a = access ? access : "rwm";
		bool acc_ok = strlen(a) <= 3 && strspn(a, "rwm") == strlen(a);
		/* Normalised order so v1 and the eBPF program see the same set. */
		size_t k = 0;
		for (const char *c = "rwm"; *c; c++)
			if (strchr(a, *c))
				d->access[k++] = *c;
		d->access[k] = '\0';
		free(access);
		if (!acc_ok)
			return bad(p, f2, "must combine \"r\", \"w\" and \"m\"");
	}
	return 0;
}

int vs_resources_parse(json_object *obj, const char *what, vs_resources *r, vs_err *err)
{
	memset(r, 0, sizeof(*r));
	pctx p = { .what = what, .err = err };
	if (!obj)
		return 0;
	if (!json_object_is_type(obj, json_type_object))
		return vs_fail(err, 0, "%s: expected an object", what);
	json_object *o;
	if (get_obj(&p, obj, "memory", "memory", &o) < 0 || (o && parse_memory(&p, o, r) < 0))
		goto fail;
	if (get_obj(&p, obj, "cpu", "cpu", &o) < 0 || (o && parse_cpu(&p, o, r) < 0))
		goto fail;
	if (get_obj(&p, obj, "pids", "pids", &o) < 0 ||
	    (o && get_i64(&p, o, "limit", "pids.limit", &r->pids.limit) < 0))
		goto fail;
	if (get_obj(&p, obj, "blockIO", "blockIO", &o) < 0 || (o && parse_blkio(&p, o, r) < 0))
		goto fail;
	if (parse_hugepages(&p, obj, r) < 0)
		goto fail;
	if (get_obj(&p, obj, "network", "network", &o) < 0 || (o && parse_network(&p, o, r) < 0))
		goto fail;
	if (get_obj(&p, obj, "rdma", "rdma", &o) < 0 || (o && parse_rdma(&p, o, r) < 0))
		goto fail;
	if (get_obj(&p, obj, "unified", "unified", &o) < 0 || (o && parse_unified(&p, o, r) < 0))
		goto fail;
	if (parse_devices(&p, obj, r) < 0)
		goto fail;
	return 0;
fail:
	vs_resources_clear(r);
	return -1;
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

int vs_resources_container_devices(vs_resources *r, const vs_res_device_node *extra, size_t n_extra,
				   vs_err *err)
{
	/* runc's AllowedDevices / crun's default_devices. */
	static const vs_res_device defaults[] = {
		{ true, 'c', -1, -1, "m" }, { true, 'b', -1, -1, "m" },
		{ true, 'c', 1, 3, "rwm" }, { true, 'c', 1, 8, "rwm" },
		{ true, 'c', 1, 7, "rwm" }, { true, 'c', 5, 0, "rwm" },
		{ true, 'c', 1, 5, "rwm" }, { true, 'c', 1, 9, "rwm" },
		{ true, 'c', 5, 1, "rwm" }, { true, 'c', 136, -1, "rwm" },
		{ true, 'c', 5, 2, "rwm" }, { true, 'c', 10, 200, "rwm" },
	};
	size_t nd = sizeof(defaults) / sizeof(defaults[0]);
	size_t total = 1 + r->n_devices + n_extra + nd;
	vs_res_device *v = calloc(total, sizeof(*v));
	if (!v)
		return vs_fail(err, ENOMEM, "device rules");
	size_t k = 0;
	v[k++] = (vs_res_device){ false, 'a', -1, -1, "rwm" };
	for (size_t i = 0; i < r->n_devices; i++)
		v[k++] = r->devices[i];
	for (size_t i = 0; i < n_extra; i++) {
		/* linux.devices of type 'u' are character devices ("unbuffered"). */
		char t = extra[i].type == 'b' ? 'b' : 'c';
		if (extra[i].type == 'p')
			continue; /* FIFOs are not device-controlled */
		v[k++] = (vs_res_device){ true, t, extra[i].major, extra[i].minor, "rwm" };
	}
	for (size_t i = 0; i < nd; i++)
		v[k++] = defaults[i];
	free(r->devices);
	r->devices = v;
	r->n_devices = k;
	r->has_devices = true;
	return 0;
}
