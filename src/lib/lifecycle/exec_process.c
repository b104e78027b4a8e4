/* The process `exec` runs, built as runc builds it: --process FILE as given
 * (capabilities and rlimits it lacks come from the config), otherwise the
 * config's process with the command line's overrides. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/strv.h"
#include "lifecycle/exec.h"

static char **strv_dup(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	char **out = calloc(n + 1, sizeof(char *));
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!(out[i] = strdup(v[i]))) {
			vs_strv_free(out);
			return NULL;
		}
	return out;
}

static void *mem_dup(const void *p, size_t n)
{
	void *q = malloc(n ? n : 1);
	if (q && n)
		memcpy(q, p, n);
	return q;
}

static int copy_rlimits(vs_process *to, const vs_process *from, vs_err *err)
{
	to->rlimits = mem_dup(from->rlimits, from->n_rlimits * sizeof(vs_rlimit));
	to->n_rlimits = from->n_rlimits;
	return to->rlimits ? 0 : vs_fail(err, ENOMEM, "exec");
}

static int copy_process(vs_process *to, const vs_process *from, vs_err *err)
{
	*to = *from;
	to->args = NULL;
	to->env = NULL;
	to->cwd = NULL;
	to->additional_gids = NULL;
	to->rlimits = NULL;
	to->n_rlimits = 0;
	if (!(to->env = strv_dup(from->env)) || !(to->cwd = strdup(from->cwd)) ||
	    !(to->additional_gids =
		      mem_dup(from->additional_gids, from->n_additional_gids * sizeof(gid_t))))
		return vs_fail(err, ENOMEM, "exec");
	return copy_rlimits(to, from, err);
}

/* KEY=VALUE replaces KEY in env or is appended (runc keeps the last one). */
static int env_set(char ***env, const char *kv, vs_err *err)
{
	size_t klen = strcspn(kv, "=");
	if (!kv[klen] || klen == 0)
		return vs_fail(err, 0, "--env: \"%s\" is not KEY=VALUE", kv);
	size_t n = 0;
	for (char **e = *env; e && *e; e++, n++)
		if (!strncmp(*e, kv, klen + 1)) {
			char *v = strdup(kv);
			if (!v)
				return vs_fail(err, ENOMEM, "--env");
			free(*e);
			*e = v;
			return 0;
		}
	char **nv = realloc(*env, (n + 2) * sizeof(char *));
	if (!nv)
		return vs_fail(err, ENOMEM, "--env");
	*env = nv;
	if (!(nv[n] = strdup(kv)))
		return vs_fail(err, ENOMEM, "--env");
	nv[n + 1] = NULL;
	return 0;
}

static int add_caps(vs_process *p, char **caps, vs_err *err)
{
	for (char **c = caps; c && *c; c++) {
		int v = vs_cap_from_name(*c);
		if (v < 0)
			return vs_fail(err, 0, "--cap: unknown capability \"%s\"", *c);
		uint64_t bit = 1ULL << v;
		p->caps[VS_CAP_BOUNDING] |= bit;
		p->caps[VS_CAP_EFFECTIVE] |= bit;
		p->caps[VS_CAP_PERMITTED] |= bit;
		/* runc: ambient needs inheritable, which --cap does not add; so
		 * only where the config already has inheritable caps. */
		if (p->caps[VS_CAP_INHERITABLE])
			p->caps[VS_CAP_AMBIENT] |= bit;
	}
	return 0;
}

static int from_overrides(const vs_config *cfg, const vs_exec_request *req, vs_exec_process *x,
			  vs_err *err)
{
	vs_process *p = &x->process;
	if (!req->args || !req->args[0] || !req->args[0][0])
		return vs_fail(err, 0, "exec: a program to run (or --process) is required");
	if (copy_process(p, &cfg->process, err) < 0)
		return -1;
	x->attrs = cfg->process_attrs;
	if (!(p->args = strv_dup(req->args)))
		return vs_fail(err, ENOMEM, "exec");
	if (req->cwd) {
		if (req->cwd[0] != '/')
			return vs_fail(err, 0, "--cwd: \"%s\" is not an absolute path", req->cwd);
		free(p->cwd);
		if (!(p->cwd = strdup(req->cwd)))
			return vs_fail(err, ENOMEM, "exec");
	}
	for (char **e = req->env; e && *e; e++)
		if (env_set(&p->env, *e, err) < 0)
			return -1;
	if (req->has_user) {
		p->uid = req->uid;
		if (req->has_gid)
			p->gid = req->gid;
	}
	if (req->has_additional_gids) {
		free(p->additional_gids);
		p->additional_gids =
			mem_dup(req->additional_gids, req->n_additional_gids * sizeof(gid_t));
		p->n_additional_gids = req->n_additional_gids;
		if (!p->additional_gids)
			return vs_fail(err, ENOMEM, "exec");
	}
	if (add_caps(p, req->caps, err) < 0)
		return -1;
	if (req->no_new_privs)
		p->no_new_privileges = true;
	p->terminal = req->tty;
	return 0;
}

/* The labels of a process file: vessel has no SELinux or AppArmor. */
static int refuse_labels(json_object *proc, const char *where, vs_err *err)
{
	static const char *const keys[] = { "apparmorProfile", "selinuxLabel" };
	for (size_t i = 0; i < 2; i++) {
		const char *label = NULL;
		int rc = vs_json_get_cstr(proc, where, keys[i], &label, err);
		if (rc < 0)
			return -1;
		if (rc > 0 && label[0])
			return vs_json_fail(err, where, keys[i], "%s is not supported by vessel",
					    i ? "SELinux" : "AppArmor");
	}
	return 0;
}

static int from_file(const vs_config *cfg, const vs_exec_request *req, vs_exec_process *x,
		     vs_err *err)
{
	vs_autofree char *text = NULL;
	if (vs_read_file(req->process_file, &text, NULL, err) < 0)
		return vs_err_wrap(err, "--process");
	char where[PATH_MAX + 16];
	snprintf(where, sizeof(where), "%s: process", req->process_file);
	enum json_tokener_error jerr;
	json_object *doc = json_tokener_parse_verbose(text, &jerr);
	if (!doc)
		return vs_fail(err, 0, "%s: invalid JSON: %s", req->process_file,
			       json_tokener_error_desc(jerr));
	json_object *linux_ = NULL;
	json_object_object_get_ex(cfg->doc, "linux", &linux_);
	int rc = -1;
	if (!json_object_is_type(doc, json_type_object))
		vs_fail(err, 0, "%s: expected a JSON object", req->process_file);
	else if (vs_process_parse(doc, where, &x->process, err) == 0 &&
		 refuse_labels(doc, where, err) == 0 &&
		 vs_process_attrs_parse(doc, linux_, &x->attrs, err) == 0)
		rc = 0;
	json_object_put(doc);
	if (rc < 0)
		return -1;
	vs_process *p = &x->process;
	/* What the file leaves out comes from the container, as in runc. */
	if (!p->has_caps) {
		memcpy(p->caps, cfg->process.caps, sizeof(p->caps));
		p->has_caps = cfg->process.has_caps;
	}
	if (!p->n_rlimits) {
		free(p->rlimits);
		if (copy_rlimits(p, &cfg->process, err) < 0)
			return -1;
	}
	if (!p->has_oom_score_adj) {
		p->has_oom_score_adj = cfg->process.has_oom_score_adj;
		p->oom_score_adj = cfg->process.oom_score_adj;
	}
	if (req->tty)
		p->terminal = true;
	if (req->no_new_privs)
		p->no_new_privileges = true;
	return 0;
}

int vs_exec_process_build(const vs_config *cfg, const vs_exec_request *req, vs_exec_process *x,
			  vs_err *err)
{
	memset(x, 0, sizeof(*x));
	x->console_socket = req->console_socket;
	x->preserve_fds = req->preserve_fds;
	x->cgroups = req->cgroups;
	int rc = req->process_file ? from_file(cfg, req, x, err) : from_overrides(cfg, req, x, err);
	if (rc < 0) {
		vs_exec_process_clear(x);
		return -1;
	}
	return 0;
}

void vs_exec_process_clear(vs_exec_process *x)
{
	vs_process_free(&x->process);
}
