#include "microvm/modules.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/fs.h"
#include "core/strv.h"

const char *const vs_guest_modules[] = {
	"virtio_mmio", "vmw_vsock_virtio_transport",
	"virtiofs",    "virtio_net",
	"virtio_blk",  "overlay",
	"virtio_rng",  NULL,
};

void vs_module_name(const char *path, char *name, size_t len)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strcspn(base, ".");
	snprintf(name, len, "%.*s", (int)n, base);
	for (char *p = name; *p; p++)
		if (*p == '-')
			*p = '_';
}

typedef struct module {
	char name[64];
	char *path; /* points into the modules.dep text */
	char *deps; /* space-separated paths, in the same text */
	int mark;   /* 0 new, 1 visiting, 2 done */
} module;

typedef struct table {
	module *m;
	size_t n;
	char *builtin; /* modules.builtin text, or NULL */
	char **out;
	size_t n_out;
	const char *moddir;
} table;

static module *find(table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->m[i].name, name))
			return &t->m[i];
	return NULL;
}

static module *find_path(table *t, const char *path)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->m[i].path, path))
			return &t->m[i];
	return NULL;
}

static bool is_builtin(const table *t, const char *name)
{
	if (!t->builtin)
		return false;
	char want[64];
	for (const char *line = t->builtin; *line;) {
		size_t n = strcspn(line, "\n");
		char path[512];
		snprintf(path, sizeof(path), "%.*s", (int)n, line);
		vs_module_name(path, want, sizeof(want));
		if (!strcmp(want, name))
			return true;
		line += n + (line[n] == '\n');
	}
	return false;
}

/* "path: dep dep\n" lines, parsed in place. */
static int parse_dep(char *text, table *t, vs_err *err)
{
	size_t cap = 0;
	for (char *line = text; *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		char *colon = strchr(line, ':');
		if (*line && *line != '#') {
			if (!colon)
				return vs_fail(err, 0, "%s/modules.dep: line \"%.80s\" has no ':'",
					       t->moddir, line);
			*colon = '\0';
			if (t->n == cap) {
				module *m = realloc(t->m, (cap = cap ? cap * 2 : 64) * sizeof(*m));
				if (!m)
					return vs_fail(err, ENOMEM, "modules.dep");
				t->m = m;
			}
			module *m = &t->m[t->n++];
			*m = (module){ .path = line, .deps = colon + 1 };
			vs_module_name(line, m->name, sizeof(m->name));
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	return 0;
}

static int push(table *t, const char *path, vs_err *err)
{
	char **v = realloc(t->out, (t->n_out + 2) * sizeof(*v));
	if (!v)
		return vs_fail(err, ENOMEM, "module list");
	t->out = v;
	if (!(v[t->n_out] = strdup(path)))
		return vs_fail(err, ENOMEM, "module list");
	v[++t->n_out] = NULL;
	return 0;
}

/* Post-order: every dependency before the module itself. */
static int visit(table *t, module *m, vs_err *err)
{
	if (m->mark == 2)
		return 0;
	if (m->mark == 1)
		return vs_fail(err, 0, "%s/modules.dep: dependency cycle through %s", t->moddir,
			       m->name);
	m->mark = 1;
	vs_autofree char *deps = strdup(m->deps);
	if (!deps)
		return vs_fail(err, ENOMEM, "modules.dep");
	char *save;
	for (char *d = strtok_r(deps, " \t", &save); d; d = strtok_r(NULL, " \t", &save)) {
		module *dm = find_path(t, d);
		if (!dm)
			return vs_fail(err, 0, "%s/modules.dep: %s needs %s, which has no line",
				       t->moddir, m->path, d);
		if (visit(t, dm, err) < 0)
			return -1;
	}
	m->mark = 2;
	return push(t, m->path, err);
}

int vs_modules_resolve(const char *moddir, const char *const *roots, char ***paths, vs_err *err)
{
	vs_autofree char *dep = NULL;
	table t = { .moddir = moddir };
	int rc = -1;
	/* No symlink out: the directory's files are data (modules.dep lines
	 * end up in error messages). */
	vs_autoclose int dfd = open(moddir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return vs_fail_errno(err, "open %s", moddir);
	if (vs_read_beneath(dfd, moddir, "modules.dep", &dep, NULL, err) < 0)
		return -1;
	if (vs_read_beneath(dfd, moddir, "modules.builtin", &t.builtin, NULL, NULL) < 0)
		t.builtin = NULL;
	t.out = calloc(1, sizeof(*t.out)); /* empty, NULL-terminated */
	if (!t.out) {
		vs_fail(err, ENOMEM, "module list");
		goto out;
	}
	if (parse_dep(dep, &t, err) < 0)
		goto out;
	for (size_t i = 0; roots[i]; i++) {
		module *m = find(&t, roots[i]);
		if (!m) {
			if (is_builtin(&t, roots[i]))
				continue;
			vs_fail(err, 0,
				"guest kernel modules %s: no module %s (not in modules.dep "
				"or modules.builtin)",
				moddir, roots[i]);
			goto out;
		}
		if (visit(&t, m, err) < 0)
			goto out;
	}
	*paths = t.out;
	t.out = NULL;
	rc = 0;
out:
	vs_strv_free(t.out);
	free(t.m);
	free(t.builtin);
	return rc;
}
