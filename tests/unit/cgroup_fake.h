/* A fake cgroup tree in a temporary directory for the cgroup unit tests:
 * a mountinfo file whose cgroup mounts point into the directory, a
 * /proc/self/cgroup stand-in, and control files created empty (cgroupfs
 * creates them; a plain directory does not). Header-only, static. */
#ifndef VESSEL_TESTS_CGROUP_FAKE_H
#define VESSEL_TESTS_CGROUP_FAKE_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fake_tree {
	char root[64];
	char mountinfo[128];
	char self_cgroup[128];
} fake_tree;

static inline void fake_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "fake_write %s: %s\n", path, strerror(errno));
		abort();
	}
	fputs(text, f);
	fclose(f);
}

static inline void fake_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	mkdir(buf, 0755);
}

static inline void fake_fmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline void fake_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* Path below the fake root, formatted. Returns a static buffer rotation. */
static inline const char *fake_path(const fake_tree *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline const char *fake_path(const fake_tree *t, const char *fmt, ...)
{
	static char bufs[8][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 8];
	int n = snprintf(b, PATH_MAX, "%s/", t->root);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b + n, (size_t)(PATH_MAX - n), fmt, ap);
	va_end(ap);
	return b;
}

/* Create each file (empty, or with content after '=' : "cpu.max=max 100000"). */
static inline void fake_files(const char *dir, const char *const *files)
{
	fake_mkdirs(dir);
	for (; *files; files++) {
		char name[256], path[PATH_MAX];
		const char *eq = strchr(*files, '=');
		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - *files) : (int)strlen(*files),
			 *files);
		fake_fmt(path, sizeof(path), "%s/%s", dir, name);
		fake_write(path, eq ? eq + 1 : "");
	}
}

/* Contents of a file with trailing newlines removed (static buffer). */
static inline const char *fake_read(const char *path)
{
	static char buf[8192];
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return buf;
}

static inline void fake_init(fake_tree *t)
{
	snprintf(t->root, sizeof(t->root), "/tmp/cgfake-XXXXXX");
	if (!mkdtemp(t->root))
		abort();
	snprintf(t->mountinfo, sizeof(t->mountinfo), "%s/mountinfo", t->root);
	snprintf(t->self_cgroup, sizeof(t->self_cgroup), "%s/self_cgroup", t->root);
}

/* Pure v1: cpu,cpuacct together, plus memory, pids, cpuset, devices,
 * freezer, blkio, hugetlb, net_cls, net_prio and name=systemd. Our own
 * cgroup is /user.slice in every hierarchy but memory (/job). */
static inline void fake_v1(fake_tree *t)
{
	fake_init(t);
	static const char *const ctrls[] = { "cpu,cpuacct", "memory",	"pids",	 "cpuset",
					     "devices",	    "freezer",	"blkio", "hugetlb",
					     "net_cls",	    "net_prio", NULL };
	char mi[8192] = "22 1 0:20 / /sys rw - sysfs sysfs rw\n";
	char self[2048] = "";
	int id = 30;
	for (int i = 0; ctrls[i]; i++) {
		char line[PATH_MAX + 200];
		fake_fmt(line, sizeof(line),
			 "%d 25 0:%d / %s/v1/%s rw,relatime - cgroup cgroup rw,%s\n", id, id,
			 t->root, ctrls[i], ctrls[i]);
		strcat(mi, line);
		snprintf(line, sizeof(line), "%d:%s:%s\n", 10 - i, ctrls[i],
			 !strcmp(ctrls[i], "memory") ? "/job" : "/user.slice");
		strcat(self, line);
		fake_mkdirs(fake_path(t, "v1/%s", ctrls[i]));
		id++;
	}
	char line[PATH_MAX + 200];
	fake_fmt(line, sizeof(line),
		 "%d 25 0:%d / %s/v1/systemd rw - cgroup cgroup rw,xattr,name=systemd\n", id, id,
		 t->root);
	strcat(mi, line);
	strcat(self, "1:name=systemd:/user.slice\n");
	fake_mkdirs(fake_path(t, "v1/systemd"));
	fake_write(t->mountinfo, mi);
	fake_write(t->self_cgroup, self);
}

/* Pure v2 with the usual controllers; our own cgroup is /user.slice/s.scope. */
static inline void fake_v2(fake_tree *t)
{
	fake_init(t);
	char mi[2048];
	fake_fmt(mi, sizeof(mi),
		 "22 1 0:20 / /sys rw - sysfs sysfs rw\n"
		 "30 22 0:26 / %s/v2 rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 "
		 "rw,nsdelegate\n",
		 t->root);
	fake_write(t->mountinfo, mi);
	fake_write(t->self_cgroup, "0::/user.slice/s.scope\n");
	fake_files(fake_path(t, "v2"),
		   (const char *const[]){
			   "cgroup.controllers=cpuset cpu io memory hugetlb pids rdma\n",
			   "cgroup.subtree_control", NULL });
}

/* The files a cgroup2 container directory has (all controllers enabled). */
static inline void fake_v2_container(const char *dir)
{
	fake_files(dir, (const char *const[]){
				"cgroup.controllers=cpuset cpu io memory hugetlb pids rdma\n",
				"cgroup.procs",
				"cgroup.freeze=0\n",
				"cgroup.events=populated 1\nfrozen 0\n",
				"memory.max=max\n",
				"memory.swap.max=max\n",
				"memory.low=0\n",
				"memory.current=4096\n",
				"memory.swap.current=0\n",
				"memory.events=low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n",
				"memory.stat=anon 100\nfile 200\n",
				"cpu.weight=100\n",
				"cpu.max=max 100000\n",
				"cpu.max.burst=0\n",
				"cpu.idle=0\n",
				"cpu.stat=usage_usec 5\nuser_usec 3\nsystem_usec 2\nnr_periods 0\n"
				"nr_throttled 0\nthrottled_usec 0\n",
				"cpuset.cpus",
				"cpuset.mems",
				"cpuset.cpus.effective=0-1\n",
				"cpuset.mems.effective=0\n",
				"pids.max=max\n",
				"pids.current=3\n",
				"io.max",
				"io.weight=default 100\n",
				"io.stat=8:0 rbytes=10 wbytes=20 rios=1 wios=2\n",
				"hugetlb.2MB.max=max\n",
				"hugetlb.2MB.rsvd.max=max\n",
				"hugetlb.2MB.current=0\n",
				"hugetlb.2MB.events=max 0\n",
				"rdma.max",
				NULL });
}

static inline void fake_cleanup(fake_tree *t)
{
	char cmd[PATH_MAX + 16];
	if (strncmp(t->root, "/tmp/cgfake-", 12))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->root);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", t->root);
}

#endif
