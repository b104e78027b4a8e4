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

static bool same(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* Whether real (resolved) is a version directory of the cache, or its
 * vmlinuz: a directory directly in cache, or that directory's vmlinuz. Not
 * a dot entry (a fetch in progress, kernel_fetch.c), as newest_cached. */
static bool in_cache(const char *real, const char *cache)
{
	size_t n = cache ? strlen(cache) : 0;
	if (!n || strncmp(real, cache, n) || real[n] != '/' || !strcmp(cache, "/"))
		return false;
	const char *v = real + n + 1, *slash = strchr(v, '/');
	if (!*v || *v == '.')
		return false;
	return slash ? !strcmp(slash, "/vmlinuz") : is_dir(real);
}

/* Whether real is the config file's kernel itself (resolved), or, when
 * that names a cache-layout directory, its vmlinuz. Never its directory's
 * siblings: vm.kernel "/vmlinuz" must not make all of / choosable. */
static bool is_cfg_kernel(const char *real, const char *cfg_kernel)
{
	if (!cfg_kernel)
		return false;
	vs_autofree char *c = realpath(cfg_kernel, NULL);
	if (same(real, c))
		return true;
	char img[PATH_MAX];
	return c && is_dir(c) && snprintf(img, sizeof(img), "%s/vmlinuz", c) < (int)sizeof(img) &&
	       !strcmp(real, img);
}

/* One message for every refusal, echoing only what the bundle said: the
 * host paths resolved here (as root) are not the bundle author's to see,
 * nor whether they exist. */
static int not_provided(const char *v, vs_err *err)
{
	return vs_fail(err, 0,
		       "annotation %s: \"%s\" is not a guest kernel this host provides (a version "
		       "in its kernel cache, or the kernel in %s)",
		       VS_ANN_VM_KERNEL, v, VS_CONFIG_FILE);
}

/* The annotation comes with the bundle, so it may only pick among kernels
 * the host's administrator provided: any other host file would end up
 * readable in the guest, as its kernel or its modules. A bare name is a
 * version in the cache. */
static int from_annotation(const char *v, const char *cache_dir, const char *cfg_kernel,
			   vs_guest_kernel *out, vs_err *err)
{
	char want[PATH_MAX];
	if (!strchr(v, '/')) {
		if (!*v || !strcmp(v, ".") || !strcmp(v, ".."))
			return not_provided(v, err);
		if (vs_path_join(want, sizeof(want), cache_dir, v, NULL) < 0)
			return not_provided(v, err);
	} else if (snprintf(want, sizeof(want), "%s", v) >= (int)sizeof(want)) {
		return not_provided(v, err);
	}
	vs_autofree char *real = realpath(want, NULL);
	vs_autofree char *cache = realpath(cache_dir, NULL);
	if (!real || !(in_cache(real, cache) || is_cfg_kernel(real, cfg_kernel)) ||
	    from_path(real, out, NULL) < 0)
		return not_provided(v, err);
	return 0;
}

/* {"vm": {"kernel": PATH}} in vessel's config file; *out NULL when unset. */
static int config_kernel(const char *file, char **out, vs_err *err)
{
	*out = NULL;
	json_object *doc, *vm;
	if (vs_host_config_vm(file, &doc, &vm, err) < 0)
		return -1;
	char where[PATH_MAX + 8];
	snprintf(where, sizeof(where), "%s: vm", file ? file : "");
	int rc = vm ? vs_json_get_string(vm, where, "kernel", out, err) : 0;
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
