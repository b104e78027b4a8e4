/* Finding the guest kernel for a create. The fetch is in kernel_fetch.c. */
#include "microvm/kernel.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/fs.h"
#include "core/json.h"
#include "microvm/annotations.h"

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int vs_kernel_from_dir(const char *dir, vs_guest_kernel *out, vs_err *err)
{
	memset(out, 0, sizeof(*out));
	char dep[PATH_MAX];
	const char *base = strrchr(dir, '/');
	base = base ? base + 1 : dir;
	if (vs_path_join(out->image, sizeof(out->image), dir, "vmlinuz", err) < 0 ||
	    vs_path_join(dep, sizeof(dep), dir, "modules.dep", err) < 0)
		return -1;
	if (!is_file(out->image))
		return vs_fail(err, ENOENT, "guest kernel %s", out->image);
	if (is_file(dep)) {
		snprintf(out->modules, sizeof(out->modules), "%s", dir);
		snprintf(out->version, sizeof(out->version), "%s", base);
	}
	return 0;
}

/* A kernel image, or a directory in the cache layout. */
static int from_path(const char *path, vs_guest_kernel *out, vs_err *err)
{
	if (is_dir(path))
		return vs_kernel_from_dir(path, out, err);
	if (!is_file(path))
		return vs_fail(err, ENOENT, "guest kernel %s", path);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	if (vs_kernel_from_dir(dirname(dir), out, NULL) == 0 && out->modules[0]) {
		snprintf(out->image, sizeof(out->image), "%s", path);
		return 0;
	}
	/* No module tree beside it: the kernel must have what it needs built in. */
	memset(out, 0, sizeof(*out));
	snprintf(out->image, sizeof(out->image), "%s", path);
	return 0;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return n && !strncmp(path, dir, n) &&
	       (path[n] == '/' || path[n] == '\0' || dir[n - 1] == '/');
}

/* The annotation comes with the bundle, so it may only pick among kernels
 * the host's administrator provided (the cache, or the directory of the
 * config file's kernel): any other host file would end up readable in the
 * guest. A bare name is a version in the cache. */
static int from_annotation(const char *v, const char *cache_dir, const char *cfg_kernel,
			   vs_guest_kernel *out, vs_err *err)
{
	char want[PATH_MAX];
	if (!strchr(v, '/')) {
		if (!*v || !strcmp(v, ".") || !strcmp(v, ".."))
			return vs_fail(err, 0, "annotation %s: \"%s\" is not a kernel version",
				       VS_ANN_VM_KERNEL, v);
		if (vs_path_join(want, sizeof(want), cache_dir, v, err) < 0)
			return -1;
	} else {
		snprintf(want, sizeof(want), "%s", v);
	}
	vs_autofree char *real = realpath(want, NULL);
	if (!real)
		return vs_fail_errno(err, "annotation %s: %s", VS_ANN_VM_KERNEL, want);
	vs_autofree char *cache = realpath(cache_dir, NULL);
	bool ok = cache && under(real, cache);
	if (!ok && cfg_kernel) {
		char d[PATH_MAX];
		snprintf(d, sizeof(d), "%s", cfg_kernel);
		vs_autofree char *cdir = realpath(dirname(d), NULL);
		ok = cdir && under(real, cdir);
	}
	if (!ok)
		return vs_fail(
			err, EPERM,
			"annotation %s: %s is outside the kernel cache %s (and the directory "
			"of %s's vm.kernel)",
			VS_ANN_VM_KERNEL, real, cache_dir, VS_CONFIG_FILE);
	if (from_path(real, out, err) < 0)
		return vs_err_wrap(err, "annotation %s", VS_ANN_VM_KERNEL);
	return 0;
}

/* {"vm": {"kernel": PATH}} in vessel's config file; *out NULL when unset. */
static int config_kernel(const char *file, char **out, vs_err *err)
{
	*out = NULL;
	vs_autofree char *text = NULL;
	vs_err rerr = { 0 };
	if (!file || vs_read_file(file, &text, NULL, &rerr) < 0)
		return rerr.errnum == ENOENT || !file ? 0 : (*err = rerr, -1);
	json_object *doc = json_tokener_parse(text), *vm = NULL;
	if (!doc || !json_object_is_type(doc, json_type_object)) {
		json_object_put(doc);
		return vs_fail(err, 0, "%s: not a JSON object", file);
	}
	char where[PATH_MAX + 8], vmwhere[PATH_MAX + 8];
	snprintf(where, sizeof(where), "%s:", file);
	snprintf(vmwhere, sizeof(vmwhere), "%s: vm", file);
	int rc = vs_json_get_object(doc, where, "vm", &vm, err);
	if (rc > 0)
		rc = vs_json_get_string(vm, vmwhere, "kernel", out, err);
	json_object_put(doc);
	return rc < 0 ? -1 : 0;
}

/* The highest version (strverscmp) with a vmlinuz. */
static int newest_cached(const char *cache_dir, vs_guest_kernel *out, bool *found, vs_err *err)
{
	*found = false;
	DIR *d = opendir(cache_dir);
	if (!d)
		return errno == ENOENT ? 0 : vs_fail_errno(err, "open %s", cache_dir);
	char best[256] = "";
	for (struct dirent *e; (e = readdir(d));) {
		char img[PATH_MAX];
		if (e->d_name[0] == '.' ||
		    snprintf(img, sizeof(img), "%s/%s/vmlinuz", cache_dir, e->d_name) >=
			    (int)sizeof(img) ||
		    !is_file(img) || strlen(e->d_name) >= sizeof(best))
			continue;
		if (!best[0] || strverscmp(e->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", e->d_name);
	}
	closedir(d);
	if (!best[0])
		return 0;
	char dir[PATH_MAX];
	if (vs_path_join(dir, sizeof(dir), cache_dir, best, err) < 0 ||
	    vs_kernel_from_dir(dir, out, err) < 0)
		return -1;
	*found = true;
	return 0;
}

int vs_kernel_lookup(json_object *annotations, const char *config_file, const char *cache_dir,
		     vs_guest_kernel *out, vs_err *err)
{
	const char *ann;
	vs_autofree char *cfg = NULL;
	if (vs_annotation_get(annotations, VS_ANN_VM_KERNEL, &ann, err) < 0 ||
	    config_kernel(config_file, &cfg, err) < 0)
		return -1;
	if (ann)
		return from_annotation(ann, cache_dir, cfg, out, err);
	if (cfg) {
		if (from_path(cfg, out, err) < 0)
			return vs_err_wrap(err, "%s: vm.kernel", config_file);
		return 0;
	}
	bool found;
	if (newest_cached(cache_dir, out, &found, err) < 0)
		return -1;
	if (!found)
		return vs_fail(err, 0, "no guest kernel: run `vessel vm fetch-kernel` (or set %s)",
			       VS_ANN_VM_KERNEL);
	return 0;
}
