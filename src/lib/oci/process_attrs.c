/* linux.personality, process.scheduler, process.ioPriority and
 * linux.memoryPolicy (runtime-spec 1.2/1.3) into vs_process_attrs. Values
 * the kernel would refuse, or would silently ignore, are refused here with
 * their key path, before create touches the host. */
#include "oci/process_attrs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>

#include "core/json.h"

/* Kernel ABI numbers, spelled out: Debian 12's uapi headers predate
 * MPOL_WEIGHTED_INTERLEAVE and <linux/sched.h> clashes with <sched.h>. */
enum { V_SCHED_OTHER, V_SCHED_FIFO, V_SCHED_RR, V_SCHED_BATCH, V_SCHED_IDLE = 5, V_SCHED_DEADLINE };
enum {
	V_MPOL_DEFAULT,
	V_MPOL_PREFERRED,
	V_MPOL_BIND,
	V_MPOL_INTERLEAVE,
	V_MPOL_LOCAL,
	V_MPOL_PREFERRED_MANY,
	V_MPOL_WEIGHTED_INTERLEAVE
};
#define V_MPOL_F_STATIC_NODES	(1 << 15)
#define V_MPOL_F_RELATIVE_NODES (1 << 14)
#define V_MPOL_F_NUMA_BALANCING (1 << 13)
#define V_IOPRIO_CLASS_SHIFT	13

static const vs_json_enum domains[] = {
	{ "LINUX", PER_LINUX },
	{ "LINUX32", PER_LINUX32 },
	{ NULL, 0 },
};

static const vs_json_enum policies[] = {
	{ "SCHED_OTHER", V_SCHED_OTHER },
	{ "SCHED_FIFO", V_SCHED_FIFO },
	{ "SCHED_RR", V_SCHED_RR },
	{ "SCHED_BATCH", V_SCHED_BATCH },
	{ "SCHED_IDLE", V_SCHED_IDLE },
	{ "SCHED_DEADLINE", V_SCHED_DEADLINE },
	{ NULL, 0 },
};

/* SCHED_FLAG_UTIL_CLAMP_MIN/MAX are left out on purpose: the spec carries
 * no clamp values, so the kernel would clamp to 0. */
static const vs_json_enum sched_flags[] = {
	{ "SCHED_FLAG_RESET_ON_FORK", 0x01 }, { "SCHED_FLAG_RECLAIM", 0x02 },
	{ "SCHED_FLAG_DL_OVERRUN", 0x04 },    { "SCHED_FLAG_KEEP_POLICY", 0x08 },
	{ "SCHED_FLAG_KEEP_PARAMS", 0x10 },   { NULL, 0 },
};

static const vs_json_enum io_classes[] = {
	{ "IOPRIO_CLASS_RT", 1 },
	{ "IOPRIO_CLASS_BE", 2 },
	{ "IOPRIO_CLASS_IDLE", 3 },
	{ NULL, 0 },
};

static const vs_json_enum mpol_modes[] = {
	{ "MPOL_DEFAULT", V_MPOL_DEFAULT },
	{ "MPOL_BIND", V_MPOL_BIND },
	{ "MPOL_INTERLEAVE", V_MPOL_INTERLEAVE },
	{ "MPOL_WEIGHTED_INTERLEAVE", V_MPOL_WEIGHTED_INTERLEAVE },
	{ "MPOL_PREFERRED", V_MPOL_PREFERRED },
	{ "MPOL_PREFERRED_MANY", V_MPOL_PREFERRED_MANY },
	{ "MPOL_LOCAL", V_MPOL_LOCAL },
	{ NULL, 0 },
};

static const vs_json_enum mpol_flags[] = {
	{ "MPOL_F_STATIC_NODES", V_MPOL_F_STATIC_NODES },
	{ "MPOL_F_RELATIVE_NODES", V_MPOL_F_RELATIVE_NODES },
	{ "MPOL_F_NUMA_BALANCING", V_MPOL_F_NUMA_BALANCING },
	{ NULL, 0 },
};

/* where.key, which must be an object with a required string member `req`. */
static int section(json_object *parent, const char *where, const char *key, const char *req,
		   json_object **out, char *name, size_t len, vs_err *err)
{
	int rc = vs_json_get_object(parent, where, key, out, err);
	if (rc <= 0)
		return rc;
	vs_json_path(name, len, where, key);
	if (!vs_json_member(*out, req))
		return vs_json_fail(err, name, req, "required");
	return 1;
}

/* An array of names from table, OR'ed into *bits; a duplicate is refused. */
static int name_bits(json_object *o, const char *where, const char *key, const vs_json_enum *table,
		     const char *noun, uint64_t *bits, vs_err *err)
{
	json_object *arr;
	int rc = vs_json_get_array(o, where, key, &arr, err);
	if (rc <= 0)
		return rc;
	char name[160];
	vs_json_path(name, sizeof(name), where, key);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		char what[176];
		int64_t v;
		vs_json_index(what, sizeof(what), name, i);
		if (vs_json_as_enum(json_object_array_get_idx(arr, i), what, table, noun, &v, err) <
		    0)
			return -1;
		if (*bits & (uint64_t)v)
			return vs_fail(err, 0, "%s: duplicate flag \"%s\"", what,
				       json_object_get_string(json_object_array_get_idx(arr, i)));
		*bits |= (uint64_t)v;
	}
	return 1;
}

static int parse_personality(json_object *linux_, vs_process_attrs *a, vs_err *err)
{
	char w[64];
	json_object *o;
	int rc = section(linux_, "config.json: linux", "personality", "domain", &o, w, sizeof(w),
			 err);
	if (rc <= 0)
		return rc;
	int64_t v;
	if (vs_json_get_enum(o, w, "domain", domains, "domain", &v, err) < 0)
		return -1;
	json_object *flags;
	if (vs_json_get_array(o, w, "flags", &flags, err) < 0)
		return -1;
	/* runc supports no personality flags either: refuse each by name. */
	for (size_t i = 0; flags && i < json_object_array_length(flags); i++) {
		char f[96], base[80];
		vs_json_index(f, sizeof(f), vs_json_path(base, sizeof(base), w, "flags"), i);
		json_object *e = json_object_array_get_idx(flags, i);
		if (!json_object_is_type(e, json_type_string))
			return vs_json_fail(err, f, NULL, "expected a string");
		return vs_json_fail(err, f, NULL, "\"%s\" is not supported by vessel",
				    json_object_get_string(e));
	}
	a->has_personality = true;
	a->personality = (unsigned long)v;
	return 0;
}

/* As runc validates: nice for the fair policies, priority for the realtime
 * ones, runtime/deadline/period for SCHED_DEADLINE only; a value the kernel
 * would ignore for the policy is refused. */
static int parse_scheduler(json_object *process, vs_process_attrs *a, vs_err *err)
{
	char w[64];
	json_object *o;
	int rc = section(process, "config.json: process", "scheduler", "policy", &o, w, sizeof(w),
			 err);
	if (rc <= 0)
		return rc;
	int64_t policy, nice = 0, prio = 0;
	uint64_t flags = 0, runtime = 0, deadline = 0, period = 0;
	if (vs_json_get_enum(o, w, "policy", policies, "policy", &policy, err) < 0 ||
	    vs_json_get_int(o, w, "nice", -20, 19, &nice, err) < 0 ||
	    vs_json_get_int(o, w, "priority", 0, 99, &prio, err) < 0 ||
	    name_bits(o, w, "flags", sched_flags, "flag", &flags, err) < 0 ||
	    vs_json_get_u64(o, w, "runtime", INT64_MAX, &runtime, err) < 0 ||
	    vs_json_get_u64(o, w, "deadline", INT64_MAX, &deadline, err) < 0 ||
	    vs_json_get_u64(o, w, "period", INT64_MAX, &period, err) < 0)
		return -1;
	bool fair = policy == V_SCHED_OTHER || policy == V_SCHED_BATCH || policy == V_SCHED_IDLE;
	bool rt = policy == V_SCHED_FIFO || policy == V_SCHED_RR;
	bool dl = policy == V_SCHED_DEADLINE;
	const char *pname = json_object_get_string(vs_json_member(o, "policy"));
	if (nice && !fair)
		return vs_json_fail(err, w, "nice",
				    "only SCHED_OTHER, SCHED_BATCH and SCHED_IDLE take a nice "
				    "value, not %s",
				    pname);
	if (prio && !rt)
		return vs_json_fail(err, w, "priority",
				    "only SCHED_FIFO and SCHED_RR take a priority, not %s", pname);
	if (rt && prio < 1)
		return vs_json_fail(err, w, "priority", "%s needs a priority in [1, 99]", pname);
	if (!dl && (runtime || deadline || period))
		return vs_json_fail(err, w,
				    runtime    ? "runtime"
				    : deadline ? "deadline"
					       : "period",
				    "only SCHED_DEADLINE takes runtime, deadline and period, not "
				    "%s",
				    pname);
	if (dl) {
		/* The kernel's admission rules: runtime >= 2^10 ns, and
		 * runtime <= deadline <= period (period 0 means deadline). */
		if (runtime < 1024)
			return vs_json_fail(err, w, "runtime",
					    "SCHED_DEADLINE needs a runtime of at least 1024 ns");
		if (deadline < runtime)
			return vs_json_fail(err, w, "deadline", "must not be below runtime");
		if (period && period < deadline)
			return vs_json_fail(err, w, "period", "must not be below deadline");
	}
	if ((flags & 0x06) && !dl)
		return vs_json_fail(err, w, "flags",
				    "SCHED_FLAG_RECLAIM and SCHED_FLAG_DL_OVERRUN need "
				    "SCHED_DEADLINE");
	a->has_scheduler = true;
	a->sched_policy = (uint32_t)policy;
	a->sched_nice = (int32_t)nice;
	a->sched_priority = (uint32_t)prio;
	a->sched_flags = flags;
	a->sched_runtime = runtime;
	a->sched_deadline = deadline;
	a->sched_period = period;
	return 0;
}

static int parse_io_priority(json_object *process, vs_process_attrs *a, vs_err *err)
{
	char w[64];
	json_object *o;
	int rc = section(process, "config.json: process", "ioPriority", "class", &o, w, sizeof(w),
			 err);
	if (rc <= 0)
		return rc;
	int64_t cls, level = 0;
	if (vs_json_get_enum(o, w, "class", io_classes, "class", &cls, err) < 0 ||
	    vs_json_get_int(o, w, "priority", 0, 7, &level, err) < 0)
		return -1;
	a->has_io_priority = true;
	a->ioprio = (int)(cls << V_IOPRIO_CLASS_SHIFT | level);
	return 0;
}

/* "0-3,5" into a node mask; every node below VS_MPOL_MAX_NODES. */
static int parse_nodes(const char *s, const char *w, vs_process_attrs *a, vs_err *err)
{
	const char *p = s;
	while (*p) {
		char *end;
		if (*p < '0' || *p > '9')
			goto bad;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;
		if (*end == '-') {
			if (end[1] < '0' || end[1] > '9')
				goto bad;
			hi = strtoul(end + 1, &end, 10);
		}
		if (hi < lo)
			goto bad;
		if (hi >= VS_MPOL_MAX_NODES)
			return vs_json_fail(err, w, "nodes", "node %lu is above %d", hi,
					    VS_MPOL_MAX_NODES - 1);
		for (unsigned long n = lo; n <= hi; n++)
			a->mpol_nodes[n / (8 * sizeof(unsigned long))] |=
				1UL << (n % (8 * sizeof(unsigned long)));
		a->mpol_has_nodes = true;
		if (*end == ',' && end[1])
			end++;
		else if (*end)
			goto bad;
		p = end;
	}
	return 0;
bad:
	return vs_json_fail(err, w, "nodes", "\"%s\" is not a node list like \"0-3,5\"", s);
}

/* The kernel's rules (mm/mempolicy.c, mpol_new and sanitize_mpol_flags),
 * checked here so a bad policy fails create with its key path. */
static int parse_memory_policy(json_object *linux_, vs_process_attrs *a, vs_err *err)
{
	char w[64];
	json_object *o;
	int rc = section(linux_, "config.json: linux", "memoryPolicy", "mode", &o, w, sizeof(w),
			 err);
	if (rc <= 0)
		return rc;
	int64_t mode;
	uint64_t flags = 0;
	const char *nodes = NULL;
	if (vs_json_get_enum(o, w, "mode", mpol_modes, "mode", &mode, err) < 0 ||
	    vs_json_get_cstr(o, w, "nodes", &nodes, err) < 0 ||
	    name_bits(o, w, "flags", mpol_flags, "flag", &flags, err) < 0)
		return -1;
	if (nodes && parse_nodes(nodes, w, a, err) < 0)
		return -1;
	const char *mname = json_object_get_string(vs_json_member(o, "mode"));
	if ((flags & V_MPOL_F_STATIC_NODES) && (flags & V_MPOL_F_RELATIVE_NODES))
		return vs_json_fail(err, w, "flags",
				    "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each "
				    "other");
	if ((flags & V_MPOL_F_NUMA_BALANCING) && mode != V_MPOL_BIND &&
	    mode != V_MPOL_PREFERRED_MANY)
		return vs_json_fail(err, w, "flags",
				    "MPOL_F_NUMA_BALANCING needs MPOL_BIND or MPOL_PREFERRED_MANY, "
				    "not %s",
				    mname);
	switch (mode) {
	case V_MPOL_DEFAULT:
	case V_MPOL_LOCAL:
		if (a->mpol_has_nodes)
			return vs_json_fail(err, w, "nodes", "%s takes no nodes", mname);
		if (flags)
			return vs_json_fail(err, w, "flags", "%s takes no flags", mname);
		break;
	case V_MPOL_PREFERRED:
		/* No nodes means local allocation, where the node flags mean nothing. */
		if (!a->mpol_has_nodes && flags)
			return vs_json_fail(err, w, "flags",
					    "MPOL_PREFERRED without nodes takes "
					    "no flags");
		break;
	default:
		if (!a->mpol_has_nodes)
			return vs_json_fail(err, w, "nodes", "%s needs at least one node", mname);
	}
	a->has_mem_policy = true;
	a->mpol_mode = (int)(mode | (int64_t)flags);
	return 0;
}

int vs_process_attrs_parse(json_object *process, json_object *linux_, vs_process_attrs *out,
			   vs_err *err)
{
	vs_process_attrs a = { 0 };
	if (parse_personality(linux_, &a, err) < 0 || parse_scheduler(process, &a, err) < 0 ||
	    parse_io_priority(process, &a, err) < 0 || parse_memory_policy(linux_, &a, err) < 0)
		return -1;
	*out = a;
	return 0;
}

bool vs_process_attrs_need_limits_first(const vs_process_attrs *a)
{
	return a->has_scheduler &&
	       (a->sched_policy == V_SCHED_FIFO || a->sched_policy == V_SCHED_RR);
}

static json_object *names_of(const vs_json_enum *t)
{
	json_object *a = json_object_new_array();
	for (; t->name; t++)
		json_object_array_add(a, json_object_new_string(t->name));
	return a;
}

static void annotate(json_object *ann, const char *key, const vs_json_enum *t)
{
	char buf[512] = "";
	size_t off = 0;
	for (; t->name && off < sizeof(buf); t++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", off ? "," : "",
					t->name);
	json_object_object_add(ann, key, json_object_new_string(buf));
}

void vs_process_attrs_features(json_object *lx, json_object *ann)
{
	/* features-linux.md defines memoryPolicy {modes, flags}; the others
	 * have no features entry, so they go to annotations, comma separated. */
	json_object *mp = json_object_new_object();
	json_object_object_add(mp, "modes", names_of(mpol_modes));
	json_object_object_add(mp, "flags", names_of(mpol_flags));
	json_object_object_add(lx, "memoryPolicy", mp);
	annotate(ann, "io.vessel.linux.personality.domains", domains);
	annotate(ann, "io.vessel.process.scheduler.policies", policies);
	annotate(ann, "io.vessel.process.scheduler.flags", sched_flags);
	annotate(ann, "io.vessel.process.ioPriority.classes", io_classes);
}
