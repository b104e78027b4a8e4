/* vessel-agent: the guest side of docs/agent-protocol.md. One epoll loop
 * serves the listener, control connections, stdio connections (pumps
 * between a socket and a program's pipe or pty), SIGCHLD and the OOM poll. */
#ifndef VESSEL_AGENT_AGENT_H
#define VESSEL_AGENT_AGENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/frame.h"
#include "core/error.h"
#include "oci/config.h"

#define AGENT_MAX_CONNS	 256
#define AGENT_MAX_PROCS	 256
#define AGENT_OUTBUF_MAX (16u << 20) /* a client that never reads is dropped */

struct agent;

/* Every fd in the epoll set has one handler; epoll's data.ptr points at it. */
typedef struct handler {
	int fd;
	uint32_t events; /* what is registered now (0: not in the set) */
	bool dead;	 /* freed at the end of this batch of events */
	void (*fn)(struct agent *a, struct handler *h, uint32_t events);
} handler;

int agent_watch(struct agent *a, handler *h, uint32_t events);

enum stream { ST_STDIN, ST_STDOUT, ST_STDERR, ST_PTY, ST_COUNT };

/* Bytes one way between two fds; owns both. */
typedef struct pump {
	handler in, out;
	char buf[65536];
	size_t len, off;
	bool is_pty_master_in; /* EIO from a pty master is its EOF */
	bool shut_out;	       /* shutdown(SHUT_WR) `out` at EOF, not close */
	struct pump *next;
} pump;

typedef struct waiter {
	struct conn *c;
	uint64_t id;
	uint64_t base; /* oom_watch: the oom_kill count at the request */
	struct waiter *next;
} waiter;

enum proc_state { P_CREATED, P_STARTED, P_EXITED };

typedef struct proc {
	char id[65];
	pid_t pid;
	enum proc_state state;
	int status; /* wait status once exited */
	bool want[ST_COUNT], attached[ST_COUNT];
	bool start_requested;
	bool waited;	   /* an exit status was answered: may be evicted */
	int fds[ST_COUNT]; /* the agent's ends until a stream attaches */
	int pty_master;	   /* kept for resize (dup of fds[ST_PTY]) */
	int go_w;	   /* one byte releases the waiting child */
	int status_r;	   /* child's setup error, EOF on exec */
	waiter *waits;
	/* exec: the control connection that made it; when that closes before
	 * the process has exited, the process is killed (proc_drop_conn). */
	struct conn *owner;
	struct proc *next;
} proc;

typedef struct conn {
	handler h;
	vs_agent_decoder dec;
	bool control; /* after hello */
	char *out;
	size_t out_len, out_off, out_cap;
	bool closing; /* close once out is flushed */
	struct conn *next;
} conn;

typedef struct agent {
	int ep;
	handler listener, sigfd, oomfd;
	bool pid1; /* PID 1 of a guest */
	conn *conns;
	size_t n_conns;
	proc *procs;
	size_t n_procs;
	pump *pumps;
	waiter *oom_waits;
	bool init_exited;
	int init_code;
	bool shutdown;
	void **grave; /* objects whose handlers may still be in this batch */
	size_t n_grave;
} agent;

/* Free p (malloc'd) once the current batch of epoll events is handled. */
void agent_bury(agent *a, void *p);

/* loop.c */
int agent_run(agent *a, int listen_fd, bool pid1, vs_err *err);
void conn_send(agent *a, conn *c, json_object *msg);
void conn_reply(agent *a, conn *c, uint64_t id, json_object *fields);
void conn_error(agent *a, conn *c, uint64_t id, int errnum, const char *msg);
void agent_unwatch(agent *a, handler *h);
int conn_take_socket(agent *a, conn *c);

/* control.c: one request on a control connection. */
void control_dispatch(agent *a, conn *c, json_object *req);
/* A connection's first frame: hello (control) or stdio. Returns 1 when the
 * connection became a stdio pump (the conn is gone), 0 on a control hello,
 * -1 on a protocol error (already answered, close). */
int conn_first_frame(agent *a, conn *c, json_object *msg);

/* proc.c */
proc *proc_find(agent *a, const char *id);
/* start (exec): owner is the requesting connection (see proc.owner). */
int proc_create(agent *a, conn *owner, const char *id, json_object *process, const char *hostname,
		json_object *stdio, bool start, proc **out, vs_err *err);
int proc_start(agent *a, proc *p, vs_err *err);
void proc_reap(agent *a);
void proc_add_wait(agent *a, proc *p, conn *c, uint64_t id);
void proc_drop_conn(agent *a, conn *c);
void wait_reply(agent *a, proc *p, conn *c, uint64_t id);
void procs_kill_all(agent *a);
void proc_stream_attached(agent *a, proc *p);
int stream_from_name(const char *s);

/* stdio.c: -1 (sock untouched) when the stream cannot attach, -2 when sock
 * was consumed by a failure. */
int stdio_attach(agent *a, proc *p, enum stream s, int sock, vs_err *err);
void pumps_free(agent *a);
bool pumps_busy(const agent *a);

/* info.c: ps, stats, oom_watch. */
json_object *info_ps(vs_err *err);
/* Every descendant of root now (malloc'd array of *n pids, root excluded). */
int info_descendants(pid_t root, pid_t **out, size_t *n, vs_err *err);
json_object *info_stats(vs_err *err);
int info_oom_kills(uint64_t *out);
int oom_watch_add(agent *a, conn *c, uint64_t id, vs_err *err);
void oom_poll(agent *a);

/* network.c */
int net_configure(json_object *req, vs_err *err);

/* pid1.c: the guest's early boot as PID 1. */
int pid1_boot(vs_err *err);
void pid1_poweroff(void);

#endif
