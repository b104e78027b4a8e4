#include "microvm/initramfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/fs.h"
#include "core/strv.h"
#include "microvm/cpio.h"
#include "microvm/elf.h"
#include "microvm/modules.h"

/* Directories already in the archive, so each parent is written once and
 * before its entries (the kernel's unpacker needs them first). */
typedef struct dirs {
	char **v;
	size_t n;
} dirs;

static int ensure_dir(vs_cpio *c, dirs *d, const char *path, vs_err *err)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->v[i], path))
			return 0;
	const char *slash = strrchr(path, '/');
	if (slash) {
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
		if (ensure_dir(c, d, parent, err) < 0)
			return -1;
	}
	char **v = realloc(d->v, (d->n + 1) * sizeof(*v));
	if (!v)
		return vs_fail(err, ENOMEM, "initramfs");
	d->v = v;
	if (!(v[d->n] = strdup(path)))
		return vs_fail(err, ENOMEM, "initramfs");
	d->n++;
	return vs_cpio_dir(c, path, 0755, err);
}

static void dirs_free(dirs *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i]);
	free(d->v);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

/* modules.dep is data: its paths must stay inside the module directory. */
static int check_module_path(const vs_guest_kernel *k, const char *rel, vs_err *err)
{
	if (rel[0] == '/' || !strcmp(rel, "..") || !strncmp(rel, "../", 3) || strstr(rel, "/../") ||
	    has_suffix(rel, "/.."))
		return vs_fail(err, 0, "%s/modules.dep: module path \"%s\" leaves the directory",
			       k->modules, rel);
	return 0;
}

/* Compressed modules go in as they are only if the guest kernel can
 * decompress them itself (finit_module with MODULE_INIT_COMPRESSED_FILE);
 * vessel does not carry decompressors. Debian 12's cloud kernel has
 * uncompressed modules (CONFIG_MODULE_COMPRESS_NONE). */
static int check_compression(const vs_guest_kernel *k, const char *rel, vs_err *err)
{
	if (!has_suffix(rel, ".xz") && !has_suffix(rel, ".zst") && !has_suffix(rel, ".gz"))
		return 0;
	char cfg[PATH_MAX + 16];
	vs_autofree char *text = NULL;
	snprintf(cfg, sizeof(cfg), "%s/config", k->modules);
	if (vs_read_file(cfg, &text, NULL, NULL) == 0 &&
	    strstr(text, "\nCONFIG_MODULE_DECOMPRESS=y"))
		return 0;
	return vs_fail(err, 0,
		       "%s/%s: compressed, and the kernel cannot decompress modules (no "
		       "CONFIG_MODULE_DECOMPRESS=y in %s): decompress the module directory first",
		       k->modules, rel, cfg);
}

static int add_file(vs_cpio *c, dirs *d, const char *name, const char *src, mode_t perm,
		    vs_err *err)
{
	vs_autofree char *data = NULL;
	size_t len;
	char parent[PATH_MAX];
	const char *slash = strrchr(name, '/');
	snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - name) : 0, name);
	if (vs_read_file(src, &data, &len, err) < 0 || (slash && ensure_dir(c, d, parent, err) < 0))
		return -1;
	return vs_cpio_file(c, name, perm, data, len, err);
}

static int add_modules(vs_cpio *c, dirs *d, const vs_guest_kernel *k, vs_err *err)
{
	char **paths = NULL;
	if (vs_modules_resolve(k->modules, vs_guest_modules, &paths, err) < 0)
		return -1;
	size_t cap = 256, n = 0;
	char *list = calloc(1, cap);
	int rc = list ? 0 : vs_fail(err, ENOMEM, "initramfs");
	for (size_t i = 0; rc == 0 && paths[i]; i++) {
		char name[PATH_MAX], src[PATH_MAX];
		if (check_module_path(k, paths[i], err) < 0 ||
		    check_compression(k, paths[i], err) < 0) {
			rc = -1;
			break;
		}
		int w = snprintf(name, sizeof(name), "lib/modules/%s/%s", k->version, paths[i]);
		if (w < 0 || (size_t)w >= sizeof(name) ||
		    vs_path_join(src, sizeof(src), k->modules, paths[i], err) < 0) {
			rc = vs_fail(err, ENAMETOOLONG, "module %s", paths[i]);
			break;
		}
		if ((rc = add_file(c, d, name, src, 0644, err)) < 0)
			break;
		size_t need = n + strlen(name) + 2;
		if (need > cap) {
			char *nl = realloc(list, cap = need * 2);
			if (!nl) {
				rc = vs_fail(err, ENOMEM, "initramfs");
				break;
			}
			list = nl;
		}
		n += (size_t)sprintf(list + n, "%s\n", name);
	}
	if (rc == 0)
		rc = vs_cpio_file(c, VS_MODULES_LIST, 0644, list, n, err);
	free(list);
	vs_strv_free(paths);
	return rc;
}

int vs_initramfs_write(const char *agent, const vs_guest_kernel *k, const char *out, vs_err *err)
{
	if (vs_elf_check_static(agent, err) < 0)
		return vs_err_wrap(err, "guest agent");
	if (k->modules[0] && !k->version[0])
		return vs_fail(err, 0, "guest kernel modules %s: no version", k->modules);
	FILE *f = fopen(out, "we");
	if (!f)
		return vs_fail_errno(err, "open %s", out);
	vs_cpio c = { .f = f, .path = out };
	dirs d = { 0 };
	int rc = -1;
	/* The kernel opens /dev/console for init's stdio before init runs. */
	if (ensure_dir(&c, &d, "dev", err) < 0 ||
	    vs_cpio_chardev(&c, "dev/console", 0600, 5, 1, err) < 0 ||
	    ensure_dir(&c, &d, "proc", err) < 0 || ensure_dir(&c, &d, "sys", err) < 0 ||
	    ensure_dir(&c, &d, "vessel", err) < 0 || add_file(&c, &d, "init", agent, 0755, err) < 0)
		goto out;
	if (k->modules[0] ? add_modules(&c, &d, k, err) < 0
			  : vs_cpio_file(&c, VS_MODULES_LIST, 0644, "", 0, err) < 0)
		goto out;
	rc = vs_cpio_finish(&c, err);
out:
	dirs_free(&d);
	if (fclose(f) != 0 && rc == 0)
		rc = vs_fail_errno(err, "close %s", out);
	if (rc < 0)
		unlink(out);
	return rc;
}

/* FNV-1a over the agent's bytes: a cache key, not a defence (the cache is
 * root's, and a stale hit would only be an older agent of the same size). */
static int agent_hash(const char *agent, uint64_t *h, vs_err *err)
{
	vs_autofree char *data = NULL;
	size_t len;
	if (vs_read_file(agent, &data, &len, err) < 0)
		return vs_err_wrap(err, "guest agent");
	*h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++)
		*h = (*h ^ (unsigned char)data[i]) * 1099511628211ULL;
	*h ^= len;
	return 0;
}

int vs_initramfs_get(const char *agent, const vs_guest_kernel *k, const char *cache_dir, char *path,
		     size_t len, vs_err *err)
{
	uint64_t h = 0;
	if (agent_hash(agent, &h, err) < 0 || vs_mkdir_p(cache_dir, 0700, err) < 0)
		return -1;
	int n = snprintf(path, len, "%s/%s-%016llx.cpio", cache_dir,
			 k->version[0] ? k->version : "nomodules", (unsigned long long)h);
	if (n < 0 || (size_t)n >= len)
		return vs_fail(err, ENAMETOOLONG, "initramfs cache path");
	if (access(path, F_OK) == 0)
		return 0;
	char tmp[PATH_MAX + 32];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	if (vs_initramfs_write(agent, k, tmp, err) < 0)
		return -1;
	if (rename(tmp, path) < 0) {
		vs_fail_errno(err, "rename %s", tmp);
		unlink(tmp);
		return -1;
	}
	return 0;
}
