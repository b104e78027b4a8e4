/* The processes of a container's cgroup and its end: list, signal, kill
 * (freezing first), and removal of exactly the directories create made. */
#include "cgroup/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/freeze.h"
#include "cgroup/internal.h"
#include "core/cleanup.h"
#include "core/fs.h"
#include "core/log.h"

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

typedef struct pidset {
	pid_t *v;
	size_t n, cap;
} pidset;

static int pidset_add(pidset *s, pid_t p)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == p)
			return 0;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 32;
		pid_t *nv = realloc(s->v, nc * sizeof(pid_t));
		if (!nv)
			return -1;
		s->v = nv;
		s->cap = nc;
	}
	s->v[s->n++] = p;
	return 0;
}

/* cgroup.procs of dir and every cgroup below it. */
static int collect(const char *dir, pidset *s, int depth)
{
	vs_autofree char *procs = vs_cg_read(dir, "cgroup.procs");
	if (!procs)
		return 0;
	char *save = NULL;
	for (char *tok = strtok_r(procs, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
		int p = atoi(tok);
		if (p > 0 && pidset_add(s, (pid_t)p) < 0)
			return -1;
	}
	if (depth > 32)
		return 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		char sub[PATH_MAX];
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) < sizeof(sub))
			rc = collect(sub, s, depth + 1);
	}
	closedir(d);
	return rc;
}

int vs_cgroup_pids(const vs_cgroup *cg, pid_t **pids, size_t *n, vs_err *err)
{
	pidset s = { 0 };
	/* Union over hierarchies: a process moved out of one hierarchy's
	 * cgroup is still a member of the others. */
	for (int i = 0; i < cg->n; i++)
		if (collect(cg->d[i].dir, &s, 0) < 0) {
			free(s.v);
			return vs_fail(err, ENOMEM, "cgroup %s: list processes", cg->path);
		}
	if (s.n)
		qsort(s.v, s.n, sizeof(pid_t), pid_cmp);
	*pids = s.v;
	*n = s.n;
	return 0;
}

int vs_cgroup_signal_all(const vs_cgroup *cg, int sig, vs_err *err)
{
	/* Freeze for SIGKILL so no member can fork a child we would miss. */
	bool froze = false, was_frozen = false;
	if (sig == SIGKILL && vs_cgroup_is_frozen(cg, &was_frozen, NULL) == 0) {
		vs_err e = { 0 };
		if (!was_frozen && vs_cgroup_freeze(cg, true, &e) == 0)
			froze = true;
	}
	pid_t *pids = NULL;
	size_t n = 0;
	int rc = vs_cgroup_pids(cg, &pids, &n, err);
	int count = 0;
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (kill(pids[i], sig) == 0)
			count++;
	free(pids);
	/* Frozen v1 tasks act on SIGKILL only once thawed. */
	if (sig == SIGKILL && (froze || was_frozen)) {
		vs_err e = { 0 };
		if (vs_cgroup_freeze(cg, false, &e) < 0)
			vs_warn("%s", e.msg);
	}
	return rc < 0 ? -1 : count;
}

static long long monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Freeze-and-kill once, then plain SIGKILL to stragglers every 500 ms:
 * a task stuck in uninterruptible sleep must not make each round wait for
 * a freeze that never completes. The whole wait is bounded in wall time. */
int vs_cgroup_kill_all_wait(const vs_cgroup *cg, int timeout_ms, vs_err *err)
{
	long long start = monotonic_ms(), last_kill = -1;
	for (;;) {
		pid_t *pids = NULL;
		size_t n = 0;
		if (vs_cgroup_pids(cg, &pids, &n, err) < 0)
			return -1;
		long long now = monotonic_ms();
		if (n > 0 && now - start < timeout_ms) {
			if (last_kill < 0) {
				if (vs_cgroup_signal_all(cg, SIGKILL, err) < 0) {
					free(pids);
					return -1;
				}
				last_kill = now;
			} else if (now - last_kill >= 500) {
				for (size_t i = 0; i < n; i++)
					kill(pids[i], SIGKILL);
				last_kill = now;
			}
		}
		free(pids);
		if (n == 0)
			return 0;
		if (now - start >= timeout_ms)
			return vs_fail(err, 0, "cgroup %s: %zu processes still there after SIGKILL",
				       cg->path, n);
		sleep_ms(10);
	}
}

/* Cgroups the workload made inside its own (nesting, systemd in a
 * container) hold ours busy: remove them first, deepest first. A cgroup
 * directory holds only control files, so rmdir is enough. */
static void remove_children(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char sub[PATH_MAX];
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= sizeof(sub))
			continue;
		if (depth < 32)
			remove_children(sub, depth + 1);
		if (rmdir(sub) < 0)
			vs_debug("cgroup rmdir %s: %s", sub, strerror(errno));
	}
	closedir(d);
}

int vs_cgroup_destroy(const vs_cgroup *cg, const char *created_list, vs_err *err)
{
	vs_autofree char *text = NULL;
	if (vs_read_file(created_list, &text, NULL, NULL) < 0)
		return 0; /* nothing recorded, nothing to remove */
	/* Lines were recorded parent-first: remove in reverse. */
	int cap = 1;
	for (const char *p = text; *p; p++)
		cap += *p == '\n';
	vs_autofree char **lines = calloc((size_t)cap, sizeof(char *));
	if (!lines)
		return vs_fail(err, ENOMEM, "cgroup destroy %s", created_list);
	int n = 0;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l && n < cap; l = strtok_r(NULL, "\n", &save)) {
		if (cg && vs_cgroup_owns(cg, l))
			lines[n++] = l;
		else
			vs_warn("%s: %s is not the container's cgroup: left alone", created_list,
				l);
	}
	int rc = 0;
	for (int i = n - 1; i >= 0; i--) {
		/* A parent shared with other containers (/vessel) goes only once
		 * empty; only the container's own directories lose their children. */
		bool parent = true;
		for (int k = 0; k < cg->n; k++)
			if (!strcmp(cg->d[k].dir, lines[i]))
				parent = false;
		for (int j = i + 1; j < n; j++)
			if (!strncmp(lines[j], lines[i], strlen(lines[i])) &&
			    lines[j][strlen(lines[i])] == '/')
				parent = true;
		if (parent) {
			rmdir(lines[i]);
			continue;
		}
		remove_children(lines[i], 0);
		/* A just-killed task can keep its cgroup busy for a moment. */
		for (int tries = 0; rmdir(lines[i]) < 0 && errno != ENOENT; tries++) {
			if (errno != EBUSY || tries == 200) {
				rc = vs_fail_errno(err, "cgroup rmdir %s", lines[i]);
				break;
			}
			sleep_ms(10);
		}
	}
	return rc;
}

void vs_cgroup_remove_default_parent(const vs_cgroup *cg)
{
	static const char parent[] = "/vessel";
	for (int i = 0; i < cg->n; i++) {
		const vs_cgroup_dir *d = &cg->d[i];
		size_t base = strlen(d->mount);
		const char *rel = d->dir + base;
		/* Only "<mount>/vessel/<name>": never a parent vessel does not own. */
		if (strncmp(d->dir, d->mount, base) || strncmp(rel, parent, sizeof(parent) - 1) ||
		    rel[sizeof(parent) - 1] != '/' || strchr(rel + sizeof(parent), '/') ||
		    !rel[sizeof(parent)])
			continue;
		char dir[PATH_MAX];
		if ((size_t)snprintf(dir, sizeof(dir), "%s%s", d->mount, parent) >= sizeof(dir))
			continue;
		if (rmdir(dir) < 0 && errno != ENOENT && errno != EBUSY && errno != ENOTEMPTY)
			vs_debug("cgroup rmdir %s: %s", dir, strerror(errno));
	}
}
