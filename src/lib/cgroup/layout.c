/* Host layout: which cgroup hierarchies are mounted where, which
 * controllers each carries, and where this process sits in each. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
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

bool vs_cgroup_list_has(const char *list, const char *controller)
{
	size_t n = strlen(controller);
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && !strncmp(p, controller, n))
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

/* Keep only the controller options of a v1 mount ("rw,relatime,cpu,cpuacct" -> "cpu,cpuacct"). */
static void v1_controllers(const char *opts, char *out, size_t len)
{
	static const char *const skip[] = { "rw",	"ro",	 "relatime",	   "noatime",
					    "nosuid",	"nodev", "noexec",	   "clone_children",
					    "noprefix", "xattr", "cpuset_v2_mode", NULL };
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

/* cgroup.controllers at the v2 mount ("cpu io memory") as a comma list. */
static void v2_controllers(const char *mount, char *out, size_t len)
{
	char file[PATH_MAX];
	out[0] = '\0';
	snprintf(file, sizeof(file), "%s/cgroup.controllers", mount);
	vs_autofree char *text = NULL;
	if (vs_read_file(file, &text, NULL, NULL) < 0)
		return;
	char *save = NULL;
	for (char *tok = strtok_r(text, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		size_t cur = strlen(out);
		snprintf(out + cur, len - cur, "%s%s", cur ? "," : "", tok);
	}
}

/* Fill hier[].own from /proc/self/cgroup ("id:controllers:path"; "0::path" is cgroup2). */
static void read_own(vs_cgroup_host *host, const char *self_cgroup_path)
{
	vs_autofree char *text = NULL;
	for (int i = 0; i < host->n_hier; i++)
		snprintf(host->hier[i].own, sizeof(host->hier[i].own), "/");
	if (vs_read_file(self_cgroup_path ? self_cgroup_path : "/proc/self/cgroup", &text, NULL,
			 NULL) < 0)
		return;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c1 = *c2 = '\0';
		const char *ctrls = c1 + 1, *path = c2 + 1;
		for (int i = 0; i < host->n_hier; i++) {
			vs_cgroup_hier *h = &host->hier[i];
			bool match;
			if (h->v2) {
				match = !strcmp(line, "0") && !ctrls[0];
			} else {
				/* The first controller names the hierarchy ("cpu,cpuacct" both
				 * ways). */
				char first[64];
				snprintf(first, sizeof(first), "%.*s", (int)strcspn(ctrls, ","),
					 ctrls);
				match = ctrls[0] && vs_cgroup_list_has(h->controllers, first);
			}
			if (match)
				snprintf(h->own, sizeof(h->own), "%s", path);
		}
	}
}

static int parse_mounts(vs_cgroup_host *host, const char *mountinfo_path, vs_err *err);

/* The host's cgroup mounts, parsed once per process: every command reads
 * them several times (create, the state checks of each open, membership),
 * and a command lives a few milliseconds. Only for /proc/self/mountinfo. */
static vs_cgroup_host cached_mounts;
static bool have_cached_mounts;

int vs_cgroup_detect_at(vs_cgroup_host *host, const char *mountinfo_path,
			const char *self_cgroup_path, vs_err *err)
{
	if (mountinfo_path) {
		if (parse_mounts(host, mountinfo_path, err) < 0)
			return -1;
	} else {
		if (!have_cached_mounts) {
			if (parse_mounts(&cached_mounts, NULL, err) < 0)
				return -1;
			have_cached_mounts = true;
		}
		*host = cached_mounts;
	}
	read_own(host, self_cgroup_path);
	return 0;
}

static int parse_mounts(vs_cgroup_host *host, const char *mountinfo_path, vs_err *err)
{
	memset(host, 0, sizeof(*host));
	vs_autofree char *text = NULL;
	if (vs_read_file(mountinfo_path ? mountinfo_path : "/proc/self/mountinfo", &text, NULL,
			 err) < 0)
		return -1;
	bool have_v1 = false, have_v2 = false;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		char root[256], mnt[256], fstype[32], superopts[512];
		char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %255s %255s", root, mnt) != 2)
			continue;
		if (sscanf(dash + 3, "%31s %*s %511s", fstype, superopts) != 2)
			continue;
		bool v2 = !strcmp(fstype, "cgroup2");
		if (!v2 && strcmp(fstype, "cgroup"))
			continue;
		char ctrls[256];
		if (v2)
			v2_controllers(mnt, ctrls, sizeof(ctrls));
		else
			v1_controllers(superopts, ctrls, sizeof(ctrls));
		/* The same hierarchy can be mounted twice (bind mounts): keep the first. */
		bool dup = false;
		for (int i = 0; i < host->n_hier; i++)
			if (host->hier[i].v2 == v2 &&
			    (v2 || !strcmp(host->hier[i].controllers, ctrls)))
				dup = true;
		if (dup || host->n_hier == VS_CGROUP_MAX_HIER)
			continue;
		vs_cgroup_hier *h = &host->hier[host->n_hier++];
		snprintf(h->mount, sizeof(h->mount), "%s", mnt);
		snprintf(h->root, sizeof(h->root), "%s", root);
		snprintf(h->controllers, sizeof(h->controllers), "%s", ctrls);
		h->v2 = v2;
		if (v2)
			have_v2 = true;
		else
			have_v1 = true;
	}
	if (!host->n_hier)
		return vs_fail(err, 0, "no cgroup filesystem is mounted");
	host->layout = have_v1 && have_v2 ? VS_CGROUP_HYBRID
		       : have_v2	  ? VS_CGROUP_V2
					  : VS_CGROUP_V1;
	return 0;
}

int vs_cgroup_detect(vs_cgroup_host *host, const char *mountinfo_path, vs_err *err)
{
	return vs_cgroup_detect_at(host, mountinfo_path, NULL, err);
}

int vs_cgroup_host_find(const vs_cgroup_host *host, const char *controller)
{
	int v2 = -1;
	for (int i = 0; i < host->n_hier; i++) {
		const vs_cgroup_hier *h = &host->hier[i];
		if (h->v2) {
			v2 = i;
			continue;
		}
		if (vs_cgroup_list_has(h->controllers, controller))
			return i;
	}
	if (v2 < 0)
		return -1;
	/* Core cgroup2 features that need no controller. */
	if (!strcmp(controller, "freezer") || !strcmp(controller, "devices") ||
	    !strcmp(controller, "cgroup"))
		return v2;
	return vs_cgroup_list_has(host->hier[v2].controllers, controller) ? v2 : -1;
}
