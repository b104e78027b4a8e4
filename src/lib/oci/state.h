/* The state store: one directory per container under the runtime root
 * (--root, default /run/vessel) holding state.json, written atomically. */
#ifndef VESSEL_OCI_STATE_H
#define VESSEL_OCI_STATE_H

#include <json-c/json.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"

#define VS_ID_MAX 1024

typedef enum vs_status {
	VS_STATUS_CREATING = 0,
	VS_STATUS_CREATED,
	VS_STATUS_RUNNING,
	VS_STATUS_STOPPED,
	VS_STATUS_PAUSED,
} vs_status;

const char *vs_status_name(vs_status s);

typedef struct vs_state {
	char *id;
	char *bundle;
	char *rootfs;
	char *backend;	   /* "container" or "microvm" */
	char *created;	   /* RFC 3339 */
	char *cgroup_path; /* resolved cgroup path (relative to hierarchy roots) */
	uid_t owner;
	pid_t pid;
	uint64_t start_time;	  /* of pid, see core/proc.h */
	vs_status status;	  /* as last recorded; the live status is derived */
	json_object *annotations; /* owned reference or NULL */
	json_object *hooks;	  /* config.json "hooks", kept for poststart/poststop */
	/* Why the record is not believed ("state.json: pid: ..."), empty when it
	 * is: an untrusted container is stopped, and nothing it names is
	 * signalled, frozen or removed. */
	char untrusted[256];
} vs_state;

/* Ids as runc accepts them: [A-Za-z0-9_+.-], not "." or "..", 1..VS_ID_MAX chars. */
int vs_validate_id(const char *id, vs_err *err);

int vs_state_save(const char *dir, const vs_state *st, vs_err *err);
/* A state.json that cannot be read or lacks id/bundle fails; a pid or
 * start time that is not what create writes (a JSON integer, pid > 0 with
 * its start time > 0, or no process at all) loads with st->untrusted set. */
int vs_state_load(const char *dir, vs_state *st, vs_err *err);
/* Mark st untrusted (the first reason wins) and drop its pid. */
void vs_state_distrust(vs_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vs_state_clear(vs_state *st);

/* A user name for the state's owner ("#1000" when it has none); buf holds
 * the fallback. */
const char *vs_owner_name(uid_t uid, char *buf, size_t len);

/* The OCI state document (ociVersion, id, status, pid, bundle, annotations). */
json_object *vs_state_to_oci_json(const vs_state *st, vs_status live);

#endif
