#include "microvm/initramfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
static int check_compression(const vs_guest_kernel *k, int dfd, const char *rel, vs_err *err)
{
	if (!has_suffix(rel, ".xz") && !has_suffix(rel, ".zst") && !has_suffix(rel, ".gz"))
		return 0;
	vs_autofree char *text = NULL;
	if (vs_read_beneath(dfd, k->modules, "config", &text, NULL, NULL) == 0 &&
	    strstr(text, "\nCONFIG_MODULE_DECOMPRESS=y"))
		return 0;
	return vs_fail(err, 0,
		       "%s/%s: compressed, and the kernel cannot decompress modules (no "
		       "CONFIG_MODULE_DECOMPRESS=y in %s/config): decompress the module directory "
		       "first",
		       k->modules, rel, k->modules);
}

typedef int (*module_fn)(void *ctx, const char *rel, const char *data, size_t len, vs_err *err);

/* Each module the agent needs, in load order, read beneath the module
 * directory with no symlink followed: the tree is data, and a link in it
 * (kernel/virtio_mmio.ko -> /etc/shadow) must not put a host file in the
 * guest. The directory is opened once, so every module is read from the
 * same one. dev/ino: that directory's, for the cache key. */
static int each_module(const vs_guest_kernel *k, module_fn fn, void *ctx, struct stat *dir,
		       vs_err *err)
{
	vs_autoclose int dfd = open(k->modules, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return vs_fail_errno(err, "open %s", k->modules);
	if (dir && fstat(dfd, dir) < 0)
		return vs_fail_errno(err, "stat %s", k->modules);
	char **paths = NULL;
	if (vs_modules_resolve(k->modules, vs_guest_modules, &paths, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && paths[i]; i++) {
		vs_autofree char *data = NULL;
		size_t len;
		if (check_module_path(k, paths[i], err) < 0 ||
		    check_compression(k, dfd, paths[i], err) < 0 ||
		    vs_read_beneath(dfd, k->modules, paths[i], &data, &len, err) < 0 ||
		    fn(ctx, paths[i], data, len, err) < 0)
			rc = -1;
	}
	vs_strv_free(paths);
	return rc;
}

static int add_data(vs_cpio *c, dirs *d, const char *name, const char *data, size_t len,
		    mode_t perm, vs_err *err)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(name, '/');
	snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - name) : 0, name);
	if (slash && ensure_dir(c, d, parent, err) < 0)
		return -1;
	return vs_cpio_file(c, name, perm, data, len, err);
}

static int add_file(vs_cpio *c, dirs *d, const char *name, const char *src, mode_t perm,
		    vs_err *err)
{
	vs_autofree char *data = NULL;
	size_t len;
	if (vs_read_file(src, &data, &len, err) < 0)
		return -1;
	return add_data(c, d, name, data, len, perm, err);
}

typedef struct adder {
	vs_cpio *c;
	dirs *d;
	const vs_guest_kernel *k;
	char *list; /* modules.list so far */
	size_t n, cap;
} adder;

static int add_module(void *ctx, const char *rel, const char *data, size_t len, vs_err *err)
{
	adder *a = ctx;
	char name[PATH_MAX];
	int w = snprintf(name, sizeof(name), "lib/modules/%s/%s", a->k->version, rel);
	if (w < 0 || (size_t)w >= sizeof(name))
		return vs_fail(err, ENAMETOOLONG, "module %s", rel);
	if (add_data(a->c, a->d, name, data, len, 0644, err) < 0)
		return -1;
	size_t need = a->n + strlen(name) + 2;
	if (need > a->cap) {
		char *nl = realloc(a->list, a->cap = need * 2);
		if (!nl)
			return vs_fail(err, ENOMEM, "initramfs");
		a->list = nl;
	}
	a->n += (size_t)sprintf(a->list + a->n, "%s\n", name);
	return 0;
}

static int add_modules(vs_cpio *c, dirs *d, const vs_guest_kernel *k, vs_err *err)
{
	adder a = { .c = c, .d = d, .k = k };
	int rc = each_module(k, add_module, &a, NULL, err);
	if (rc == 0)
		rc = vs_cpio_file(c, VS_MODULES_LIST, 0644, a.list ? a.list : "", a.n, err);
	free(a.list);
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

/* FNV-1a, fed piece by piece. */
static void fnv(uint64_t *h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++)
		*h = (*h ^ p[i]) * 1099511628211ULL;
	*h = (*h ^ len) * 1099511628211ULL; /* pieces end where they end */
}

static int hash_module(void *ctx, const char *rel, const char *data, size_t len, vs_err *err)
{
	(void)err;
	fnv(ctx, rel, strlen(rel));
	fnv(ctx, data, len);
	return 0;
}

/* The cache key: everything the archive is made of. The directory's name
 * (the version) is only a label: two trees may carry the same one, so the
 * key also holds the tree's real path, its inode, and every byte that goes
 * in (agent and modules), read the way the build reads them. Not a defence
 * on its own (FNV is no MAC): the kernels a create may use are the host
 * administrator's (kernel.c), this keeps one tree's archive from standing in
 * for another's, and a changed tree from using a stale one. */
static int cache_key(const char *agent, const vs_guest_kernel *k, uint64_t *h, vs_err *err)
{
	vs_autofree char *data = NULL;
	size_t len;
	if (vs_read_file(agent, &data, &len, err) < 0)
		return vs_err_wrap(err, "guest agent");
	*h = 1469598103934665603ULL;
	fnv(h, data, len);
	if (!k->modules[0])
		return 0;
	vs_autofree char *real = realpath(k->modules, NULL);
	if (!real)
		return vs_fail_errno(err, "resolve %s", k->modules);
	struct stat st;
	if (each_module(k, hash_module, h, &st, err) < 0)
		return -1;
	uint64_t id[2] = { (uint64_t)st.st_dev, (uint64_t)st.st_ino };
	fnv(h, real, strlen(real));
	fnv(h, id, sizeof(id));
	fnv(h, k->version, strlen(k->version));
	return 0;
}

int vs_initramfs_get(const char *agent, const vs_guest_kernel *k, const char *cache_dir, char *path,
		     size_t len, vs_err *err)
{
	uint64_t h = 0;
	if (cache_key(agent, k, &h, err) < 0 || vs_mkdir_p(cache_dir, 0700, err) < 0)
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
