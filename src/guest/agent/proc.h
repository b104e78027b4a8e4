/* Workload processes (proc.c): above info and the loop. */
#ifndef VESSEL_AGENT_PROC_H
#define VESSEL_AGENT_PROC_H

#include "guest/agent/loop.h"

#define AGENT_MAX_PROCS 256

enum stream { ST_STDIN, ST_STDOUT, ST_STDERR, ST_PTY, ST_COUNT };

/* "stdin", "stdout", "stderr" or "pty" as an enum stream, or -1. */
int stream_from_name(const char *s);

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
	conn *owner;
	struct proc *next;
} proc;

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
/* stdio.c: a stream attached; exec the program if start came first. */
void proc_stream_attached(agent *a, proc *p);

#endif
