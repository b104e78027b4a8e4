/* linux.cgroupsPath resolution, cgroupfs and systemd forms. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "core/log.h"

/* Lexically clean a path as if it were rooted at "/" (runc's CleanPath):
 * "." and empty components vanish, ".." drops the previous component and
 * stops at the root, so no value can climb out of the hierarchy. Keeps a
 * leading '/' only if the input had one. */
static int clean_path(const char *in, char *out, size_t len)
{
	char buf[PATH_MAX];
	size_t n = 0;
	bool abs = in[0] == '/';
	for (const char *p = in; *p;) {
		while (*p == '/')
			p++;
		const char *end = strchrnul(p, '/');
		size_t clen = (size_t)(end - p);
		if (clen == 0 || (clen == 1 && p[0] == '.')) {
			/* skip */
		} else if (clen == 2 && p[0] == '.' && p[1] == '.') {
			while (n > 0 && buf[n - 1] != '/')
				n--;
			if (n > 0)
				n--; /* the '/' before the dropped component */
		} else {
			if (n + 1 + clen >= sizeof(buf))
				return -1;
			buf[n++] = '/';
			memcpy(buf + n, p, clen);
			n += clen;
		}
		p = end;
	}
	buf[n] = '\0';
	const char *res = n ? buf : "/";
	if (!abs && n)
		res = buf + 1; /* relative: drop the '/' the walk added */
	else if (!abs)
		res = "";
	if ((size_t)snprintf(out, len, "%s", res) >= len)
		return -1;
	return 0;
}

int vs_cgroup_resolve_path(const char *cgroups_path, const char *id, char *out, size_t len,
			   vs_err *err)
{
	char raw[PATH_MAX];
	int n;
	if (!cgroups_path || !cgroups_path[0])
		n = snprintf(raw, sizeof(raw), "/vessel/%s", id);
	else
		n = snprintf(raw, sizeof(raw), "%s", cgroups_path);
	if (n < 0 || (size_t)n >= sizeof(raw) || clean_path(raw, out, len) < 0)
		return vs_fail(err, ENAMETOOLONG, "linux.cgroupsPath");
	/* "/", "..", "." would put the container in the root (or our own) cgroup
	 * and let delete and update act on the host's. */
	if (!strcmp(out, "/") || !out[0])
		return vs_fail(err, 0, "linux.cgroupsPath: \"%s\" names no cgroup of its own",
			       cgroups_path);
	return 0;
}

bool vs_cgroup_systemd_running(void)
{
	return access("/run/systemd/system", F_OK) == 0;
}

/* "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" or "-" -> "". */
static int expand_slice(const char *slice, char *out, size_t len, vs_err *err)
{
	out[0] = '\0';
	if (!strcmp(slice, "-") || !strcmp(slice, "-.slice"))
		return 0;
	size_t sl = strlen(slice);
	if (sl < 7 || strcmp(slice + sl - 6, ".slice") || strchr(slice, '/'))
		return vs_fail(err, 0,
			       "linux.cgroupsPath: \"%s\" is not a systemd slice name (NAME.slice)",
			       slice);
	char stem[256];
	if (sl - 6 >= sizeof(stem))
		return vs_fail(err, ENAMETOOLONG, "linux.cgroupsPath: slice \"%s\"", slice);
	memcpy(stem, slice, sl - 6);
	stem[sl - 6] = '\0';
	if (stem[0] == '-' || stem[strlen(stem) - 1] == '-' || strstr(stem, "--"))
		return vs_fail(err, 0, "linux.cgroupsPath: \"%s\" is not a valid slice name",
			       slice);
	size_t off = 0;
	for (char *dash = stem;; dash++) {
		if (*dash != '-' && *dash != '\0')
			continue;
		int w = snprintf(out + off, len - off, "/%.*s.slice", (int)(dash - stem), stem);
		if (w < 0 || (size_t)w >= len - off)
			return vs_fail(err, ENAMETOOLONG, "linux.cgroupsPath: slice \"%s\"", slice);
		off += (size_t)w;
		if (!*dash)
			break;
	}
	return 0;
}

int vs_cgroup_resolve_systemd(const char *cgroups_path, const char *id, char *out, size_t len,
			      vs_err *err)
{
	char spec[PATH_MAX];
	if (!cgroups_path || !cgroups_path[0])
		snprintf(spec, sizeof(spec), "system.slice:vessel:%s", id);
	else if ((size_t)snprintf(spec, sizeof(spec), "%s", cgroups_path) >= sizeof(spec))
		return vs_fail(err, ENAMETOOLONG, "linux.cgroupsPath");
	char *c1 = strchr(spec, ':');
	char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c2 || strchr(c2 + 1, ':'))
		return vs_fail(
			err, 0,
			"linux.cgroupsPath: \"%s\": with --systemd-cgroup it must have the form "
			"\"slice:prefix:name\"",
			cgroups_path);
	*c1 = *c2 = '\0';
	const char *slice = spec[0] ? spec : "system.slice", *prefix = c1 + 1, *name = c2 + 1;
	if (!name[0] || strchr(name, '/') || strchr(prefix, '/'))
		return vs_fail(err, 0, "linux.cgroupsPath: \"%s\": bad prefix or name",
			       cgroups_path);
	char parent[PATH_MAX], unit[PATH_MAX + 16];
	if (expand_slice(slice, parent, sizeof(parent), err) < 0)
		return -1;
	size_t nl = strlen(name);
	/* A name that is itself a slice is used as is (prefix ignored), as systemd does. */
	if (nl > 6 && !strcmp(name + nl - 6, ".slice"))
		snprintf(unit, sizeof(unit), "%s", name);
	else if (prefix[0])
		snprintf(unit, sizeof(unit), "%s-%s.scope", prefix, name);
	else
		snprintf(unit, sizeof(unit), "%s.scope", name);
	if (strlen(parent) + 1 + strlen(unit) >= len)
		return vs_fail(err, ENAMETOOLONG, "linux.cgroupsPath");
	if ((size_t)snprintf(out, len, "%s/%s", parent, unit) >= len)
		return vs_fail(err, ENAMETOOLONG, "linux.cgroupsPath");
	if (vs_cgroup_systemd_running())
		vs_warn("--systemd-cgroup: vessel does not talk to systemd over D-Bus; creating %s "
			"directly with "
			"cgroupfs (systemd will not know about this scope)",
			out);
	else
		vs_warn("--systemd-cgroup: systemd is not running; using the cgroupfs path %s for "
			"\"%s:%s:%s\"",
			out, slice, prefix, name);
	return 0;
}
