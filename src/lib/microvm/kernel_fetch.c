/* `vessel vm fetch-kernel`: Debian's cloud kernel into the kernel cache
 * (layout in kernel.h). apt-get and dpkg-deb do the downloading and the
 * unpacking; everything is staged in a directory inside the cache and moved
 * into place with one rename, so a create never sees half a kernel. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/fs.h"
#include "microvm/elf.h"
#include "microvm/kernel.h"
#include "microvm/modules.h"

/* Paths under the cache: its length is bounded at entry (MAX_CACHE_DIR)
 * and every piece added is bounded too, so these never truncate. */
#define MAX_CACHE_DIR 2048
static void __attribute__((format(printf, 3, 4))) pathf(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, len, fmt, ap);
	va_end(ap);
}

/* Run argv in cwd; its stdout into out (NUL-terminated, truncated at len)
 * when out is given, else to our stderr so our stdout stays the result. */
static int run(char *const argv[], const char *cwd, char *out, size_t len, vs_err *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return vs_fail_errno(err, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return vs_fail_errno(err, "fork");
	}
	if (pid == 0) {
		if (dup2(out ? p[1] : STDERR_FILENO, STDOUT_FILENO) < 0 || chdir(cwd) < 0)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	/* Drained to EOF even past len, so the child never blocks on us. */
	size_t n = 0;
	char buf[4096];
	for (ssize_t r; (r = read(p[0], buf, sizeof(buf))) != 0;) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (out && n + 1 < len) {
			size_t take = (size_t)r < len - 1 - n ? (size_t)r : len - 1 - n;
			memcpy(out + n, buf, take);
			n += take;
		}
	}
	close(p[0]);
	if (out)
		out[n] = '\0';
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return vs_fail_errno(err, "wait for %s", argv[0]);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return vs_fail(err, 0, "%s %s: failed (status %d%s)", argv[0], argv[1],
			       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
			       WIFEXITED(st) && WEXITSTATUS(st) == 127 ? ", not installed?" : "");
	return 0;
}

/* The one file in dir named "<prefix>_*.deb" (apt-get download's naming). */
static int find_deb(const char *dir, const char *prefix, char *out, size_t len, vs_err *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return vs_fail_errno(err, "open %s", dir);
	size_t pl = strlen(prefix);
	int found = 0;
	for (struct dirent *e; (e = readdir(d));) {
		size_t n = strlen(e->d_name);
		if (!strncmp(e->d_name, prefix, pl) && e->d_name[pl] == '_' && n > 4 &&
		    !strcmp(e->d_name + n - 4, ".deb")) {
			snprintf(out, len, "%s/%s", dir, e->d_name);
			found++;
		}
	}
	closedir(d);
	return found == 1
		       ? 0
		       : vs_fail(err, 0, "%s: expected one %s_*.deb, found %d", dir, prefix, found);
}

/* "linux-image-6.1.0-27-cloud-amd64 (= 6.1.115-1)" -> the package name. */
static int versioned_package(const char *depends, char *out, size_t len, vs_err *err)
{
	const char *p = strstr(depends, "linux-image-");
	size_t n = p ? strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789.+-") : 0;
	if (!p || n >= len || n <= strlen("linux-image-"))
		return vs_fail(err, 0, "%s: Depends \"%s\" names no linux-image package",
			       VS_KERNEL_PACKAGE, depends);
	snprintf(out, len, "%.*s", (int)n, p);
	return 0;
}

static int download(const char *tmp, char *deb, size_t len, vs_err *err)
{
	char meta[PATH_MAX], depends[1024], pkg[128];
	char *get_meta[] = { "apt-get", "download", "-q", VS_KERNEL_PACKAGE, NULL };
	if (run(get_meta, tmp, NULL, 0, err) < 0 ||
	    find_deb(tmp, VS_KERNEL_PACKAGE, meta, sizeof(meta), err) < 0)
		return -1;
	/* The metapackage holds no kernel: it depends on the versioned one. */
	char *fields[] = { "dpkg-deb", "-f", meta, "Depends", NULL };
	if (run(fields, tmp, depends, sizeof(depends), err) < 0 ||
	    versioned_package(depends, pkg, sizeof(pkg), err) < 0)
		return -1;
	char *get[] = { "apt-get", "download", "-q", pkg, NULL };
	return run(get, tmp, NULL, 0, err) < 0 ? -1 : find_deb(tmp, pkg, deb, len, err);
}

/* The one directory under x/lib/modules: the kernel's version. */
static int find_version(const char *x, char *ver, size_t len, vs_err *err)
{
	char dir[PATH_MAX];
	pathf(dir, sizeof(dir), "%s/lib/modules", x);
	DIR *d = opendir(dir);
	if (!d)
		return vs_fail_errno(err, "kernel package: open %s", dir);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.' && strlen(e->d_name) < len) {
			snprintf(ver, len, "%s", e->d_name);
			n++;
		}
	closedir(d);
	return n == 1 ? 0 : vs_fail(err, 0, "kernel package: %d versions under %s", n, dir);
}

/* name -> path (relative to the module root) of every .ko under it. */
typedef struct modindex {
	struct {
		char name[64];
		char rel[256];
	} * e;
	size_t n;
} modindex;

static int index_dir(const char *root, const char *rel, modindex *ix, vs_err *err)
{
	char dir[PATH_MAX];
	pathf(dir, sizeof(dir), "%s/%s", root, rel);
	DIR *d = opendir(dir);
	if (!d)
		return vs_fail_errno(err, "open %s", dir);
	int rc = 0;
	for (struct dirent *e; rc == 0 && (e = readdir(d));) {
		char sub[256];
		if (e->d_name[0] == '.' ||
		    snprintf(sub, sizeof(sub), "%s/%s", rel, e->d_name) >= (int)sizeof(sub))
			continue;
		if (e->d_type == DT_DIR) {
			rc = index_dir(root, sub, ix, err);
		} else if (strstr(e->d_name, ".ko")) {
			void *v = realloc(ix->e, (ix->n + 1) * sizeof(*ix->e));
			if (!v) {
				rc = vs_fail(err, ENOMEM, "module index");
				break;
			}
			ix->e = v;
			vs_module_name(e->d_name, ix->e[ix->n].name, sizeof(ix->e[0].name));
			snprintf(ix->e[ix->n].rel, sizeof(ix->e[0].rel), "%s", sub);
			ix->n++;
		}
	}
	closedir(d);
	return rc;
}

static const char *lookup(const modindex *ix, const char *name)
{
	for (size_t i = 0; i < ix->n; i++)
		if (!strcmp(ix->e[i].name, name))
			return ix->e[i].rel;
	return NULL;
}

static int copy_file(const char *from, const char *to, vs_err *err)
{
	vs_autofree char *data = NULL;
	size_t len;
	char dir[PATH_MAX];
	pathf(dir, sizeof(dir), "%s", to);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	if (vs_read_file(from, &data, &len, err) < 0 || vs_mkdir_p(dir, 0755, err) < 0)
		return -1;
	return vs_write_file(to, data, len, 0644, err);
}

typedef struct keep {
	const char *src, *dst; /* module roots: extracted, staged */
	const modindex *ix;
	const char *builtin;
	FILE *dep; /* the staged modules.dep */
	char done[512][64];
	size_t n_done;
} keep;

static bool builtin(const keep *k, const char *name)
{
	char want[80];
	snprintf(want, sizeof(want), "/%s.ko\n", name);
	if (k->builtin && strstr(k->builtin, want))
		return true;
	/* modules.builtin spells some with '-' (virtio-rng.ko). */
	for (char *p = want; *p; p++)
		if (*p == '_')
			*p = '-';
	return k->builtin && strstr(k->builtin, want);
}

/* Copy name and what it depends on (.modinfo "depends="), each once, and
 * write its modules.dep line. */
static int keep_module(keep *k, const char *name, vs_err *err)
{
	for (size_t i = 0; i < k->n_done; i++)
		if (!strcmp(k->done[i], name))
			return 0;
	const char *rel = lookup(k->ix, name);
	if (!rel)
		return builtin(k, name)
			       ? 0
			       : vs_fail(err, 0, "kernel package: no module %s (nor built in)",
					 name);
	if (k->n_done == sizeof(k->done) / sizeof(k->done[0]))
		return vs_fail(err, E2BIG, "kernel package: too many modules");
	snprintf(k->done[k->n_done++], sizeof(k->done[0]), "%s", name);
	char from[PATH_MAX], to[PATH_MAX];
	pathf(from, sizeof(from), "%s/%s", k->src, rel);
	pathf(to, sizeof(to), "%s/%s", k->dst, rel);
	vs_autofree char *deps = NULL, *line = NULL;
	if (vs_elf_modinfo(from, "depends", &deps, err) < 0 || copy_file(from, to, err) < 0)
		return -1;
	if (!(line = strdup(deps)))
		return vs_fail(err, ENOMEM, "modules.dep");
	fprintf(k->dep, "%s:", rel);
	char *save;
	for (char *d = strtok_r(line, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
		char dn[64];
		vs_module_name(d, dn, sizeof(dn));
		const char *drel = lookup(k->ix, dn);
		if (drel)
			fprintf(k->dep, " %s", drel);
	}
	fputc('\n', k->dep);
	for (char *d = strtok_r(deps, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
		char dn[64];
		vs_module_name(d, dn, sizeof(dn));
		if (keep_module(k, dn, err) < 0)
			return -1;
	}
	return 0;
}

/* Image, config, modules.builtin and the agent's modules into stage. */
static int stage_kernel(const char *x, const char *ver, const char *stage, vs_err *err)
{
	char from[PATH_MAX], to[PATH_MAX], modroot[PATH_MAX], dep[PATH_MAX];
	pathf(modroot, sizeof(modroot), "%s/lib/modules/%s", x, ver);
	static const char *const files[][2] = { { "boot/vmlinuz-", "vmlinuz" },
						{ "boot/config-", "config" } };
	if (mkdir(stage, 0755) < 0)
		return vs_fail_errno(err, "mkdir %s", stage);
	for (size_t i = 0; i < 2; i++) {
		pathf(from, sizeof(from), "%s/%s%s", x, files[i][0], ver);
		pathf(to, sizeof(to), "%s/%s", stage, files[i][1]);
		if (copy_file(from, to, err) < 0)
			return vs_err_wrap(err, "kernel package");
	}
	vs_autofree char *bi = NULL;
	pathf(from, sizeof(from), "%s/modules.builtin", modroot);
	pathf(to, sizeof(to), "%s/modules.builtin", stage);
	if (vs_read_file(from, &bi, NULL, NULL) == 0 &&
	    vs_write_file(to, bi, strlen(bi), 0644, err) < 0)
		return -1;
	modindex ix = { 0 };
	pathf(dep, sizeof(dep), "%s/modules.dep", stage);
	keep k = { .src = modroot, .dst = stage, .ix = &ix, .builtin = bi };
	int rc = index_dir(modroot, "kernel", &ix, err);
	if (rc == 0 && !(k.dep = fopen(dep, "we")))
		rc = vs_fail_errno(err, "open %s", dep);
	for (size_t i = 0; rc == 0 && vs_guest_modules[i]; i++)
		rc = keep_module(&k, vs_guest_modules[i], err);
	if (k.dep && fclose(k.dep) != 0 && rc == 0)
		rc = vs_fail_errno(err, "write %s", dep);
	free(ix.e);
	return rc;
}

/* Into place: a first fetch renames; a refetch swaps the two directories
 * in one step (RENAME_EXCHANGE) and removes the old one. */
static int publish(const char *stage, const char *final, vs_err *err)
{
	if (rename(stage, final) == 0)
		return 0;
	if (errno != EEXIST && errno != ENOTEMPTY)
		return vs_fail_errno(err, "rename %s", stage);
	if (syscall(SYS_renameat2, AT_FDCWD, stage, AT_FDCWD, final, 2 /* RENAME_EXCHANGE */) < 0)
		return vs_fail_errno(err, "rename %s to %s", stage, final);
	return 0;
}

int vs_kernel_fetch(const char *cache_dir, const char *deb, vs_guest_kernel *out, vs_err *err)
{
	char tmp[PATH_MAX], pkg[PATH_MAX], x[PATH_MAX], ver[128], stage[PATH_MAX], final[PATH_MAX];
	if (strlen(cache_dir) > MAX_CACHE_DIR)
		return vs_fail(err, ENAMETOOLONG, "kernel cache %.64s...", cache_dir);
	if (vs_mkdir_p(cache_dir, 0755, err) < 0)
		return -1;
	pathf(tmp, sizeof(tmp), "%s/.fetch-XXXXXX", cache_dir);
	if (!mkdtemp(tmp))
		return vs_fail_errno(err, "mkdtemp %s", tmp);
	int rc = -1;
	if (deb) {
		vs_autofree char *real = realpath(deb, NULL);
		if (!real) {
			vs_fail_errno(err, "--deb %s", deb);
			goto out;
		}
		snprintf(pkg, sizeof(pkg), "%s", real);
	} else if (download(tmp, pkg, sizeof(pkg), err) < 0) {
		goto out;
	}
	pathf(x, sizeof(x), "%s/x", tmp);
	char *extract[] = { "dpkg-deb", "-x", pkg, x, NULL };
	if (run(extract, tmp, NULL, 0, err) < 0 || find_version(x, ver, sizeof(ver), err) < 0)
		goto out;
	pathf(stage, sizeof(stage), "%s/%s", tmp, ver);
	if (vs_path_join(final, sizeof(final), cache_dir, ver, err) < 0 ||
	    stage_kernel(x, ver, stage, err) < 0 || publish(stage, final, err) < 0)
		goto out;
	rc = vs_kernel_from_dir(final, out, err);
out:;
	vs_err rerr = { 0 };
	if (vs_remove_tree(tmp, &rerr) < 0 && rc == 0)
		rc = (*err = rerr, -1);
	return rc;
}
