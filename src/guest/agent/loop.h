/* vessel-agent's bottom layer: one epoll loop serves the listener, control
 * connections, stdio pumps, SIGCHLD and a timer. It names no file above it:
 * what a frame means, what a closed connection ends, reaping, the timer's
 * work and whether work is left are the agent_hooks that main.c fills in.
 * Layers, bottom up: loop, info, proc, stdio, control, main. */
#ifndef VESSEL_AGENT_LOOP_H
#define VESSEL_AGENT_LOOP_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/frame.h"
#include "core/error.h"

#define AGENT_MAX_CONNS	 256
#define AGENT_OUTBUF_MAX (16u << 20) /* a client that never reads is dropped */

struct agent;

/* Every fd in the epoll set has one handler; epoll's data.ptr points at it. */
typedef struct handler {
	int fd;
	uint32_t events; /* what is registered now (0: not in the set) */
	bool dead;	 /* freed at the end of this batch of events */
	void (*fn)(struct agent *a, struct handler *h, uint32_t events);
} handler;

typedef struct conn {
	handler h;
	vs_agent_decoder dec;
	bool control; /* after hello */
	char *out;
	size_t out_len, out_off, out_cap;
	bool closing; /* close once out is flushed */
	struct conn *next;
} conn;

/* A reply owed to a request (wait, oom_watch) until its event comes. */
typedef struct waiter {
	conn *c;
	uint64_t id;
	uint64_t base; /* oom_watch: the oom_kill count at the request */
	struct waiter *next;
} waiter;

/* The loop's calls upward; every one is required. */
typedef struct agent_hooks {
	/* A connection's first frame: 1 when the connection is gone (it
	 * became a stdio pump), 0 when it became a control connection, -1 on
	 * a protocol error (already answered: close it). */
	int (*first_frame)(struct agent *a, conn *c, json_object *msg);
	/* One frame on a control connection. */
	void (*dispatch)(struct agent *a, conn *c, json_object *req);
	/* c is being freed: drop every reference to it. */
	void (*conn_closed)(struct agent *a, conn *c);
	/* SIGCHLD came (or may have, before the signalfd existed). */
	void (*reap)(struct agent *a);
	/* agent.timer expired. */
	void (*tick)(struct agent *a);
	/* Work that keeps the agent running with no control connection. */
	bool (*busy)(const struct agent *a);
} agent_hooks;

/* One per agent. Each layer keeps its state here; the loop touches only
 * its own fields. */
typedef struct agent {
	/* loop.c */
	const agent_hooks *hooks;
	int ep;
	handler listener, sigfd;
	handler timer; /* a timerfd info.c arms for oom_watch (hooks->tick) */
	bool pid1;     /* PID 1 of a guest */
	conn *conns;
	size_t n_conns;
	bool shutdown; /* set by the shutdown request: leave the loop */
	void **grave;  /* objects whose handlers may still be in this batch */
	size_t n_grave;
	/* proc.c */
	struct proc *procs;
	size_t n_procs;
	bool init_exited;
	int init_code;
	/* stdio.c */
	struct pump *pumps;
	/* info.c */
	waiter *oom_waits;
} agent;

int agent_run(agent *a, int listen_fd, bool pid1, const agent_hooks *hooks, vs_err *err);
int agent_watch(agent *a, handler *h, uint32_t events);
void agent_unwatch(agent *a, handler *h);
/* Free p (malloc'd) once the current batch of epoll events is handled. */
void agent_bury(agent *a, void *p);

void conn_send(agent *a, conn *c, json_object *msg);
void conn_reply(agent *a, conn *c, uint64_t id, json_object *fields);
void conn_error(agent *a, conn *c, uint64_t id, int errnum, const char *msg);
/* The stdio connection leaves the conn list; its socket is the caller's. */
int conn_take_socket(agent *a, conn *c);

#endif
