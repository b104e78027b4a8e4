#include "oci/state.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/fs.h"
#include "oci/version.h"

static const char *const status_names[] = { "creating", "created", "running", "stopped", "paused" };

const char *vs_status_name(vs_status s)
{
	return (unsigned)s < sizeof(status_names) / sizeof(status_names[0]) ? status_names[s]
									    : "unknown";
}

int vs_validate_id(const char *id, vs_err *err)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0)
		return vs_fail(err, 0, "invalid container id: empty");
	if (n > VS_ID_MAX)
		return vs_fail(err, 0, "invalid container id: longer than %d characters",
			       VS_ID_MAX);
	if (!strcmp(id, ".") || !strcmp(id, ".."))
		return vs_fail(err, 0, "invalid container id \"%s\"", id);
	for (const char *p = id; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '+' || c == '-' || c == '.'))
			return vs_fail(err, 0,
				       "invalid container id \"%s\": only [A-Za-z0-9_+.-] allowed",
				       id);
	}
	return 0;
}

static void put_str(json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

int vs_state_save(const char *dir, const vs_state *st, vs_err *err)
{
	json_object *o = json_object_new_object();
	put_str(o, "id", st->id);
	put_str(o, "bundle", st->bundle);
	put_str(o, "rootfs", st->rootfs);
	put_str(o, "backend", st->backend);
	put_str(o, "created", st->created);
	put_str(o, "cgroupPath", st->cgroup_path);
	put_str(o, "status", vs_status_name(st->status));
	json_object_object_add(o, "owner", json_object_new_int64(st->owner));
	json_object_object_add(o, "pid", json_object_new_int(st->pid));
	json_object_object_add(o, "startTime", json_object_new_uint64(st->start_time));
	if (st->annotations)
		json_object_object_add(o, "annotations", json_object_get(st->annotations));
	if (st->hooks)
		json_object_object_add(o, "hooks", json_object_get(st->hooks));
	char path[PATH_MAX];
	int rc = vs_path_join(path, sizeof(path), dir, "state.json", err);
	if (rc == 0) {
		const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		rc = vs_write_file_atomic(path, s, strlen(s), 0600, err);
	}
	json_object_put(o);
	return rc;
}

static char *dup_field(json_object *o, const char *k)
{
	json_object *v;
	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return strdup(json_object_get_string(v));
}

void vs_state_distrust(vs_state *st, const char *fmt, ...)
{
	/* A record not believed names no process at all. */
	st->pid = 0;
	st->start_time = 0;
	if (st->untrusted[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st->untrusted, sizeof(st->untrusted), fmt, ap);
	va_end(ap);
}

/* pid and startTime exactly as vs_state_save writes them. Returns why not,
 * NULL when they are; the reason is written to buf. */
static const char *check_process(json_object *pid_v, json_object *start_v, char *buf, size_t len)
{
	if (pid_v && !json_object_is_type(pid_v, json_type_int))
		return "state.json: pid: not an integer";
	if (start_v && !json_object_is_type(start_v, json_type_int))
		return "state.json: startTime: not an integer";
	int64_t pid = pid_v ? json_object_get_int64(pid_v) : 0;
	int64_t start = start_v ? json_object_get_int64(start_v) : 0;
	if (pid < 0 || pid > INT_MAX) {
		snprintf(buf, len, "state.json: pid: %lld is not a process id", (long long)pid);
		return buf;
	}
	if (pid > 0 && start <= 0) {
		snprintf(buf, len, "state.json: startTime: %s for pid %lld",
			 start_v ? "not a positive integer" : "missing", (long long)pid);
		return buf;
	}
	return NULL;
}

/* A record someone else wrote: its pid is not used at all. */
static void load_process(json_object *o, vs_state *st)
{
	json_object *pid_v = NULL, *start_v = NULL;
	json_object_object_get_ex(o, "pid", &pid_v);
	json_object_object_get_ex(o, "startTime", &start_v);
	char buf[128];
	const char *why = check_process(pid_v, start_v, buf, sizeof(buf));
	if (why) {
		vs_state_distrust(st, "%s", why);
		return;
	}
	st->pid = pid_v ? (pid_t)json_object_get_int64(pid_v) : 0;
	st->start_time = start_v ? (uint64_t)json_object_get_int64(start_v) : 0;
}

int vs_state_load(const char *dir, vs_state *st, vs_err *err)
{
	char path[PATH_MAX];
	if (vs_path_join(path, sizeof(path), dir, "state.json", err) < 0)
		return -1;
	vs_autofree char *text = NULL;
	if (vs_read_file(path, &text, NULL, err) < 0)
		return -1;
	json_object *o = json_tokener_parse(text);
	if (!o || !json_object_is_type(o, json_type_object)) {
		if (o)
			json_object_put(o);
		return vs_fail(err, 0, "%s: corrupt state file", path);
	}
	memset(st, 0, sizeof(*st));
	st->id = dup_field(o, "id");
	st->bundle = dup_field(o, "bundle");
	st->rootfs = dup_field(o, "rootfs");
	st->backend = dup_field(o, "backend");
	st->created = dup_field(o, "created");
	st->cgroup_path = dup_field(o, "cgroupPath");
	json_object *v;
	if (json_object_object_get_ex(o, "owner", &v))
		st->owner = (uid_t)json_object_get_int64(v);
	load_process(o, st);
	if (json_object_object_get_ex(o, "cgroupPath", &v) && !st->cgroup_path)
		vs_state_distrust(st, "state.json: cgroupPath: not a string");
	st->status = VS_STATUS_STOPPED;
	if (json_object_object_get_ex(o, "status", &v))
		for (int s = 0; s <= VS_STATUS_PAUSED; s++)
			if (!strcmp(json_object_get_string(v), status_names[s]))
				st->status = (vs_status)s;
	if (json_object_object_get_ex(o, "annotations", &v))
		st->annotations = json_object_get(v);
	if (json_object_object_get_ex(o, "hooks", &v) && json_object_is_type(v, json_type_object))
		st->hooks = json_object_get(v);
	json_object_put(o);
	if (!st->id || !st->bundle) {
		vs_state_clear(st);
		return vs_fail(err, 0, "%s: corrupt state file (id or bundle missing)", path);
	}
	return 0;
}

void vs_state_clear(vs_state *st)
{
	free(st->id);
	free(st->bundle);
	free(st->rootfs);
	free(st->backend);
	free(st->created);
	free(st->cgroup_path);
	if (st->annotations)
		json_object_put(st->annotations);
	if (st->hooks)
		json_object_put(st->hooks);
	memset(st, 0, sizeof(*st));
}

/* /etc/passwd read directly (fgetpwent, no NSS): the release binary is
 * static, and runc shows the same file's names. */
const char *vs_owner_name(uid_t uid, char *buf, size_t len)
{
	FILE *f = fopen("/etc/passwd", "re");
	struct passwd *pw;
	bool found = false;
	while (f && !found && (pw = fgetpwent(f)))
		if (pw->pw_uid == uid) {
			snprintf(buf, len, "%s", pw->pw_name);
			found = true;
		}
	if (f)
		fclose(f);
	if (!found)
		snprintf(buf, len, "#%u", (unsigned)uid);
	return buf;
}

json_object *vs_state_to_oci_json(const vs_state *st, vs_status live)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ociVersion", json_object_new_string(VS_OCI_VERSION));
	put_str(o, "id", st->id);
	json_object_object_add(o, "status", json_object_new_string(vs_status_name(live)));
	/* The spec requires pid when created or running; hooks during create
	 * need it too. A stopped container has none. */
	json_object_object_add(o, "pid",
			       json_object_new_int(live == VS_STATUS_STOPPED ? 0 : st->pid));
	put_str(o, "bundle", st->bundle);
	put_str(o, "rootfs", st->rootfs);
	put_str(o, "created", st->created);
	char buf[32];
	json_object_object_add(o, "owner",
			       json_object_new_string(vs_owner_name(st->owner, buf, sizeof(buf))));
	json_object_object_add(o, "annotations",
			       st->annotations ? json_object_get(st->annotations)
					       : json_object_new_object());
	return o;
}
