#include "agent/boot.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/module.h>
#include <string.h>

#include "core/strv.h"

static int parse_root(const char *v, size_t len, vs_boot_root *out, vs_err *err)
{
	const char *kinds[] = { "virtiofs:", "blk:" };
	for (int k = 0; k < 2; k++) {
		size_t kl = strlen(kinds[k]);
		if (len <= kl || strncmp(v, kinds[k], kl))
			continue;
		size_t sl = len - kl;
		if (sl >= sizeof(out->source))
			return vs_fail(err, ENAMETOOLONG,
				       "kernel command line: vessel.root: too long");
		out->kind = k ? VS_ROOT_BLK : VS_ROOT_VIRTIOFS;
		memcpy(out->source, v + kl, sl);
		out->source[sl] = '\0';
		if (out->kind == VS_ROOT_BLK &&
		    (strncmp(out->source, "/dev/", 5) || strstr(out->source, "..")))
			return vs_fail(err, EINVAL,
				       "kernel command line: vessel.root: blk: \"%s\" is not a "
				       "/dev path",
				       out->source);
		return 0;
	}
	return vs_fail(err, EINVAL,
		       "kernel command line: vessel.root: \"%.*s\" is not virtiofs:TAG or "
		       "blk:/dev/NAME",
		       (int)(len > 64 ? 64 : len), v);
}

/* The next word of a kernel command line at *p (*w, *wl), *p moved past
 * it; false at the end. The kernel allows double quotes around a value,
 * spaces and all. */
static bool next_word(const char **p, const char **w, size_t *wl)
{
	const char *s = *p;
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	*w = s;
	bool quoted = false;
	while (*s && (quoted || (*s != ' ' && *s != '\t' && *s != '\n'))) {
		if (*s == '"')
			quoted = !quoted;
		s++;
	}
	*wl = (size_t)(s - *w);
	*p = s;
	return *wl > 0;
}

int vs_boot_parse_cmdline(const char *cmdline, vs_boot_root *out, vs_err *err)
{
	static const char key[] = "vessel.root=";
	const char *p = cmdline, *w;
	size_t wl;
	int found = 0;
	while (next_word(&p, &w, &wl)) {
		if (wl > sizeof(key) - 1 && !strncmp(w, key, sizeof(key) - 1)) {
			const char *v = w + sizeof(key) - 1;
			size_t vl = wl - (sizeof(key) - 1);
			if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
				v++;
				vl -= 2;
			}
			if (parse_root(v, vl, out, err) < 0)
				return -1;
			found = 1;
		}
	}
	if (!found)
		return vs_fail(err, EINVAL,
			       "kernel command line: vessel.root: required (virtiofs:TAG or "
			       "blk:/dev/NAME)");
	return 0;
}

int vs_boot_parse_modules(const char *text, char ***out, size_t *count, vs_err *err)
{
	char **v = calloc(1, sizeof(*v));
	size_t n = 0;
	if (!v)
		return vs_fail(err, ENOMEM, "%s", VS_BOOT_MODULES_LIST);
	const char *p = text;
	for (size_t line = 1; *p; line++) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *s = p;
		p += len + (end ? 1 : 0);
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
			len--;
		while (len && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		if (!len || *s == '#')
			continue;
		while (len && *s == '/') {
			s++;
			len--;
		}
		char path[4096];
		if (!len || len + 2 > sizeof(path)) {
			vs_strv_free(v);
			return vs_fail(err, EINVAL, "%s:%zu: not a module path",
				       VS_BOOT_MODULES_LIST, line);
		}
		path[0] = '/';
		memcpy(path + 1, s, len);
		path[len + 1] = '\0';
		/* Paths stay inside the initramfs's tree. */
		if (!strcmp(path, "/..") || strstr(path, "/../") ||
		    (len >= 3 && !strcmp(path + len - 2, "/.."))) {
			vs_strv_free(v);
			return vs_fail(err, EINVAL, "%s:%zu: \"%s\" leaves /", VS_BOOT_MODULES_LIST,
				       line, path);
		}
		char **nv = realloc(v, (n + 2) * sizeof(*v));
		char *dup = nv ? strdup(path) : NULL;
		if (!dup) {
			vs_strv_free(nv ? nv : v);
			return vs_fail(err, ENOMEM, "%s", VS_BOOT_MODULES_LIST);
		}
		v = nv;
		v[n++] = dup;
		v[n] = NULL;
	}
	*out = v;
	if (count)
		*count = n;
	return 0;
}

static const char *const compressed[] = { ".ko.xz", ".ko.zst", ".ko.gz" };

int vs_boot_module_flags(const char *path)
{
	size_t n = strlen(path);
	for (size_t i = 0; i < 3; i++) {
		size_t sl = strlen(compressed[i]);
		if (n > sl && !strcmp(path + n - sl, compressed[i]))
			return MODULE_INIT_COMPRESSED_FILE;
	}
	return 0;
}

/* The module name of path, '-' as '_': "virtio_mmio" for .../virtio-mmio.ko.xz. */
static void module_name(const char *path, char *out, size_t len)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t n = strcspn(b, ".");
	if (n >= len)
		n = len - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = b[i] == '-' ? '_' : b[i];
	out[n] = '\0';
}

int vs_boot_module_params(const char *cmdline, const char *path, char *out, size_t len)
{
	char name[128];
	module_name(path, name, sizeof(name));
	size_t nl = strlen(name), at = 0;
	if (!len)
		return -1;
	out[0] = '\0';
	const char *p = cmdline, *w;
	size_t wl;
	while (next_word(&p, &w, &wl)) {
		if (wl <= nl + 1 || w[nl] != '.')
			continue;
		bool same = true;
		for (size_t i = 0; i < nl && same; i++)
			same = (w[i] == '-' ? '_' : w[i]) == name[i];
		/* "name.param" with a value: "name.=x" and "name.param" alone are not. */
		const char *param = w + nl + 1;
		size_t pl = wl - nl - 1;
		if (!same || !memchr(param, '=', pl) || param[0] == '=')
			continue;
		if (at + (at ? 1 : 0) + pl + 1 > len)
			return -1;
		if (at)
			out[at++] = ' ';
		memcpy(out + at, param, pl);
		at += pl;
		out[at] = '\0';
	}
	return 0;
}
