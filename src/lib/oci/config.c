#include "oci/config.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <linux/mount.h>

#include "core/cleanup.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/log.h"
#include "core/strv.h"
#include "oci/seccomp.h"
#include "oci/mount_ext.h"
#include "oci/refused.h"
#include "oci/consistency.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif

static const char *const ns_names[VS_NS_COUNT] = {
	[VS_NS_PID] = "pid",	   [VS_NS_NET] = "network", [VS_NS_MNT] = "mount",
	[VS_NS_IPC] = "ipc",	   [VS_NS_UTS] = "uts",	    [VS_NS_USER] = "user",
	[VS_NS_CGROUP] = "cgroup", [VS_NS_TIME] = "time",
};

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const int ns_flags[VS_NS_COUNT] = {
	[VS_NS_PID] = CLONE_NEWPID,	  [VS_NS_NET] = CLONE_NEWNET,
	[VS_NS_MNT] = CLONE_NEWNS,	  [VS_NS_IPC] = CLONE_NEWIPC,
	[VS_NS_UTS] = CLONE_NEWUTS,	  [VS_NS_USER] = CLONE_NEWUSER,
	[VS_NS_CGROUP] = CLONE_NEWCGROUP, [VS_NS_TIME] = CLONE_NEWTIME,
};

const char *vs_ns_name(enum vs_ns_type t)
{
	return t < VS_NS_COUNT ? ns_names[t] : "?";
}

int vs_ns_clone_flag(enum vs_ns_type t)
{
	return t < VS_NS_COUNT ? ns_flags[t] : 0;
}

/* ---- mount options (runtime-spec config-linux "Mount Options" table) ---- */

enum opt_kind { OPT_SET, OPT_CLEAR, OPT_PROP, OPT_ATTR_SET, OPT_ATTR_CLR, OPT_ATIME, OPT_BIND };

static const struct mount_opt {
	const char *name;
	enum opt_kind kind;
	unsigned long flag;
} mount_opts[] = {
	{ "async", OPT_CLEAR, MS_SYNCHRONOUS },
	{ "atime", OPT_CLEAR, MS_NOATIME },
	{ "bind", OPT_BIND, MS_BIND },
	{ "defaults", OPT_SET, 0 },
	{ "dev", OPT_CLEAR, MS_NODEV },
	{ "diratime", OPT_CLEAR, MS_NODIRATIME },
	{ "dirsync", OPT_SET, MS_DIRSYNC },
	{ "exec", OPT_CLEAR, MS_NOEXEC },
	{ "iversion", OPT_SET, MS_I_VERSION },
	{ "lazytime", OPT_SET, MS_LAZYTIME },
	{ "loud", OPT_CLEAR, MS_SILENT },
	{ "mand", OPT_SET, MS_MANDLOCK },
	{ "noatime", OPT_SET, MS_NOATIME },
	{ "nodev", OPT_SET, MS_NODEV },
	{ "nodiratime", OPT_SET, MS_NODIRATIME },
	{ "noexec", OPT_SET, MS_NOEXEC },
	{ "noiversion", OPT_CLEAR, MS_I_VERSION },
	{ "nolazytime", OPT_CLEAR, MS_LAZYTIME },
	{ "nomand", OPT_CLEAR, MS_MANDLOCK },
	{ "norelatime", OPT_CLEAR, MS_RELATIME },
	{ "nostrictatime", OPT_CLEAR, MS_STRICTATIME },
	{ "nosuid", OPT_SET, MS_NOSUID },
	{ "nosymfollow", OPT_SET, MS_NOSYMFOLLOW },
	{ "rbind", OPT_BIND, MS_BIND | MS_REC },
	{ "relatime", OPT_SET, MS_RELATIME },
	{ "remount", OPT_SET, MS_REMOUNT },
	{ "ro", OPT_SET, MS_RDONLY },
	{ "rw", OPT_CLEAR, MS_RDONLY },
	{ "silent", OPT_SET, MS_SILENT },
	{ "strictatime", OPT_SET, MS_STRICTATIME },
	{ "suid", OPT_CLEAR, MS_NOSUID },
	{ "symfollow", OPT_CLEAR, MS_NOSYMFOLLOW },
	{ "sync", OPT_SET, MS_SYNCHRONOUS },
	{ "private", OPT_PROP, MS_PRIVATE },
	{ "rprivate", OPT_PROP, MS_PRIVATE | MS_REC },
	{ "shared", OPT_PROP, MS_SHARED },
	{ "rshared", OPT_PROP, MS_SHARED | MS_REC },
	{ "slave", OPT_PROP, MS_SLAVE },
	{ "rslave", OPT_PROP, MS_SLAVE | MS_REC },
	{ "unbindable", OPT_PROP, MS_UNBINDABLE },
	{ "runbindable", OPT_PROP, MS_UNBINDABLE | MS_REC },
	{ "rro", OPT_ATTR_SET, MOUNT_ATTR_RDONLY },
	{ "rrw", OPT_ATTR_CLR, MOUNT_ATTR_RDONLY },
	{ "rnosuid", OPT_ATTR_SET, MOUNT_ATTR_NOSUID },
	{ "rsuid", OPT_ATTR_CLR, MOUNT_ATTR_NOSUID },
	{ "rnodev", OPT_ATTR_SET, MOUNT_ATTR_NODEV },
	{ "rdev", OPT_ATTR_CLR, MOUNT_ATTR_NODEV },
	{ "rnoexec", OPT_ATTR_SET, MOUNT_ATTR_NOEXEC },
	{ "rexec", OPT_ATTR_CLR, MOUNT_ATTR_NOEXEC },
	{ "rnodiratime", OPT_ATTR_SET, MOUNT_ATTR_NODIRATIME },
	{ "rdiratime", OPT_ATTR_CLR, MOUNT_ATTR_NODIRATIME },
	/* The atime modes are one field for mount_setattr: each option picks a
	 * mode. "ratime"/"rnostrictatime" return to the default (relatime);
	 * "rnorelatime" means always update, i.e. strictatime. */
	{ "rrelatime", OPT_ATIME, MOUNT_ATTR_RELATIME },
	{ "rnorelatime", OPT_ATIME, MOUNT_ATTR_STRICTATIME },
	{ "rnoatime", OPT_ATIME, MOUNT_ATTR_NOATIME },
	{ "ratime", OPT_ATIME, MOUNT_ATTR_RELATIME },
	{ "rstrictatime", OPT_ATIME, MOUNT_ATTR_STRICTATIME },
	{ "rnostrictatime", OPT_ATIME, MOUNT_ATTR_RELATIME },
	{ "rnosymfollow", OPT_ATTR_SET, MOUNT_ATTR_NOSYMFOLLOW },
	{ "rsymfollow", OPT_ATTR_CLR, MOUNT_ATTR_NOSYMFOLLOW },
};

size_t vs_mount_option_count(void)
{
	return sizeof(mount_opts) / sizeof(mount_opts[0]);
}

const char *vs_mount_option_name(size_t i)
{
	return i < vs_mount_option_count() ? mount_opts[i].name : NULL;
}

bool vs_mount_option_apply(vs_mount *m, const char *opt)
{
	for (size_t i = 0; i < vs_mount_option_count(); i++) {
		const struct mount_opt *o = &mount_opts[i];
		if (strcmp(o->name, opt))
			continue;
		switch (o->kind) {
		case OPT_SET:
			m->flags |= o->flag;
			break;
		case OPT_CLEAR:
			m->flags &= ~o->flag;
			if (o->flag == MS_RDONLY)
				m->has_rw = true;
			break;
		case OPT_PROP:
			m->propagation = o->flag;
			break;
		case OPT_ATTR_SET:
			m->attr_set |= o->flag;
			m->attr_clr &= ~(uint64_t)o->flag;
			break;
		case OPT_ATTR_CLR:
			m->attr_clr |= o->flag;
			m->attr_set &= ~(uint64_t)o->flag;
			break;
		case OPT_ATIME:
			m->atime_set = true;
			m->atime_mode = o->flag;
			break;
		case OPT_BIND:
			m->bind = true;
			m->flags |= o->flag;
			break;
		}
		return true;
	}
	return false;
}

/* ---- rlimits and capabilities ---- */

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },
	{ "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },
	{ "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_STACK", RLIMIT_STACK },
};

int vs_rlimit_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++)
		if (!strcmp(rlimit_names[i].name, name))
			return rlimit_names[i].resource;
	return -1;
}

int vs_cap_from_name(const char *name)
{
	cap_value_t v;
	/* libcap accepts lower case and "all"; the spec only uses CAP_ names. */
	if (strncmp(name, "CAP_", 4) != 0 || cap_from_name(name, &v) < 0)
		return -1;
	return (int)v;
}

/* ---- sections ---- */

static int parse_caps(json_object *caps, const char *where, vs_process *p, vs_err *err)
{
	static const char *const set_names[VS_CAP_SETS] = { "bounding", "effective", "inheritable",
							    "permitted", "ambient" };
	p->has_caps = true;
	for (int s = 0; s < VS_CAP_SETS; s++) {
		char field[160];
		vs_json_path(field, sizeof(field), where, set_names[s]);
		char **names = NULL;
		if (vs_json_get_strv(caps, where, set_names[s], &names, NULL, err) < 0)
			return -1;
		for (char **n = names; n && *n; n++) {
			int c = vs_cap_from_name(*n);
			if (c < 0 || c > (int)cap_max_bits() - 1) {
				/* runc and crun warn too: a newer spec on an older kernel must
				 * still run. */
				vs_warn("%s: ignoring capability %s unknown to this kernel", field,
					*n);
				continue;
			}
			p->caps[s] |= 1ULL << c;
		}
		vs_strv_free(names);
	}
	return 0;
}

static int parse_rlimit(json_object *o, const char *field, size_t i, void *item, void *ctx,
			vs_err *err)
{
	const vs_rlimit *all = ctx ? *(vs_rlimit **)ctx : NULL;
	vs_rlimit *l = item;
	vs_autofree char *type = NULL;
	if (vs_json_get_string(o, field, "type", &type, err) < 0)
		return -1;
	int res = type ? vs_rlimit_from_name(type) : -1;
	if (res < 0)
		return vs_json_fail(err, field, "type", "unknown rlimit \"%s\"", type ? type : "");
	for (size_t j = 0; j < i; j++)
		if (all[j].resource == res)
			return vs_fail(err, 0, "%s: duplicate rlimit %s", field, type);
	l->resource = res;
	int has_soft = vs_json_get_u64(o, field, "soft", UINT64_MAX, &l->soft, err);
	int has_hard =
		has_soft < 0 ? -1 : vs_json_get_u64(o, field, "hard", UINT64_MAX, &l->hard, err);
	if (has_soft < 0 || has_hard < 0)
		return -1;
	if (!has_soft || !has_hard)
		return vs_fail(err, 0, "%s: soft and hard are required", field);
	if (l->soft > l->hard)
		return vs_fail(err, 0, "%s: soft limit above hard limit", field);
	return 0;
}

int vs_process_parse(json_object *proc, const char *where, vs_process *p, vs_err *err)
{
	const char *W = where;
	char WU[128], WX[160];
	if (vs_json_get_bool(proc, W, "terminal", &p->terminal, err) < 0)
		return -1;
	size_t nargs = 0;
	if (vs_json_get_strv(proc, W, "args", &p->args, &nargs, err) < 0)
		return -1;
	if (!p->args || nargs == 0 || p->args[0][0] == '\0')
		return vs_fail(err, 0, "%s.args: must name a program", W);
	if (vs_json_get_strv(proc, W, "env", &p->env, NULL, err) < 0)
		return -1;
	if (p->env)
		for (size_t i = 0; p->env[i]; i++)
			if (!strchr(p->env[i], '='))
				return vs_fail(err, 0, "%s.env[%zu]: \"%s\" is not KEY=VALUE", W, i,
					       p->env[i]);
	if (vs_json_get_string(proc, W, "cwd", &p->cwd, err) < 0)
		return -1;
	if (!p->cwd)
		return vs_fail(err, 0, "%s.cwd: required", W);
	if (p->cwd[0] != '/')
		return vs_fail(err, 0, "%s.cwd: \"%s\" is not an absolute path", W, p->cwd);

	json_object *user;
	vs_json_path(WU, sizeof(WU), W, "user");
	if (vs_json_get_object(proc, W, "user", &user, err) < 0)
		return -1;
	int64_t x;
	int r = vs_json_get_int(user, WU, "uid", 0, UINT32_MAX - 1, &x, err);
	if (r < 0)
		return -1;
	if (user && (!json_object_object_get_ex(user, "uid", NULL) ||
		     !json_object_object_get_ex(user, "gid", NULL)))
		return vs_fail(err, 0, "%s: uid and gid are required", WU);
	if (r > 0)
		p->uid = (uid_t)x;
	r = vs_json_get_int(user, WU, "gid", 0, UINT32_MAX - 1, &x, err);
	if (r < 0)
		return -1;
	if (r > 0)
		p->gid = (gid_t)x;
	r = vs_json_get_int(user, WU, "umask", 0, 0777, &x, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		p->has_umask = true;
		p->umask = (mode_t)x;
	}
	json_object *gids;
	if (vs_json_get_array(user, WU, "additionalGids", &gids, err) < 0)
		return -1;
	if (gids) {
		size_t n = json_object_array_length(gids);
		p->additional_gids = calloc(n ? n : 1, sizeof(gid_t));
		if (!p->additional_gids)
			return vs_fail(err, ENOMEM, "%s", W);
		for (size_t i = 0; i < n; i++) {
			char what[192];
			int64_t v;
			vs_json_path(WX, sizeof(WX), WU, "additionalGids");
			vs_json_index(what, sizeof(what), WX, i);
			if (vs_json_as_int(json_object_array_get_idx(gids, i), what, 0,
					   UINT32_MAX - 1, &v, err) < 0)
				return -1;
			p->additional_gids[i] = (gid_t)v;
		}
		p->n_additional_gids = n;
	}

	json_object *rl;
	if (vs_json_get_array(proc, W, "rlimits", &rl, err) < 0)
		return -1;
	vs_json_path(WX, sizeof(WX), W, "rlimits");
	if (rl && vs_json_parse_objects(rl, WX, sizeof(vs_rlimit), (void **)&p->rlimits,
					&p->n_rlimits, parse_rlimit, &p->rlimits, err) < 0)
		return -1;

	json_object *caps;
	if (vs_json_get_object(proc, W, "capabilities", &caps, err) < 0)
		return -1;
	vs_json_path(WX, sizeof(WX), W, "capabilities");
	if (caps && parse_caps(caps, WX, p, err) < 0)
		return -1;
	if (vs_json_get_bool(proc, W, "noNewPrivileges", &p->no_new_privileges, err) < 0)
		return -1;
	r = vs_json_get_int(proc, W, "oomScoreAdj", -1000, 1000, &x, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		p->has_oom_score_adj = true;
		p->oom_score_adj = (int)x;
	}
	return vs_console_size_parse(proc, W, p, err);
}

void vs_process_free(vs_process *p)
{
	vs_strv_free(p->args);
	vs_strv_free(p->env);
	free(p->cwd);
	free(p->additional_gids);
	free(p->rlimits);
	memset(p, 0, sizeof(*p));
}

static int parse_mount(json_object *o, const char *field, size_t i, void *item, void *ctx,
		       vs_err *err)
{
	(void)i;
	(void)ctx;
	vs_mount *m = item;
	if (vs_json_get_string(o, field, "destination", &m->destination, err) < 0)
		return -1;
	if (!m->destination || m->destination[0] == '\0')
		return vs_json_fail(err, field, "destination", "required");
	if (m->destination[0] != '/')
		return vs_json_fail(err, field, "destination", "\"%s\" is not an absolute path",
				    m->destination);
	if (vs_json_get_string(o, field, "source", &m->source, err) < 0 ||
	    vs_json_get_string(o, field, "type", &m->type, err) < 0)
		return -1;
	char **opts = NULL;
	if (vs_json_get_strv(o, field, "options", &opts, NULL, err) < 0)
		return -1;
	/* Unknown options are filesystem data, as in runc ("size=65536k", "mode=755"),
	 * unless they are a runtime extension (oci/mount_ext.c). */
	size_t dlen = 0;
	for (char **p = opts; p && *p; p++) {
		if (vs_mount_option_apply(m, *p))
			continue;
		int ext = vs_mount_ext_option(m, *p, field, err);
		if (ext != 0) {
			if (ext < 0) {
				vs_strv_free(opts);
				return -1;
			}
			continue;
		}
		size_t l = strlen(*p);
		char *nd = realloc(m->data, dlen + l + 2);
		if (!nd) {
			vs_strv_free(opts);
			return vs_fail(err, ENOMEM, "%s", field);
		}
		m->data = nd;
		if (dlen)
			m->data[dlen++] = ',';
		memcpy(m->data + dlen, *p, l + 1);
		dlen += l;
	}
	int rc = vs_mount_ext_record_options(m, opts, field, err);
	vs_strv_free(opts);
	if (rc < 0 || vs_mount_ext_parse(o, field, m, err) < 0)
		return -1;
	if (m->type && !strcmp(m->type, "bind"))
		m->bind = true;
	if (!m->bind && !m->type)
		return vs_json_fail(err, field, "type", "required for a non-bind mount");
	if (m->bind && !m->source)
		return vs_json_fail(err, field, "source", "required for a bind mount");
	return 0;
}

static int parse_mounts(json_object *arr, vs_config *c, vs_err *err)
{
	return vs_json_parse_objects(arr, "config.json: mounts", sizeof(vs_mount),
				     (void **)&c->mounts, &c->n_mounts, parse_mount, NULL, err);
}

static int parse_namespaces(json_object *arr, vs_config *c, vs_err *err)
{
	size_t n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		char field[64];
		vs_json_index(field, sizeof(field), "config.json: linux.namespaces", i);
		if (!json_object_is_type(o, json_type_object))
			return vs_json_fail(err, field, NULL, "expected an object");
		vs_autofree char *type = NULL;
		if (vs_json_get_string(o, field, "type", &type, err) < 0)
			return -1;
		if (!type)
			return vs_json_fail(err, field, "type", "required");
		int t;
		for (t = 0; t < VS_NS_COUNT; t++)
			if (!strcmp(type, ns_names[t]))
				break;
		if (t == VS_NS_COUNT)
			return vs_json_fail(err, field, "type", "unknown namespace \"%s\"", type);
		if (c->ns[t].present)
			return vs_fail(err, 0, "%s: duplicate namespace \"%s\"", field, type);
		c->ns[t].present = true;
		if (vs_json_get_string(o, field, "path", &c->ns[t].path, err) < 0)
			return -1;
		if (c->ns[t].path && c->ns[t].path[0] != '/')
			return vs_json_fail(err, field, "path", "\"%s\" is not an absolute path",
					    c->ns[t].path);
	}
	return 0;
}

static int parse_device(json_object *o, const char *field, size_t i, void *item, void *ctx,
			vs_err *err)
{
	(void)i;
	(void)ctx;
	vs_device *d = item;
	vs_autofree char *type = NULL;
	if (vs_json_get_string(o, field, "path", &d->path, err) < 0 ||
	    vs_json_get_string(o, field, "type", &type, err) < 0)
		return -1;
	if (!d->path || d->path[0] != '/')
		return vs_json_fail(err, field, "path", "required absolute path");
	if (!type || strlen(type) != 1 || !strchr("cbup", type[0]))
		return vs_json_fail(err, field, "type", "must be c, b, u or p");
	d->type = type[0];
	int64_t x;
	if (d->type != 'p') {
		int has_major = vs_json_get_int(o, field, "major", 0, INT32_MAX, &d->major, err);
		int has_minor = has_major < 0 ? -1
					      : vs_json_get_int(o, field, "minor", 0, INT32_MAX,
								&d->minor, err);
		if (has_major < 0 || has_minor < 0)
			return -1;
		if (!has_major || !has_minor)
			return vs_fail(err, 0, "%s: major and minor are required", field);
	}
	int r = vs_json_get_int(o, field, "fileMode", 0, 07777, &x, err);
	if (r < 0)
		return -1;
	if ((d->has_mode = r > 0))
		d->mode = (mode_t)x;
	if ((r = vs_json_get_int(o, field, "uid", 0, UINT32_MAX - 1, &x, err)) < 0)
		return -1;
	if ((d->has_uid = r > 0))
		d->uid = (uid_t)x;
	if ((r = vs_json_get_int(o, field, "gid", 0, UINT32_MAX - 1, &x, err)) < 0)
		return -1;
	if ((d->has_gid = r > 0))
		d->gid = (gid_t)x;
	return 0;
}

static int parse_devices(json_object *arr, vs_config *c, vs_err *err)
{
	return vs_json_parse_objects(arr, "config.json: linux.devices", sizeof(vs_device),
				     (void **)&c->devices, &c->n_devices, parse_device, NULL, err);
}

static int parse_time_offsets(json_object *obj, vs_config *c, vs_err *err)
{
	static const char *const clocks[2] = { "monotonic", "boottime" };
	c->has_time_offsets = true;
	for (int i = 0; i < 2; i++) {
		json_object *o;
		const char *W = "config.json: linux.timeOffsets";
		char field[64];
		vs_json_path(field, sizeof(field), W, clocks[i]);
		if (vs_json_get_object(obj, W, clocks[i], &o, err) < 0)
			return -1;
		if (!o)
			continue;
		if (vs_json_get_int(o, field, "secs", INT64_MIN, INT64_MAX, &c->time_offsets[i][0],
				    err) < 0 ||
		    vs_json_get_int(o, field, "nanosecs", 0, 999999999, &c->time_offsets[i][1],
				    err) < 0)
			return -1;
	}
	return 0;
}

static int parse_sysctl(json_object *obj, vs_config *c, vs_err *err)
{
	size_t n = (size_t)json_object_object_length(obj);
	c->sysctl = calloc(n ? n : 1, sizeof(vs_kv));
	if (!c->sysctl)
		return vs_fail(err, ENOMEM, "config.json");
	json_object_object_foreach(obj, key, val)
	{
		if (!json_object_is_type(val, json_type_string))
			return vs_fail(err, 0, "config.json: linux.sysctl.%s: expected a string",
				       key);
		if (strstr(key, "..") || key[0] == '/' || key[0] == '.')
			return vs_fail(err, 0, "config.json: linux.sysctl: invalid key \"%s\"",
				       key);
		vs_kv *kv = &c->sysctl[c->n_sysctl++];
		kv->key = strdup(key);
		kv->value = strdup(json_object_get_string(val));
		if (!kv->key || !kv->value)
			return vs_fail(err, ENOMEM, "config.json");
	}
	return 0;
}

/* Like runc: only sysctls that live in a namespace the container owns may
 * be set; anything else would change the whole host. */
static int check_sysctl_namespace(const vs_config *c, const char *key, vs_err *err)
{
	static const char *const ipc_keys[] = {
		"kernel.msgmax", "kernel.msgmnb",	   "kernel.msgmni",
		"kernel.sem",	 "kernel.shmall",	   "kernel.shmmax",
		"kernel.shmmni", "kernel.shm_rmid_forced", NULL
	};
	enum vs_ns_type need = VS_NS_COUNT;
	for (int i = 0; ipc_keys[i]; i++)
		if (!strcmp(key, ipc_keys[i]))
			need = VS_NS_IPC;
	if (!strncmp(key, "fs.mqueue.", 10))
		need = VS_NS_IPC;
	else if (!strncmp(key, "net.", 4))
		need = VS_NS_NET;
	else if (!strcmp(key, "kernel.hostname") || !strcmp(key, "kernel.domainname"))
		need = VS_NS_UTS;
	if (need == VS_NS_COUNT)
		return vs_fail(err, 0,
			       "config.json: linux.sysctl: \"%s\" is not namespaced: it would "
			       "change the host",
			       key);
	if (!c->ns[need].present)
		return vs_fail(err, 0, "config.json: linux.sysctl: \"%s\" needs a %s namespace",
			       key, vs_ns_name(need));
	return 0;
}

static int parse_linux(json_object *linux_, vs_config *c, vs_err *err)
{
	const char *W = "config.json: linux";
	json_object *arr, *obj;
	if (vs_json_get_array(linux_, W, "namespaces", &arr, err) < 0)
		return -1;
	if (arr && parse_namespaces(arr, c, err) < 0)
		return -1;
	if (vs_config_parse_idmaps(linux_, "config.json: linux", "uidMappings", &c->uid_mappings,
				   &c->n_uid_mappings, err) < 0 ||
	    vs_config_parse_idmaps(linux_, "config.json: linux", "gidMappings", &c->gid_mappings,
				   &c->n_gid_mappings, err) < 0)
		return -1;
	if ((c->n_uid_mappings || c->n_gid_mappings) && !c->ns[VS_NS_USER].present)
		return vs_fail(err, 0,
			       "config.json: linux.uidMappings: set without a user namespace");
	if (c->ns[VS_NS_USER].present && !c->ns[VS_NS_USER].path &&
	    (!c->n_uid_mappings || !c->n_gid_mappings))
		return vs_fail(err, 0,
			       "config.json: linux.uidMappings/gidMappings: required for a new "
			       "user namespace");
	if (vs_json_get_object(linux_, W, "timeOffsets", &obj, err) < 0)
		return -1;
	if (obj) {
		if (parse_time_offsets(obj, c, err) < 0)
			return -1;
		if (!c->ns[VS_NS_TIME].present || c->ns[VS_NS_TIME].path)
			return vs_fail(
				err, 0,
				"config.json: linux.timeOffsets: needs a new time namespace");
	}
	if (vs_json_get_array(linux_, W, "devices", &arr, err) < 0)
		return -1;
	if (arr && parse_devices(arr, c, err) < 0)
		return -1;
	if (vs_json_get_strv(linux_, W, "maskedPaths", &c->masked_paths, &c->n_masked_paths, err) <
		    0 ||
	    vs_json_get_strv(linux_, W, "readonlyPaths", &c->readonly_paths, &c->n_readonly_paths,
			     err) < 0)
		return -1;
	if (vs_json_get_object(linux_, W, "sysctl", &obj, err) < 0)
		return -1;
	if (obj && parse_sysctl(obj, c, err) < 0)
		return -1;
	for (size_t i = 0; i < c->n_sysctl; i++)
		if (check_sysctl_namespace(c, c->sysctl[i].key, err) < 0)
			return -1;
	vs_autofree char *prop = NULL;
	if (vs_json_get_string(linux_, W, "rootfsPropagation", &prop, err) < 0)
		return -1;
	if (prop && prop[0]) {
		vs_mount tmp = { 0 };
		if (!vs_mount_option_apply(&tmp, prop) || !tmp.propagation)
			return vs_fail(
				err, 0,
				"config.json: linux.rootfsPropagation: unknown propagation \"%s\"",
				prop);
		c->rootfs_propagation = tmp.propagation;
	}
	if (vs_json_get_string(linux_, W, "cgroupsPath", &c->cgroups_path, err) < 0)
		return -1;
	if (vs_json_get_object(linux_, W, "resources", &c->resources, err) < 0)
		return -1;
	if (vs_seccomp_parse(linux_, "config.json: linux", &c->seccomp, err) < 0)
		return -1;
	bool new_netns = c->ns[VS_NS_NET].present && !c->ns[VS_NS_NET].path;
	return vs_netdevs_parse(linux_, new_netns, &c->net_devices, err);
}

int vs_config_parse(const char *text, const char *bundle, vs_config **out, vs_err *err)
{
	vs_autofree char *rpath = NULL;
	vs_config *c = calloc(1, sizeof(*c));
	if (!c)
		return vs_fail(err, ENOMEM, "config.json");
	c->bundle = strdup(bundle);
	if (!c->bundle) {
		free(c);
		return vs_fail(err, ENOMEM, "config.json");
	}
	enum json_tokener_error jerr;
	c->doc = json_tokener_parse_verbose(text, &jerr);
	if (!c->doc) {
		vs_config_free(c);
		return vs_fail(err, 0, "config.json: invalid JSON: %s",
			       json_tokener_error_desc(jerr));
	}
	if (!json_object_is_type(c->doc, json_type_object)) {
		vs_config_free(c);
		return vs_fail(err, 0, "config.json: expected a JSON object at top level");
	}
	json_object *root, *proc, *linux_, *arr;
	const char *W = "config.json:";
	if (vs_json_get_string(c->doc, W, "ociVersion", &c->oci_version, err) < 0)
		goto fail;
	if (!c->oci_version) {
		vs_fail(err, 0, "config.json: ociVersion: required");
		goto fail;
	}
	if (vs_json_get_object(c->doc, W, "root", &root, err) < 0)
		goto fail;
	if (vs_json_get_string(root, "config.json: root", "path", &rpath, err) < 0 ||
	    vs_json_get_bool(root, "config.json: root", "readonly", &c->root_readonly, err) < 0)
		goto fail;
	if (!rpath || !rpath[0]) {
		vs_fail(err, 0, "config.json: root.path: required");
		goto fail;
	}
	char full[PATH_MAX];
	if (rpath[0] == '/') {
		if (snprintf(full, sizeof(full), "%s", rpath) >= (int)sizeof(full)) {
			vs_fail(err, ENAMETOOLONG, "config.json: root.path");
			goto fail;
		}
	} else if (vs_path_join(full, sizeof(full), bundle, rpath, err) < 0)
		goto fail;
	c->root_path = realpath(full, NULL);
	if (!c->root_path) {
		vs_fail_errno(err, "config.json: root.path: %s", full);
		goto fail;
	}
	struct stat st;
	if (stat(c->root_path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		vs_fail(err, ENOTDIR, "config.json: root.path: %s", c->root_path);
		goto fail;
	}
	if (vs_json_get_string(c->doc, W, "hostname", &c->hostname, err) < 0 ||
	    vs_json_get_string(c->doc, W, "domainname", &c->domainname, err) < 0)
		goto fail;
	if (vs_json_get_array(c->doc, W, "mounts", &arr, err) < 0)
		goto fail;
	if (arr && parse_mounts(arr, c, err) < 0)
		goto fail;
	if (vs_json_get_object(c->doc, W, "process", &proc, err) < 0)
		goto fail;
	c->has_process = proc != NULL;
	if (proc && vs_process_parse(proc, "config.json: process", &c->process, err) < 0)
		goto fail;
	if (vs_json_get_object(c->doc, W, "linux", &linux_, err) < 0)
		goto fail;
	if (linux_ && parse_linux(linux_, c, err) < 0)
		goto fail;
	if (vs_config_refuse_unapplied(proc, linux_, err) < 0 || vs_mount_ext_check(c, err) < 0 ||
	    vs_process_attrs_parse(proc, linux_, &c->process_attrs, err) < 0)
		goto fail;
	/* A joined uts namespace (by path) is set too, as runc and crun do:
	 * the init sethostname()s inside it. Without one it would be the host's. */
	if ((c->hostname || c->domainname) && !c->ns[VS_NS_UTS].present) {
		vs_fail(err, 0, "config.json: %s: needs a uts namespace",
			c->hostname ? "hostname" : "domainname");
		goto fail;
	}
	if (vs_config_check_consistency(c, err) < 0)
		goto fail;
	if (vs_json_get_object(c->doc, W, "annotations", &c->annotations, err) < 0)
		goto fail;
	if (c->annotations) {
		json_object_object_foreach(c->annotations, k, v)
		{
			if (!json_object_is_type(v, json_type_string)) {
				vs_fail(err, 0, "config.json: annotations.%s: expected a string",
					k);
				goto fail;
			}
		}
	}
	json_object *hooks;
	if (vs_json_get_object(c->doc, W, "hooks", &hooks, err) < 0 ||
	    vs_hooks_parse(hooks, "config.json: hooks", &c->hooks, err) < 0)
		goto fail;
	c->hooks_json = hooks;
	*out = c;
	return 0;
fail:
	vs_config_free(c);
	return -1;
}

int vs_config_load(const char *bundle, vs_config **out, vs_err *err)
{
	char path[PATH_MAX];
	if (vs_path_join(path, sizeof(path), bundle, "config.json", err) < 0)
		return -1;
	vs_autofree char *text = NULL;
	if (vs_read_file(path, &text, NULL, err) < 0)
		return -1;
	return vs_config_parse(text, bundle, out, err);
}

void vs_config_free(vs_config *c)
{
	if (!c)
		return;
	vs_netdevs_free(&c->net_devices);
	free(c->bundle);
	free(c->oci_version);
	free(c->root_path);
	free(c->hostname);
	free(c->domainname);
	for (size_t i = 0; i < c->n_mounts; i++) {
		free(c->mounts[i].destination);
		free(c->mounts[i].source);
		free(c->mounts[i].type);
		free(c->mounts[i].data);
		vs_mount_ext_free(&c->mounts[i]);
	}
	free(c->mounts);
	vs_process_free(&c->process);
	for (int i = 0; i < VS_NS_COUNT; i++)
		free(c->ns[i].path);
	free(c->uid_mappings);
	free(c->gid_mappings);
	for (size_t i = 0; i < c->n_devices; i++)
		free(c->devices[i].path);
	free(c->devices);
	vs_strv_free(c->masked_paths);
	vs_strv_free(c->readonly_paths);
	for (size_t i = 0; i < c->n_sysctl; i++) {
		free(c->sysctl[i].key);
		free(c->sysctl[i].value);
	}
	free(c->sysctl);
	free(c->cgroups_path);
	vs_hooks_free(&c->hooks);
	vs_seccomp_free(c->seccomp);
	if (c->doc)
		json_object_put(c->doc);
	free(c);
}
