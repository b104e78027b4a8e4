/* Where an exec'd process goes in the container's cgroups (runc's --cgroup). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup/cgroup.h"
#include "container/exec.h"
#include "core/fs.h"

/* A sub-cgroup stays inside the container's: relative, no "..". */
static int check_sub(const char *form, const char *sub, vs_err *err)
{
	if (!sub[0] || sub[0] == '/')
		return vs_fail(err, 0, "--cgroup %s: \"%s\" must be a relative path", form, sub);
	for (const char *s = sub; *s;) {
		size_t n = strcspn(s, "/");
		if (n == 2 && !strncmp(s, "..", 2))
			return vs_fail(err, 0, "--cgroup %s: \"..\" leaves the container's cgroup",
				       form);
		s += n;
		s += *s == '/';
	}
	return 0;
}

/* The sub-cgroup for hierarchy d, or NULL for the container's own. */
static int sub_for(const vs_cgroup_dir *d, char *const *forms, const char **sub, vs_err *err)
{
	*sub = NULL;
	for (char *const *f = forms; f && *f; f++) {
		const char *colon = strchr(*f, ':');
		const char *s = colon ? colon + 1 : *f;
		if (check_sub(*f, s, err) < 0)
			return -1;
		if (!colon) {
			*sub = s;
			continue;
		}
		char ctrls[256];
		snprintf(ctrls, sizeof(ctrls), "%.*s", (int)(colon - *f), *f);
		for (char *save, *c = strtok_r(ctrls, ",", &save); c;
		     c = strtok_r(NULL, ",", &save))
			if (vs_cgroup_list_has(d->controllers, c))
				*sub = s;
	}
	return 0;
}

int vs_exec_cgroup_enter(const vs_cgroup *cg, char *const *forms, pid_t pid, vs_err *err)
{
	char pidbuf[32];
	int n = snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	for (int i = 0; i < cg->n; i++) {
		const vs_cgroup_dir *d = &cg->d[i];
		const char *sub;
		char dir[PATH_MAX], procs[PATH_MAX];
		if (sub_for(d, forms, &sub, err) < 0)
			return -1;
		if (snprintf(dir, sizeof(dir), "%s%s%s", d->dir, sub ? "/" : "", sub ? sub : "") >=
		    (int)sizeof(dir))
			return vs_fail(err, ENAMETOOLONG, "--cgroup %s", sub);
		struct stat st;
		if (sub && (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)))
			return vs_fail(err, ENOENT, "--cgroup: no cgroup %s", dir);
		if (vs_path_join(procs, sizeof(procs), dir, "cgroup.procs", err) < 0 ||
		    vs_write_file(procs, pidbuf, (size_t)n, 0644, err) < 0)
			return vs_err_wrap(err, "exec: join cgroup %s", dir);
	}
	return 0;
}
