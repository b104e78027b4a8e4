#include "cgroup/cgroup.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/fs.h"
#include "core/log.h"

const char *vs_cgroup_layout_name(vs_cgroup_layout l)
{
	switch (l) {
	case VS_CGROUP_V1:
		return "v1";
	case VS_CGROUP_V2:
		return "v2";
	case VS_CGROUP_HYBRID:
		return "hybrid";
	}
	return "?";
}

/* Keep only the controller options of a v1 mount ("rw,relatime,cpu,cpuacct" -> "cpu,cpuacct"). */
static void v1_controllers(const char *opts, char *out, size_t len)
{
	static const char *const skip[] = {"rw", "ro", "relatime", "noatime", "nosuid", "nodev", "noexec",
					   "clone_children", "noprefix", "xattr", NULL};
	out[0] = '\0';
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", opts);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		bool s = false;
		for (int i = 0; skip[i]; i++)
			if (!strcmp(tok, skip[i]))
				s = true;
		if (s || !strncmp(tok, "release_agent=", 14))
			continue;
		size_t cur = strlen(out);
		snprintf(out + cur, len - cur, "%s%s", cur ? "," : "", tok);
	}
}

int vs_cgroup_detect(vs_cgroup_host *host, const char *mountinfo_path, vs_err *err)
{
	memset(host, 0, sizeof(*host));
	vs_autofree char *text = NULL;
	if (vs_read_file(mountinfo_path ? mountinfo_path : "/proc/self/mountinfo", &text, NULL, err) < 0)
		return -1;
	bool have_v1 = false, have_v2 = false;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		char mnt[256], fstype[32], superopts[512];
		char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1)
			continue;
		if (sscanf(dash + 3, "%31s %*s %511s", fstype, superopts) != 2)
			continue;
		bool v2 = !strcmp(fstype, "cgroup2");
		if (!v2 && strcmp(fstype, "cgroup"))
			continue;
		if (host->n_hier == VS_CGROUP_MAX_HIER)
			break;
		vs_cgroup_hier *h = &host->hier[host->n_hier];
		snprintf(h->mount, sizeof(h->mount), "%s", mnt);
		h->v2 = v2;
		if (v2) {
			have_v2 = true;
		} else {
			v1_controllers(superopts, h->controllers, sizeof(h->controllers));
			have_v1 = true;
		}
		host->n_hier++;
	}
	if (!host->n_hier)
		return vs_fail(err, 0, "no cgroup filesystem is mounted");
	host->layout = have_v1 && have_v2 ? VS_CGROUP_HYBRID : have_v2 ? VS_CGROUP_V2 : VS_CGROUP_V1;
	return 0;
}

int vs_cgroup_resolve_path(const char *cgroups_path, const char *id, char *out, size_t len, vs_err *err)
{
	int n;
	if (!cgroups_path || !cgroups_path[0])
		n = snprintf(out, len, "/vessel/%s", id);
	else if (cgroups_path[0] == '/')
		n = snprintf(out, len, "%s", cgroups_path);
	else
		n = snprintf(out, len, "/vessel/%s", cgroups_path);
	if (n < 0 || (size_t)n >= len)
		return vs_fail(err, ENAMETOOLONG, "linux.cgroupsPath");
	if (strstr(out, "/../") || (strlen(out) >= 3 && !strcmp(out + strlen(out) - 3, "/..")))
		return vs_fail(err, 0, "linux.cgroupsPath: \"%s\" must not contain \"..\"", out);
	return 0;
}

static int append_line(const char *file, const char *line, vs_err *err)
{
	FILE *f = fopen(file, "ae");
	if (!f)
		return vs_fail_errno(err, "open %s", file);
	fprintf(f, "%s\n", line);
	if (fclose(f) != 0)
		return vs_fail_errno(err, "write %s", file);
	return 0;
}

/* A new v1 cpuset cgroup starts with empty cpus/mems and refuses tasks
 * ("No space left on device"): inherit the parent's values. */
static int cpuset_inherit(const char *dir, vs_err *err)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	for (int i = 0; i < 2; i++) {
		char mine[PATH_MAX], parent[PATH_MAX];
		if (vs_path_join(mine, sizeof(mine), dir, files[i], err) < 0)
			return -1;
		vs_autofree char *cur = NULL;
		if (vs_read_file(mine, &cur, NULL, NULL) < 0)
			return 0; /* not a cpuset hierarchy */
		if (cur[0] != '\n' && cur[0] != '\0')
			continue;
		snprintf(parent, sizeof(parent), "%s", dir);
		char *slash = strrchr(parent, '/');
		if (!slash)
			continue;
		*slash = '\0';
		char pfile[PATH_MAX];
		if (vs_path_join(pfile, sizeof(pfile), parent, files[i], err) < 0)
			return -1;
		vs_autofree char *val = NULL;
		if (vs_read_file(pfile, &val, NULL, err) < 0 || vs_write_file(mine, val, strlen(val), 0644, err) < 0)
			return -1;
	}
	return 0;
}

int vs_cgroup_create(const vs_cgroup_host *host, const char *path, const char *created_list, vs_err *err)
{
	for (int i = 0; i < host->n_hier; i++) {
		const vs_cgroup_hier *h = &host->hier[i];
		char full[PATH_MAX];
		if (vs_path_join(full, sizeof(full), h->mount, path, err) < 0)
			return -1;
		/* Walk down from the mount point, creating and recording each missing level. */
		size_t base = strlen(h->mount);
		for (char *p = full + base + 1;; p++) {
			if (*p != '/' && *p != '\0')
				continue;
			char saved = *p;
			*p = '\0';
			/* /vessel is vessel's own parent: whoever deletes the last
			 * container removes it, even if another container made it. */
			bool ours = !strcmp(full + base, "/vessel");
			if (mkdir(full, 0755) < 0) {
				if (errno != EEXIST)
					return vs_fail_errno(err, "cgroup mkdir %s", full);
			} else {
				ours = true;
			}
			if (ours && append_line(created_list, full, err) < 0)
				return -1;
			if (!h->v2 && strstr(h->controllers, "cpuset") && cpuset_inherit(full, err) < 0)
				return -1;
			*p = saved;
			if (!saved)
				break;
		}
	}
	return 0;
}

int vs_cgroup_enter(const vs_cgroup_host *host, const char *path, pid_t pid, vs_err *err)
{
	char pidbuf[32];
	int n = snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	for (int i = 0; i < host->n_hier; i++) {
		char dir[PATH_MAX], file[PATH_MAX];
		if (vs_path_join(dir, sizeof(dir), host->hier[i].mount, path, err) < 0 ||
		    vs_path_join(file, sizeof(file), dir, "cgroup.procs", err) < 0)
			return -1;
		if (vs_write_file(file, pidbuf, (size_t)n, 0644, err) < 0)
			return -1;
	}
	return 0;
}

int vs_cgroup_signal_all(const vs_cgroup_host *host, const char *path, int sig, vs_err *err)
{
	for (int i = 0; i < host->n_hier; i++) {
		char dir[PATH_MAX], file[PATH_MAX];
		if (vs_path_join(dir, sizeof(dir), host->hier[i].mount, path, err) < 0 ||
		    vs_path_join(file, sizeof(file), dir, "cgroup.procs", err) < 0)
			return -1;
		vs_autofree char *procs = NULL;
		if (vs_read_file(file, &procs, NULL, NULL) < 0)
			continue;
		int count = 0;
		char *save = NULL;
		for (char *tok = strtok_r(procs, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
			pid_t pid = (pid_t)atoi(tok);
			if (pid > 0 && kill(pid, sig) == 0)
				count++;
		}
		return count;
	}
	return 0;
}

int vs_cgroup_destroy(const char *created_list, vs_err *err)
{
	vs_autofree char *text = NULL;
	if (vs_read_file(created_list, &text, NULL, NULL) < 0)
		return 0; /* nothing recorded, nothing to remove */
	/* Lines were recorded parent-first: remove in reverse. */
	char *lines[256];
	int n = 0;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l && n < 256; l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	int rc = 0;
	for (int i = n - 1; i >= 0; i--) {
		/* A parent shared with other containers (/vessel) goes only once empty. */
		bool parent = false;
		for (int j = i + 1; j < n; j++)
			if (!strncmp(lines[j], lines[i], strlen(lines[i])) && lines[j][strlen(lines[i])] == '/')
				parent = true;
		if (parent) {
			rmdir(lines[i]);
			continue;
		}
		/* A just-killed task can keep its cgroup busy for a moment. */
		for (int tries = 0; rmdir(lines[i]) < 0 && errno != ENOENT; tries++) {
			if (errno != EBUSY || tries == 200) {
				rc = vs_fail_errno(err, "cgroup rmdir %s", lines[i]);
				break;
			}
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	return rc;
}
