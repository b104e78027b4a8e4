/* The lifecycle every workload shares: create, start, state, kill, delete,
 * whatever backend runs it. Handles ids, the state directory and locking. */
#ifndef VESSEL_LIFECYCLE_CONTAINER_H
#define VESSEL_LIFECYCLE_CONTAINER_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "lifecycle/backend.h"

typedef struct vs_runtime {
	const char *root; /* state root, e.g. /run/vessel */
	bool systemd_cgroup;
	bool vm_default; /* invoked as vessel-vm: workloads are microVMs */
} vs_runtime;

struct vs_container {
	const vs_runtime *rt;
	char dir[PATH_MAX]; /* <root>/<id> */
	int lock_fd;	    /* flock'ed fd on dir, -1 when unlocked */
	vs_state state;
	const vs_backend_ops *ops;
	bool is_parent;	  /* this process cloned the workload (run) */
	int console_fd;	  /* pty master kept for a foreground run, or -1 */
	pid_t signal_pid; /* where a foreground run forwards signals, if not state.pid
			   * (a backend whose init does not take them: microvm) */
};

/* Create the container: state dir, backend create, state "created". On any
 * failure nothing is left behind. Returns the locked container. */
int vs_container_create(const vs_runtime *rt, const char *id, const vs_create_opts *opts,
			vs_container **out, vs_err *err);

/* Open an existing container; with lock, take its exclusive lock. */
int vs_container_open(const vs_runtime *rt, const char *id, bool lock, vs_container **out,
		      vs_err *err);
void vs_container_close(vs_container *c);

/* Drop / retake the container lock (run waits unlocked so kill and delete
 * from other processes are not blocked behind it). */
void vs_container_unlock(vs_container *c);
int vs_container_lock(vs_container *c, vs_err *err);

vs_status vs_container_status(vs_container *c);
int vs_container_start(vs_container *c, vs_err *err);
int vs_container_kill(vs_container *c, int sig, bool all, vs_err *err);
int vs_container_delete(vs_container *c, bool force, vs_err *err);

/* Wait for the workload of a container this process created; returns the
 * exit status as a shell would report it (code, or 128+signal). */
int vs_container_wait(vs_container *c, vs_err *err);

/* Ids of all containers under root (malloc'd, NULL terminated, sorted). */
int vs_container_list_ids(const vs_runtime *rt, char ***ids, vs_err *err);

#endif
