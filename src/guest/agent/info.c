/* ps, stats and oom_watch: read from /proc and the agent's cgroup. */
#include "guest/agent/info.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* Parent pid from /proc/PID/stat (after the last ')': the name may hold any). */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *rp = strrchr(buf, ')');
	char state;
	int ppid;
	if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2)
		return -1;
	return (pid_t)ppid;
}

int info_descendants(pid_t root, pid_t **out, size_t *count, vs_err *err)
{
	DIR *d = opendir("/proc");
	if (!d)
		return vs_fail_errno(err, "ps: open /proc");
	size_t n = 0, cap = 64;
	pid_t *pids = malloc(cap * sizeof(*pids)), *ppids = malloc(cap * sizeof(*ppids));
	struct dirent *e;
	while (pids && ppids && (e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(e->d_name), pp = parent_of(pid);
		if (pp < 0)
			continue;
		if (n == cap) {
			cap *= 2;
			pid_t *a = realloc(pids, cap * sizeof(*a));
			pid_t *b = a ? realloc(ppids, cap * sizeof(*b)) : NULL;
			if (!a || !b) {
				free(a ? a : pids);
				free(b ? b : ppids);
				pids = ppids = NULL;
				break;
			}
			pids = a;
			ppids = b;
		}
		pids[n] = pid;
		ppids[n++] = pp;
	}
	closedir(d);
	char *in = pids && ppids ? calloc(n + 1, 1) : NULL;
	if (!in) {
		free(pids);
		free(ppids);
		return vs_fail(err, ENOMEM, "ps");
	}
	/* Mark descendants: repeat until nothing changes (the tree is small). */
	for (bool grew = true; grew;) {
		grew = false;
		for (size_t i = 0; i < n; i++) {
			if (in[i])
				continue;
			bool child = ppids[i] == root;
			for (size_t j = 0; !child && j < n; j++)
				child = in[j] && pids[j] == ppids[i];
			if (child)
				in[i] = grew = 1;
		}
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (in[i])
			pids[k++] = pids[i];
	free(in);
	free(ppids);
	*out = pids;
	*count = k;
	return 0;
}

/* Every descendant of the agent: its children, or as PID 1 every process. */
json_object *info_ps(vs_err *err)
{
	pid_t *pids;
	size_t n;
	if (info_descendants(getpid(), &pids, &n, err) < 0)
		return NULL;
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_int(pids[i]));
	free(pids);
	return arr;
}

static int read_u64(const char *path, uint64_t *out)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char buf[64] = "";
	int ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	if (!strncmp(buf, "max", 3)) {
		*out = 0; /* unlimited */
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return -1;
	*out = v;
	return 0;
}

/* "key value" lines: the value of key, or -1. */
static int read_keyed(const char *path, const char *key, uint64_t *out)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char line[256];
	size_t kl = strlen(key);
	int rc = -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && (line[kl] == ' ' || line[kl] == ':')) {
			char *p = line + kl + 1;
			while (*p == ' ')
				p++;
			*out = strtoull(p, NULL, 10);
			rc = 0;
			break;
		}
	fclose(f);
	return rc;
}

/* The agent's cgroup directory for controller ctrl (v1, "memory") or the
 * v2 one (ctrl ""), or "" when there is none. */
static void own_cgroup(const char *ctrl, char *dir, size_t len)
{
	dir[0] = '\0';
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return;
	char line[2048];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		if (!strcmp(c1 + 1, ctrl)) {
			snprintf(dir, len, "/sys/fs/cgroup%s%s%s", ctrl[0] ? "/" : "", ctrl,
				 c2 + 1);
			break;
		}
	}
	fclose(f);
}

json_object *info_stats(vs_err *err)
{
	char cg[4096], path[4200];
	uint64_t usage = 0, limit = 0, cpu = 0;
	bool mem = false, cpu_ok = false;
	own_cgroup("", cg, sizeof(cg));
	snprintf(path, sizeof(path), "%s/memory.current", cg);
	if (cg[0] && read_u64(path, &usage) == 0) { /* cgroup v2 */
		mem = true;
		snprintf(path, sizeof(path), "%s/memory.max", cg);
		if (read_u64(path, &limit) < 0)
			limit = 0;
		snprintf(path, sizeof(path), "%s/cpu.stat", cg);
		uint64_t us;
		if (read_keyed(path, "usage_usec", &us) == 0) {
			cpu = us * 1000;
			cpu_ok = true;
		}
	} else {
		own_cgroup("memory", cg, sizeof(cg));
		snprintf(path, sizeof(path), "%s/memory.usage_in_bytes", cg);
		if (cg[0] && read_u64(path, &usage) == 0) {
			mem = true;
			snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", cg);
			/* v1 says "no limit" with a huge number: report 0 as v2's max. */
			if (read_u64(path, &limit) < 0 || limit >= (UINT64_MAX >> 2))
				limit = 0;
		}
		own_cgroup("cpuacct", cg, sizeof(cg));
		snprintf(path, sizeof(path), "%s/cpuacct.usage", cg);
		if (!cg[0] || read_u64(path, &cpu) < 0) {
			own_cgroup("cpu,cpuacct", cg, sizeof(cg));
			snprintf(path, sizeof(path), "%s/cpuacct.usage", cg);
		}
		cpu_ok = cg[0] && read_u64(path, &cpu) == 0;
	}
	if (!mem) { /* no cgroup (a guest's root): the whole machine */
		uint64_t total, avail;
		if (read_keyed("/proc/meminfo", "MemTotal", &total) < 0 ||
		    read_keyed("/proc/meminfo", "MemAvailable", &avail) < 0) {
			vs_fail(err, EIO, "stats: read /proc/meminfo");
			return NULL;
		}
		usage = (total - avail) * 1024;
		limit = total * 1024;
	}
	if (!cpu_ok) {
		/* /proc/stat "cpu" line: user nice system ... in USER_HZ ticks. */
		FILE *f = fopen("/proc/stat", "re");
		unsigned long long v[3] = { 0 };
		if (f) {
			if (fscanf(f, "cpu %llu %llu %llu", &v[0], &v[1], &v[2]) != 3)
				v[0] = v[1] = v[2] = 0;
			fclose(f);
		}
		long hz = sysconf(_SC_CLK_TCK);
		cpu = (v[0] + v[1] + v[2]) * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
	}
	json_object *pids = info_ps(err);
	if (!pids)
		return NULL;
	json_object *o = json_object_new_object(), *m = json_object_new_object(),
		    *c = json_object_new_object();
	json_object_object_add(m, "usage", json_object_new_uint64(usage));
	json_object_object_add(m, "limit", json_object_new_uint64(limit));
	json_object_object_add(c, "usage_ns", json_object_new_uint64(cpu));
	json_object_object_add(o, "memory", m);
	json_object_object_add(o, "cpu", c);
	json_object_object_add(o, "pids", json_object_new_int((int)json_object_array_length(pids)));
	json_object_put(pids);
	return o;
}

int info_oom_kills(uint64_t *out)
{
	return read_keyed("/proc/vmstat", "oom_kill", out);
}

static void oom_timer(agent *a, bool on)
{
	struct itimerspec ts = { 0 };
	if (on)
		ts.it_interval.tv_nsec = ts.it_value.tv_nsec = 100 * 1000 * 1000;
	timerfd_settime(a->timer.fd, 0, &ts, NULL);
}

int oom_watch_add(agent *a, conn *c, uint64_t id, vs_err *err)
{
	uint64_t now;
	if (info_oom_kills(&now) < 0)
		return vs_fail(err, ENOTSUP, "oom_watch: no oom_kill counter in /proc/vmstat");
	waiter *w = calloc(1, sizeof(*w));
	if (!w)
		return vs_fail(err, ENOMEM, "oom_watch");
	if (!a->oom_waits)
		oom_timer(a, true);
	w->base = now;
	w->c = c;
	w->id = id;
	w->next = a->oom_waits;
	a->oom_waits = w;
	return 0;
}

void oom_poll(agent *a)
{
	uint64_t now;
	if (!a->oom_waits) {
		oom_timer(a, false);
		return;
	}
	if (info_oom_kills(&now) < 0)
		return;
	for (waiter **wp = &a->oom_waits; *wp;) {
		waiter *w = *wp;
		if (now <= w->base) {
			wp = &w->next;
			continue;
		}
		*wp = w->next;
		json_object *rep = json_object_new_object();
		json_object_object_add(rep, "count", json_object_new_uint64(now - w->base));
		conn_reply(a, w->c, w->id, rep);
		free(w);
	}
	if (!a->oom_waits)
		oom_timer(a, false);
}

void oom_drop_conn(agent *a, conn *c)
{
	for (waiter **wp = &a->oom_waits; *wp;) {
		waiter *w = *wp;
		if (w->c == c) {
			*wp = w->next;
			free(w);
		} else {
			wp = &w->next;
		}
	}
}
