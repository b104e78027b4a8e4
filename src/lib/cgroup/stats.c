/* runc-compatible statistics. Field names and omit-if-zero rules follow
 * runc's types/events.go (Go's omitempty), so tools parsing runc's output
 * parse ours. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/internal.h"
#include "cgroup/stats.h"
#include "core/cleanup.h"

static void put_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

/* omitempty */
static void put_u64_nz(json_object *o, const char *key, uint64_t v)
{
	if (v)
		put_u64(o, key, v);
}

static uint64_t rd(const char *dir, const char *file)
{
	uint64_t v = 0;
	if (dir && vs_cg_read_u64(dir, file, &v) < 0)
		v = 0;
	return v;
}

static uint64_t rdk(const char *dir, const char *file, const char *key)
{
	uint64_t v = 0;
	if (dir && vs_cg_read_key(dir, file, key, &v) < 0)
		v = 0;
	return v;
}

/* Space separated numbers into a JSON array (omitted when empty). */
static void put_list(json_object *o, const char *key, const char *text)
{
	if (!text)
		return;
	json_object *a = json_object_new_array();
	for (const char *p = text; *p;) {
		char *end;
		unsigned long long v = strtoull(p, &end, 10);
		if (end == p)
			break;
		json_object_array_add(a, json_object_new_uint64(v));
		p = end + strspn(end, " \n");
	}
	if (json_object_array_length(a))
		json_object_object_add(o, key, a);
	else
		json_object_put(a);
}

static void cpu_v1(json_object *cpu, json_object *usage, json_object *thr, const char *acct,
		   const char *cdir)
{
	put_u64_nz(usage, "total", rd(acct, "cpuacct.usage"));
	vs_autofree char *percpu = acct ? vs_cg_read(acct, "cpuacct.usage_percpu") : NULL;
	put_list(usage, "percpu", percpu);
	/* cpuacct.usage_all: "cpu user system" then one line per cpu. */
	vs_autofree char *all = acct ? vs_cg_read(acct, "cpuacct.usage_all") : NULL;
	if (all) {
		json_object *k = json_object_new_array(), *u = json_object_new_array();
		char *save = NULL;
		for (char *l = strtok_r(all, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			unsigned long long c, us, sy;
			if (sscanf(l, "%llu %llu %llu", &c, &us, &sy) == 3) {
				json_object_array_add(k, json_object_new_uint64(sy));
				json_object_array_add(u, json_object_new_uint64(us));
			}
		}
		json_object_object_add(usage, "percpu_kernel", k);
		json_object_object_add(usage, "percpu_user", u);
	}
	/* cpuacct.stat is in USER_HZ ticks; runc reports nanoseconds. */
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100;
	put_u64(usage, "kernel",
		rdk(acct, "cpuacct.stat", "system") * 1000000000ULL / (uint64_t)hz);
	put_u64(usage, "user", rdk(acct, "cpuacct.stat", "user") * 1000000000ULL / (uint64_t)hz);
	put_u64_nz(thr, "periods", rdk(cdir, "cpu.stat", "nr_periods"));
	put_u64_nz(thr, "throttledPeriods", rdk(cdir, "cpu.stat", "nr_throttled"));
	put_u64_nz(thr, "throttledTime", rdk(cdir, "cpu.stat", "throttled_time"));
	(void)cpu;
}

static void cpu_v2(json_object *usage, json_object *thr, const char *dir)
{
	put_u64_nz(usage, "total", rdk(dir, "cpu.stat", "usage_usec") * 1000);
	put_u64(usage, "kernel", rdk(dir, "cpu.stat", "system_usec") * 1000);
	put_u64(usage, "user", rdk(dir, "cpu.stat", "user_usec") * 1000);
	put_u64_nz(thr, "periods", rdk(dir, "cpu.stat", "nr_periods"));
	put_u64_nz(thr, "throttledPeriods", rdk(dir, "cpu.stat", "nr_throttled"));
	put_u64_nz(thr, "throttledTime", rdk(dir, "cpu.stat", "throttled_usec") * 1000);
}

static json_object *cpu_stats(const vs_cgroup *cg)
{
	json_object *cpu = json_object_new_object(), *usage = json_object_new_object(),
		    *thr = json_object_new_object();
	bool v2 = false, v2a = false;
	const char *cdir = vs_cgroup_dir_of(cg, "cpu", &v2);
	const char *acct = vs_cgroup_dir_of(cg, "cpuacct", &v2a);
	if (acct && !v2a)
		cpu_v1(cpu, usage, thr, acct, cdir && !v2 ? cdir : NULL);
	else if (vs_cgroup_v2_dir(cg))
		/* cpu.stat's usage lines exist in every cgroup2 cgroup. */
		cpu_v2(usage, thr, cdir && v2 ? cdir : vs_cgroup_v2_dir(cg));
	else {
		put_u64(usage, "kernel", 0);
		put_u64(usage, "user", 0);
	}
	json_object_object_add(cpu, "usage", usage);
	json_object_object_add(cpu, "throttling", thr);
	return cpu;
}

/* "0-2,5" -> [0,1,2,5] (omitted when empty). */
static void put_cpulist(json_object *o, const char *key, const char *text)
{
	if (!text)
		return;
	json_object *a = json_object_new_array();
	for (const char *p = text; *p && *p != '\n';) {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;
		if (end == p)
			break;
		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		for (unsigned long c = lo; c <= hi && c - lo < 65536; c++)
			json_object_array_add(a, json_object_new_uint64(c));
		p = end + strspn(end, ",");
	}
	if (json_object_array_length(a))
		json_object_object_add(o, key, a);
	else
		json_object_put(a);
}

static json_object *cpuset_stats(const vs_cgroup *cg)
{
	json_object *o = json_object_new_object();
	bool v2 = false;
	const char *dir = vs_cgroup_dir_of(cg, "cpuset", &v2);
	vs_autofree char *cpus =
		dir ? vs_cg_read(dir, v2 ? "cpuset.cpus.effective" : "cpuset.cpus") : NULL;
	vs_autofree char *mems =
		dir ? vs_cg_read(dir, v2 ? "cpuset.mems.effective" : "cpuset.mems") : NULL;
	put_cpulist(o, "cpus", cpus);
	put_u64(o, "cpu_exclusive", v2 ? 0 : rd(dir, "cpuset.cpu_exclusive"));
	put_cpulist(o, "mems", mems);
	static const char *const fields[] = { "mem_hardwall",	    "mem_exclusive",
					      "memory_migrate",	    "memory_spread_page",
					      "memory_spread_slab", "memory_pressure",
					      "sched_load_balance" };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		char file[64];
		snprintf(file, sizeof(file), "cpuset.%s", fields[i]);
		put_u64(o, fields[i], v2 ? 0 : rd(dir, file));
	}
	int64_t relax = 0;
	vs_autofree char *rl =
		dir && !v2 ? vs_cg_read(dir, "cpuset.sched_relax_domain_level") : NULL;
	if (rl)
		relax = strtoll(rl, NULL, 10);
	json_object_object_add(o, "sched_relax_domain_level", json_object_new_int64(relax));
	return o;
}

/* runc's MemoryEntry: limit and failcnt always, usage and max if non-zero. */
static json_object *mem_entry(uint64_t limit, uint64_t usage, uint64_t max, uint64_t failcnt)
{
	json_object *e = json_object_new_object();
	put_u64(e, "limit", limit);
	put_u64_nz(e, "usage", usage);
	put_u64_nz(e, "max", max);
	put_u64(e, "failcnt", failcnt);
	return e;
}

static json_object *v1_mem_entry(const char *dir, const char *prefix)
{
	char f[4][96];
	snprintf(f[0], sizeof(f[0]), "%s.limit_in_bytes", prefix);
	snprintf(f[1], sizeof(f[1]), "%s.usage_in_bytes", prefix);
	snprintf(f[2], sizeof(f[2]), "%s.max_usage_in_bytes", prefix);
	snprintf(f[3], sizeof(f[3]), "%s.failcnt", prefix);
	return mem_entry(rd(dir, f[0]), rd(dir, f[1]), rd(dir, f[2]), rd(dir, f[3]));
}

/* memory.stat: "key value" lines. */
static json_object *raw_stats(const char *dir, uint64_t *cache, const char *cache_key)
{
	json_object *raw = json_object_new_object();
	vs_autofree char *text = dir ? vs_cg_read(dir, "memory.stat") : NULL;
	char *save = NULL;
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l;
	     l = strtok_r(NULL, "\n", &save)) {
		char key[128];
		unsigned long long v;
		if (sscanf(l, "%127s %llu", key, &v) != 2)
			continue;
		put_u64(raw, key, v);
		if (!strcmp(key, cache_key))
			*cache = v;
	}
	return raw;
}

static json_object *memory_stats(const vs_cgroup *cg)
{
	json_object *m = json_object_new_object();
	bool v2 = false;
	const char *dir = vs_cgroup_dir_of(cg, "memory", &v2);
	uint64_t cache = 0;
	json_object *raw = raw_stats(dir, &cache, v2 ? "file" : "cache");
	put_u64_nz(m, "cache", cache);
	if (!dir) {
		json_object_object_add(m, "usage", mem_entry(0, 0, 0, 0));
		json_object_object_add(m, "swap", mem_entry(0, 0, 0, 0));
		json_object_object_add(m, "kernel", mem_entry(0, 0, 0, 0));
		json_object_object_add(m, "kernelTCP", mem_entry(0, 0, 0, 0));
	} else if (!v2) {
		json_object_object_add(m, "usage", v1_mem_entry(dir, "memory"));
		json_object_object_add(m, "swap", v1_mem_entry(dir, "memory.memsw"));
		json_object_object_add(m, "kernel", v1_mem_entry(dir, "memory.kmem"));
		json_object_object_add(m, "kernelTCP", v1_mem_entry(dir, "memory.kmem.tcp"));
	} else {
		uint64_t usage = rd(dir, "memory.current"), limit = rd(dir, "memory.max");
		json_object_object_add(m, "usage",
				       mem_entry(limit, usage, rd(dir, "memory.peak"),
						 rdk(dir, "memory.events", "max")));
		/* v1 reports swap as memory+swap; runc converts v2 to match. */
		uint64_t slimit = rd(dir, "memory.swap.max");
		if (slimit != UINT64_MAX && limit != UINT64_MAX)
			slimit += limit;
		json_object_object_add(m, "swap",
				       mem_entry(slimit, rd(dir, "memory.swap.current") + usage,
						 rd(dir, "memory.swap.peak"),
						 rdk(dir, "memory.swap.events", "max")));
		json_object_object_add(m, "kernel", mem_entry(0, 0, 0, 0));
		json_object_object_add(m, "kernelTCP", mem_entry(0, 0, 0, 0));
	}
	if (json_object_object_length(raw))
		json_object_object_add(m, "raw", raw);
	else
		json_object_put(raw);
	return m;
}

static json_object *pids_stats(const vs_cgroup *cg)
{
	json_object *p = json_object_new_object();
	const char *dir = vs_cgroup_dir_of(cg, "pids", NULL);
	put_u64_nz(p, "current", rd(dir, "pids.current"));
	uint64_t max = rd(dir, "pids.max");
	put_u64_nz(p, "limit", max == UINT64_MAX ? 0 : max);
	return p;
}

/* v1 "8:0 Read 123" lines (skipping the "Total N" summary) into entries. */
static void blkio_v1_file(json_object *blk, const char *key, const char *dir, const char *file)
{
	vs_autofree char *text = vs_cg_read(dir, file);
	json_object *a = json_object_new_array();
	char *save = NULL;
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l;
	     l = strtok_r(NULL, "\n", &save)) {
		unsigned long long ma, mi, v;
		char op[32];
		if (sscanf(l, "%llu:%llu %31s %llu", &ma, &mi, op, &v) != 4)
			continue;
		json_object *e = json_object_new_object();
		put_u64_nz(e, "major", ma);
		put_u64_nz(e, "minor", mi);
		json_object_object_add(e, "op", json_object_new_string(op));
		put_u64_nz(e, "value", v);
		json_object_array_add(a, e);
	}
	if (json_object_array_length(a))
		json_object_object_add(blk, key, a);
	else
		json_object_put(a);
}

/* v2 io.stat "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..." into runc's v1 shape. */
static void blkio_v2(json_object *blk, const char *dir)
{
	vs_autofree char *text = vs_cg_read(dir, "io.stat");
	json_object *bytes = json_object_new_array(), *ios = json_object_new_array();
	char *save = NULL;
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l;
	     l = strtok_r(NULL, "\n", &save)) {
		unsigned long long ma, mi;
		int off = 0;
		if (sscanf(l, "%llu:%llu%n", &ma, &mi, &off) != 2)
			continue;
		static const struct {
			const char *key, *op;
			bool bytes;
		} f[] = { { "rbytes", "Read", true },
			  { "wbytes", "Write", true },
			  { "rios", "Read", false },
			  { "wios", "Write", false } };
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
			char pat[16];
			snprintf(pat, sizeof(pat), " %s=", f[i].key);
			const char *p = strstr(l + off, pat);
			if (!p)
				continue;
			json_object *e = json_object_new_object();
			put_u64_nz(e, "major", ma);
			put_u64_nz(e, "minor", mi);
			json_object_object_add(e, "op", json_object_new_string(f[i].op));
			put_u64_nz(e, "value", strtoull(p + strlen(pat), NULL, 10));
			json_object_array_add(f[i].bytes ? bytes : ios, e);
		}
	}
	if (json_object_array_length(bytes))
		json_object_object_add(blk, "ioServiceBytesRecursive", bytes);
	else
		json_object_put(bytes);
	if (json_object_array_length(ios))
		json_object_object_add(blk, "ioServicedRecursive", ios);
	else
		json_object_put(ios);
}

static json_object *blkio_stats(const vs_cgroup *cg)
{
	json_object *b = json_object_new_object();
	bool v2 = false;
	const char *dir = vs_cgroup_dir_of(cg, "blkio", &v2);
	if (dir && !v2) {
		/* CFQ/BFQ files when the scheduler keeps them, else the throttle ones (runc's
		 * choice). */
		vs_autofree char *cfq = vs_cg_read(dir, "blkio.io_serviced_recursive");
		if (cfq && cfq[0] && strncmp(cfq, "Total 0", 7)) {
			blkio_v1_file(b, "ioServiceBytesRecursive", dir,
				      "blkio.io_service_bytes_recursive");
			blkio_v1_file(b, "ioServicedRecursive", dir, "blkio.io_serviced_recursive");
			blkio_v1_file(b, "ioQueueRecursive", dir, "blkio.io_queued_recursive");
			blkio_v1_file(b, "ioServiceTimeRecursive", dir,
				      "blkio.io_service_time_recursive");
			blkio_v1_file(b, "ioWaitTimeRecursive", dir,
				      "blkio.io_wait_time_recursive");
			blkio_v1_file(b, "ioMergedRecursive", dir, "blkio.io_merged_recursive");
			blkio_v1_file(b, "ioTimeRecursive", dir, "blkio.time_recursive");
			blkio_v1_file(b, "sectorsRecursive", dir, "blkio.sectors_recursive");
		} else {
			blkio_v1_file(b, "ioServiceBytesRecursive", dir,
				      "blkio.throttle.io_service_bytes_recursive");
			blkio_v1_file(b, "ioServicedRecursive", dir,
				      "blkio.throttle.io_serviced_recursive");
		}
	} else if ((dir = vs_cgroup_dir_of(cg, "io", &v2))) {
		blkio_v2(b, dir);
	}
	return b;
}

void vs_cgroup_free_strv(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

char **vs_cgroup_hugepage_sizes(void)
{
	char **v = calloc(9, sizeof(char *));
	DIR *d = opendir("/sys/kernel/mm/hugepages");
	if (!v || !d) {
		if (d)
			closedir(d);
		return v;
	}
	size_t n = 0;
	struct dirent *de;
	while (n < 8 && (de = readdir(d))) {
		unsigned long long kb;
		if (sscanf(de->d_name, "hugepages-%llukB", &kb) != 1)
			continue;
		/* 2048kB -> "2MB", 1048576kB -> "1GB", 64kB -> "64KB" */
		static const char *const units[] = { "KB", "MB", "GB", "TB", "PB" };
		int u = 0;
		while (kb >= 1024 && kb % 1024 == 0 && u < 4) {
			kb /= 1024;
			u++;
		}
		char buf[32];
		snprintf(buf, sizeof(buf), "%llu%s", kb, units[u]);
		v[n] = strdup(buf);
		if (v[n])
			n++;
	}
	closedir(d);
	return v;
}

static json_object *hugetlb_stats(const vs_cgroup *cg)
{
	json_object *h = json_object_new_object();
	bool v2 = false;
	const char *dir = vs_cgroup_dir_of(cg, "hugetlb", &v2);
	char **sizes = vs_cgroup_hugepage_sizes();
	for (char **s = sizes; s && *s; s++) {
		char f[3][96];
		json_object *e = json_object_new_object();
		if (v2) {
			snprintf(f[0], sizeof(f[0]), "hugetlb.%s.current", *s);
			snprintf(f[1], sizeof(f[1]), "hugetlb.%s.events", *s);
			put_u64_nz(e, "usage", rd(dir, f[0]));
			put_u64(e, "failcnt", rdk(dir, f[1], "max"));
		} else {
			snprintf(f[0], sizeof(f[0]), "hugetlb.%s.usage_in_bytes", *s);
			snprintf(f[1], sizeof(f[1]), "hugetlb.%s.max_usage_in_bytes", *s);
			snprintf(f[2], sizeof(f[2]), "hugetlb.%s.failcnt", *s);
			put_u64_nz(e, "usage", rd(dir, f[0]));
			put_u64_nz(e, "max", rd(dir, f[1]));
			put_u64(e, "failcnt", rd(dir, f[2]));
		}
		json_object_object_add(h, *s, e);
	}
	vs_cgroup_free_strv(sizes);
	return h;
}

json_object *vs_cgroup_stats(const vs_cgroup *cg, vs_err *err)
{
	json_object *o = json_object_new_object();
	if (!o) {
		vs_fail(err, ENOMEM, "stats");
		return NULL;
	}
	json_object_object_add(o, "cpu", cpu_stats(cg));
	json_object_object_add(o, "cpuset", cpuset_stats(cg));
	json_object_object_add(o, "memory", memory_stats(cg));
	json_object_object_add(o, "pids", pids_stats(cg));
	json_object_object_add(o, "blkio", blkio_stats(cg));
	json_object_object_add(o, "hugetlb", hugetlb_stats(cg));
	json_object_object_add(o, "intel_rdt", json_object_new_object());
	json_object_object_add(o, "network_interfaces", NULL);
	return o;
}
