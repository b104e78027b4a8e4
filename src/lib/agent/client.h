/* The host side of the guest agent protocol (docs/agent-protocol.md): dial
 * the agent (plain AF_UNIX, or the hybrid vsock socket's CONNECT handshake),
 * say hello, then one call per request. Replies are matched by id; a reply
 * for another id (an earlier request answered late) is kept for its caller.
 * Errors name the request and carry the agent's message and errno. */
#ifndef VESSEL_AGENT_CLIENT_H
#define VESSEL_AGENT_CLIENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"

#define VS_AGENT_VERSION    1
#define VS_AGENT_VSOCK_PORT 1024
#define VS_AGENT_TIMEOUT_MS 10000 /* default per request (wait has none) */
#define VS_AGENT_STASH_MAX  16

/* Connect to an AF_UNIX stream socket at path. */
int vs_agent_dial_unix(const char *path, int *fd, vs_err *err);
/* The hybrid vsock socket (docs/vm.md "vsock"): connect to path, send
 * "CONNECT <port>\n", expect "OK <n>\n" within timeout_ms (the whole line,
 * not each byte); the fd is then a stream to the guest's port. */
int vs_agent_dial_vsock(const char *path, unsigned port, int timeout_ms, int *fd, vs_err *err);

typedef struct vs_agent_client {
	int fd;
	uint64_t next_id;
	int timeout_ms;
	json_object *stash[VS_AGENT_STASH_MAX]; /* replies that came for other ids */
	size_t n_stash;
} vs_agent_client;

/* Take fd (closed on failure too) and make it a control connection: send
 * hello, check the agent's version. timeout_ms bounds each request (-1: none). */
int vs_agent_client_open(vs_agent_client *c, int fd, int timeout_ms, vs_err *err);
void vs_agent_client_close(vs_agent_client *c);

/* One request: fields (consumed; may be NULL) plus type and id; waits up to
 * timeout_ms (-1: forever) for its reply, one deadline for the whole call
 * (however the reply trickles in, whatever other ids' replies come first). *reply (may be NULL)
 * gets the reply object to json_object_put. An "error" reply fails with its message. */
int vs_agent_call(vs_agent_client *c, const char *type, json_object *fields, int timeout_ms,
		  json_object **reply, vs_err *err);

/* The same in two halves, for a reply that needs something done first (an
 * exec's streams attached): send (within the client's timeout, to an agent
 * that does not read), then await the reply to *id. */
int vs_agent_call_send(vs_agent_client *c, const char *type, json_object *fields, uint64_t *id,
		       vs_err *err);
/* timeout_ms counts from this call. */
int vs_agent_call_await(vs_agent_client *c, const char *type, uint64_t id, int timeout_ms,
			json_object **reply, vs_err *err);

/* create and exec: the process, as the OCI config's process object. */
typedef struct vs_agent_proc {
	const char *id;	      /* process_id ("init" for the workload) */
	json_object *process; /* borrowed */
	const char *hostname; /* may be NULL */
	const char *const
		*streams; /* stream names the host attaches (NULL-terminated, may be NULL) */
} vs_agent_proc;

int vs_agent_create(vs_agent_client *c, const vs_agent_proc *p, pid_t *pid, vs_err *err);
int vs_agent_exec(vs_agent_client *c, const vs_agent_proc *p, pid_t *pid, vs_err *err);
/* create or exec (type) in halves: send, attach the streams, take the pid. */
int vs_agent_proc_send(vs_agent_client *c, const char *type, const vs_agent_proc *p, uint64_t *id,
		       vs_err *err);
int vs_agent_proc_await(vs_agent_client *c, const char *type, uint64_t id, pid_t *pid, vs_err *err);
int vs_agent_start(vs_agent_client *c, const char *id, vs_err *err);
int vs_agent_signal(vs_agent_client *c, const char *id, int sig, bool all, vs_err *err);
/* Blocks until the process exits: *code is 0..255 (128+N for signal N). */
int vs_agent_wait(vs_agent_client *c, const char *id, int *code, int *sig, vs_err *err);
int vs_agent_resize(vs_agent_client *c, const char *id, unsigned rows, unsigned cols, vs_err *err);
/* Agent-side pids of every workload process (malloc'd). */
int vs_agent_ps(vs_agent_client *c, pid_t **pids, size_t *n, vs_err *err);
/* The stats reply ({memory, cpu, pids}), to json_object_put. */
int vs_agent_stats(vs_agent_client *c, json_object **out, vs_err *err);
int vs_agent_shutdown(vs_agent_client *c, vs_err *err);

/* Make a freshly dialled fd a stdio connection for (process id, stream):
 * after this, raw bytes. Does not take fd. */
int vs_agent_stdio_open(int fd, const char *id, const char *stream, vs_err *err);

#endif
