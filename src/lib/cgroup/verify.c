/* Checking a cgroup record read back from the state directory before any
 * command signals, freezes or lists what it names: a rewritten record must
 * not reach another cgroup of the host. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "core/cleanup.h"

bool vs_cgroup_path_is_clean(const char *path)
{
	if (!path || !path[0])
		return false;
	/* Resolution (path.c) drops "." and empty steps and clamps "..": a
	 * resolved path has none of them, a rewritten one may. */
	for (const char *p = path[0] == '/' ? path + 1 : path;;) {
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!*end)
			return true;
		p = end + 1;
	}
}

static const vs_cgroup_hier *host_hier(const vs_cgroup_host *host, const vs_cgroup_dir *d)
{
	for (int i = 0; i < host->n_hier; i++)
		if (host->hier[i].v2 == d->v2 && !strcmp(host->hier[i].mount, d->mount))
			return &host->hier[i];
	return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/* d->dir is mount + "/" + clean steps, the directory of path in it, and no
 * symlink on the way (what exists of it resolves to itself). */
static int verify_dir(const vs_cgroup *cg, const vs_cgroup_dir *d, int i, vs_err *err)
{
	size_t ml = strlen(d->mount);
	if (strncmp(d->dir, d->mount, ml) || d->dir[ml] != '/' ||
	    !vs_cgroup_path_is_clean(d->dir + ml + 1))
		return vs_fail(err, 0,
			       "cgroup.json: hierarchies[%d].dir: %s is not a directory below %s",
			       i, d->dir, d->mount);
	/* Absolute paths hang off the mount point, relative ones off a base
	 * that depends on where create ran: then only the tail is known. */
	char want[PATH_MAX];
	bool ok = cg->path[0] == '/'
			  ? (size_t)snprintf(want, sizeof(want), "%s%s", d->mount, cg->path) <
					    sizeof(want) &&
				    !strcmp(d->dir, want)
			  : (size_t)snprintf(want, sizeof(want), "/%s", cg->path) < sizeof(want) &&
				    ends_with(d->dir, want);
	if (!ok)
		return vs_fail(err, 0,
			       "cgroup.json: hierarchies[%d].dir: %s is not the directory of %s", i,
			       d->dir, cg->path);
	/* With no "." or ".." in it, the path resolves to itself exactly when
	 * no step is a symlink: one openat2 checks that (missing is fine). */
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, d->dir, &how, sizeof(how));
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno == ENOENT)
		return 0;
	if (errno == ELOOP)
		return vs_fail(err, 0, "cgroup.json: hierarchies[%d].dir: %s goes through a symlink",
			       i, d->dir);
	return vs_fail_errno(err, "cgroup.json: hierarchies[%d].dir: %s", i, d->dir);
}

int vs_cgroup_verify(const vs_cgroup *cg, const vs_cgroup_host *host, vs_err *err)
{
	if (!vs_cgroup_path_is_clean(cg->path))
		return vs_fail(err, 0, "cgroup.json: path: \"%s\" is not a resolved cgroup path",
			       cg->path);
	for (int i = 0; i < cg->n; i++) {
		const vs_cgroup_dir *d = &cg->d[i];
		if (!host_hier(host, d))
			return vs_fail(err, 0,
				       "cgroup.json: hierarchies[%d].mount: %s is not a cgroup%s "
				       "mount of this host",
				       i, d->mount, d->v2 ? "2" : "");
		if (verify_dir(cg, d, i, err) < 0)
			return -1;
	}
	return 0;
}

bool vs_cgroup_owns(const vs_cgroup *cg, const char *dir)
{
	for (int i = 0; i < cg->n; i++) {
		const vs_cgroup_dir *d = &cg->d[i];
		size_t ml = strlen(d->mount), n = strlen(dir);
		if (strncmp(dir, d->mount, ml) || dir[ml] != '/' ||
		    !vs_cgroup_path_is_clean(dir + ml + 1))
			continue;
		if (!strncmp(d->dir, dir, n) && (d->dir[n] == '\0' || d->dir[n] == '/'))
			return true;
	}
	return false;
}

int vs_cgroup_verify_member(const vs_cgroup *cg, pid_t pid, vs_err *err)
{
	char file[64];
	snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
	vs_cgroup_host ph;
	if (vs_cgroup_detect_at(&ph, NULL, file, err) < 0)
		return -1;
	for (int i = 0; i < cg->n; i++) {
		const vs_cgroup_dir *d = &cg->d[i];
		const vs_cgroup_hier *h = host_hier(&ph, d);
		char dir[PATH_MAX];
		if (!h || vs_cgroup_hier_path(h, h->own, dir, sizeof(dir)) < 0)
			return vs_fail(err, 0, "%s: no %s hierarchy", file, d->mount);
		/* The workload may have moved itself into a cgroup of its own below. */
		size_t n = strlen(d->dir);
		if (strncmp(dir, d->dir, n) || (dir[n] != '\0' && dir[n] != '/'))
			return vs_fail(err, 0, "pid %d is in %s, not in %s", (int)pid, dir, d->dir);
	}
	return 0;
}
