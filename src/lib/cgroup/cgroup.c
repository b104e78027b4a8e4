/* A container's cgroup: directories per hierarchy, creation and
 * membership (its processes and removal: teardown.c). */
#include "cgroup/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/internal.h"
#include "core/cleanup.h"
#include "core/fs.h"
#include "core/log.h"

int vs_cgroup_hier_path(const vs_cgroup_hier *h, const char *cg_path, char *out, size_t len)
{
	/* cg_path is relative to the hierarchy root; the mount may show a subtree. */
	const char *rel = cg_path;
	size_t rl = strlen(h->root);
	if (strcmp(h->root, "/") && !strncmp(cg_path, h->root, rl) &&
	    (cg_path[rl] == '/' || !cg_path[rl]))
		rel = cg_path + rl;
	int n = (!rel[0] || !strcmp(rel, "/")) ? snprintf(out, len, "%s", h->mount)
					       : snprintf(out, len, "%s%s", h->mount, rel);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* The directory of path in hierarchy h. Absolute paths hang off the mount
 * point; relative ones off our own cgroup (its parent on cgroup2, whose
 * own cgroup usually has processes and so cannot have children with
 * controllers), as runc does. */
static int hier_dir(const vs_cgroup_hier *h, const char *path, char *out, size_t len, vs_err *err)
{
	int n;
	if (path[0] == '/') {
		n = snprintf(out, len, "%s%s", h->mount, path);
	} else {
		char base[256];
		snprintf(base, sizeof(base), "%s", h->own);
		if (h->v2 && strcmp(base, "/")) {
			char *slash = strrchr(base, '/');
			if (slash == base)
				base[1] = '\0';
			else if (slash)
				*slash = '\0';
		}
		char dir[PATH_MAX];
		if (vs_cgroup_hier_path(h, base, dir, sizeof(dir)) < 0)
			return vs_fail(err, ENAMETOOLONG, "cgroup path %s under %s", base,
				       h->mount);
		n = snprintf(out, len, "%s/%s", dir, path);
	}
	if (n < 0 || (size_t)n >= len)
		return vs_fail(err, ENAMETOOLONG, "cgroup path %s under %s", path, h->mount);
	return 0;
}

vs_cgroup *vs_cgroup_open(const vs_cgroup_host *host, const char *path, vs_err *err)
{
	vs_cgroup *cg = calloc(1, sizeof(*cg));
	if (!cg) {
		vs_fail(err, ENOMEM, "cgroup %s", path);
		return NULL;
	}
	cg->layout = host->layout;
	snprintf(cg->path, sizeof(cg->path), "%s", path);
	for (int i = 0; i < host->n_hier; i++) {
		const vs_cgroup_hier *h = &host->hier[i];
		vs_cgroup_dir *d = &cg->d[cg->n++];
		snprintf(d->mount, sizeof(d->mount), "%s", h->mount);
		snprintf(d->controllers, sizeof(d->controllers), "%s", h->controllers);
		d->v2 = h->v2;
		if (hier_dir(h, path, d->dir, sizeof(d->dir), err) < 0) {
			free(cg);
			return NULL;
		}
	}
	return cg;
}

void vs_cgroup_free(vs_cgroup *cg)
{
	free(cg);
}

int vs_cgroup_save(const vs_cgroup *cg, const char *file, vs_err *err)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "layout",
			       json_object_new_string(vs_cgroup_layout_name(cg->layout)));
	json_object_object_add(o, "path", json_object_new_string(cg->path));
	json_object *arr = json_object_new_array();
	for (int i = 0; i < cg->n; i++) {
		json_object *h = json_object_new_object();
		json_object_object_add(h, "mount", json_object_new_string(cg->d[i].mount));
		json_object_object_add(h, "controllers",
				       json_object_new_string(cg->d[i].controllers));
		json_object_object_add(h, "v2", json_object_new_boolean(cg->d[i].v2));
		json_object_object_add(h, "dir", json_object_new_string(cg->d[i].dir));
		json_object_array_add(arr, h);
	}
	json_object_object_add(o, "hierarchies", arr);
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								  JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = vs_write_file_atomic(file, s, strlen(s), 0600, err);
	json_object_put(o);
	return rc;
}

static const char *str_member(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

vs_cgroup *vs_cgroup_load(const char *file, vs_err *err)
{
	vs_autofree char *text = NULL;
	if (vs_read_file(file, &text, NULL, err) < 0)
		return NULL;
	json_object *o = json_tokener_parse(text);
	vs_cgroup *cg = calloc(1, sizeof(*cg));
	json_object *arr;
	const char *layout = o ? str_member(o, "layout") : NULL,
		   *path = o ? str_member(o, "path") : NULL;
	if (!cg || !o || !layout || !path || !json_object_object_get_ex(o, "hierarchies", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		vs_fail(err, cg ? 0 : ENOMEM, "%s: not a cgroup record", file);
		goto fail;
	}
	cg->layout = !strcmp(layout, "v2")	 ? VS_CGROUP_V2
		     : !strcmp(layout, "hybrid") ? VS_CGROUP_HYBRID
						 : VS_CGROUP_V1;
	snprintf(cg->path, sizeof(cg->path), "%s", path);
	for (size_t i = 0; i < json_object_array_length(arr) && cg->n < VS_CGROUP_MAX_HIER; i++) {
		json_object *h = json_object_array_get_idx(arr, i), *v2;
		const char *mount = str_member(h, "mount"), *ctrls = str_member(h, "controllers"),
			   *dir = str_member(h, "dir");
		if (!mount || !ctrls || !dir || !json_object_object_get_ex(h, "v2", &v2)) {
			vs_fail(err, 0, "%s: not a cgroup record", file);
			goto fail;
		}
		vs_cgroup_dir *d = &cg->d[cg->n++];
		snprintf(d->mount, sizeof(d->mount), "%s", mount);
		snprintf(d->controllers, sizeof(d->controllers), "%s", ctrls);
		snprintf(d->dir, sizeof(d->dir), "%s", dir);
		d->v2 = json_object_get_boolean(v2);
	}
	json_object_put(o);
	return cg;
fail:
	json_object_put(o);
	free(cg);
	return NULL;
}

const char *vs_cgroup_dir_of(const vs_cgroup *cg, const char *controller, bool *v2)
{
	const vs_cgroup_dir *u = NULL;
	for (int i = 0; i < cg->n; i++) {
		if (cg->d[i].v2) {
			u = &cg->d[i];
			continue;
		}
		if (vs_cgroup_list_has(cg->d[i].controllers, controller)) {
			if (v2)
				*v2 = false;
			return cg->d[i].dir;
		}
	}
	if (!u)
		return NULL;
	if (!strcmp(controller, "freezer") || !strcmp(controller, "devices") ||
	    !strcmp(controller, "cgroup") || vs_cgroup_list_has(u->controllers, controller)) {
		if (v2)
			*v2 = true;
		return u->dir;
	}
	return NULL;
}

const char *vs_cgroup_v2_dir(const vs_cgroup *cg)
{
	for (int i = 0; i < cg->n; i++)
		if (cg->d[i].v2)
			return cg->d[i].dir;
	return NULL;
}

/* One write per line on an O_APPEND fd: a crash half way still leaves
 * every directory made so far on record, without an open per line. */
static int append_line(int fd, const char *file, const char *line, vs_err *err)
{
	char buf[PATH_MAX + 2];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);
	if (n < 0 || (size_t)n >= sizeof(buf) || write(fd, buf, (size_t)n) != n)
		return vs_fail_errno(err, "write %s", file);
	return 0;
}

/* A new v1 cpuset cgroup starts with empty cpus/mems and refuses tasks
 * ("No space left on device"): inherit the parent's values. */
static int cpuset_inherit(const char *dir, vs_err *err)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	for (int i = 0; i < 2; i++) {
		vs_autofree char *cur = vs_cg_read(dir, files[i]);
		if (!cur)
			return 0; /* not a cpuset hierarchy */
		if (cur[0] != '\n' && cur[0] != '\0')
			continue;
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%s", dir);
		char *slash = strrchr(parent, '/');
		if (!slash)
			continue;
		*slash = '\0';
		vs_autofree char *val = vs_cg_read(parent, files[i]);
		if (!val)
			return vs_fail_errno(err, "cgroup cpuset: read %s/%s", parent, files[i]);
		val[strcspn(val, "\n")] = '\0';
		if (vs_cg_write("cpuset", dir, files[i], val, err) < 0)
			return -1;
	}
	return 0;
}

/* On cgroup2, offer the children of dir every controller dir has. A level
 * with processes of its own cannot (the no-internal-process rule): those
 * failures only mean the controller will be missing below, which apply
 * reports by name if a resource needs it. */
static void enable_controllers(const char *dir)
{
	vs_autofree char *avail = vs_cg_read(dir, "cgroup.controllers");
	vs_autofree char *on = vs_cg_read(dir, "cgroup.subtree_control");
	if (!avail)
		return;
	char *save = NULL;
	for (char *c = strtok_r(avail, " \n", &save); c; c = strtok_r(NULL, " \n", &save)) {
		char plus[80];
		bool enabled = false;
		for (char *p = on; p && *p; p += strspn(p, " \n")) {
			size_t n = strcspn(p, " \n");
			if (n == strlen(c) && !strncmp(p, c, n))
				enabled = true;
			p += n;
		}
		if (enabled)
			continue;
		snprintf(plus, sizeof(plus), "+%s", c);
		vs_err e = { 0 };
		if (vs_cg_write(c, dir, "cgroup.subtree_control", plus, &e) < 0)
			vs_debug("%s", e.msg);
	}
}

static int create_one(const vs_cgroup_dir *d, int record_fd, const char *created_list, vs_err *err)
{
	char full[PATH_MAX];
	snprintf(full, sizeof(full), "%s", d->dir);
	size_t base = strlen(d->mount);
	if (strncmp(full, d->mount, base) || (full[base] != '/' && full[base] != '\0'))
		return vs_fail(err, 0, "cgroup %s is not below %s", full, d->mount);
	/* Walk down from the mount point, creating and recording each missing level. */
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
		if (ours && append_line(record_fd, created_list, full, err) < 0)
			return -1;
		if (!d->v2 && vs_cgroup_list_has(d->controllers, "cpuset") &&
		    cpuset_inherit(full, err) < 0)
			return -1;
		*p = saved;
		if (!saved)
			break;
		/* Not the leaf: on cgroup2 pass the controllers on. */
		if (d->v2) {
			*p = '\0';
			enable_controllers(full);
			*p = saved;
		}
	}
	return 0;
}

int vs_cgroup_create(const vs_cgroup *cg, const char *created_list, vs_err *err)
{
	vs_autoclose int record_fd =
		open(created_list, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (record_fd < 0)
		return vs_fail_errno(err, "open %s", created_list);
	for (int i = 0; i < cg->n; i++) {
		const vs_cgroup_dir *d = &cg->d[i];
		if (d->v2) {
			/* The mount point itself is the first level to enable. */
			enable_controllers(d->mount);
		}
		/* Another container's delete can remove a shared parent (/vessel)
		 * between our mkdir of it and of its child: walk again. */
		int rc = -1;
		for (int tries = 0; tries < 5 && rc < 0; tries++) {
			vs_err e = { 0 };
			rc = create_one(d, record_fd, created_list, &e);
			if (rc < 0 && (e.errnum != ENOENT || tries == 4)) {
				*err = e;
				return -1;
			}
		}
	}
	return 0;
}

int vs_cgroup_enter(const vs_cgroup *cg, pid_t pid, vs_err *err)
{
	char pidbuf[32];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	for (int i = 0; i < cg->n; i++) {
		char first[64];
		snprintf(first, sizeof(first), "%.*s", (int)strcspn(cg->d[i].controllers, ","),
			 cg->d[i].controllers);
		if (vs_cg_write(cg->d[i].v2 ? "cgroup2" : first, cg->d[i].dir, "cgroup.procs",
				pidbuf, err) < 0)
			return -1;
	}
	return 0;
}
