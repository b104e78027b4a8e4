/* The seam between lifecycle and isolation: each backend (container today,
 * microVM next) implements these operations. Lifecycle code never asks which
 * backend it drives. All ops are called with the container lock held. */
#ifndef VESSEL_LIFECYCLE_BACKEND_H
#define VESSEL_LIFECYCLE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "oci/config.h"
#include "oci/resources.h"
#include "oci/state.h"

typedef struct vs_container vs_container;

/* OOM notifications of a live workload, whatever produces them (a cgroup's
 * memory events, a guest agent): the backend allocates a larger struct that
 * starts with this one. Poll fd for POLLIN, then read: *count is the number
 * of OOM kills since the last read (0 for a spurious wakeup); it returns 1
 * once the workload is gone, 0 else, -1 on error. close frees it all. */
typedef struct vs_oom_watch vs_oom_watch;
struct vs_oom_watch {
	int fd;
	int (*read)(vs_oom_watch *w, uint64_t *count, vs_err *err);
	void (*close)(vs_oom_watch *w);
};

/* For a backend built on the container backend (the microvm backend,
 * docs/microvm.md): the container init does not run process.args but,
 * right after create (not at start), as root of the container with the
 * init's capabilities (process's user, capabilities, seccomp, rlimits and
 * terminal are not applied: the program applies them to what it runs)
 * either
 *  - execs a program (fd >= 0; the test stand-in): an fd opened on the
 *    host before pivot_root (execveat AT_EMPTY_PATH), so nothing is
 *    bind-mounted into the rootfs; or
 *  - carries on in-process (fd < 0, run set; the VM monitor): prepare runs
 *    after pivot_root and before the init reports READY, so its failure
 *    fails create; run runs after READY and its return value is the init's
 *    exit status. Both see the host's fds keep[0..n_keep) (opened before
 *    clone, so before pivot_root) at the numbers keep[] holds by then: the
 *    init moves them above --preserve-fds and updates keep[] in its copy.
 *    With root_tree set, before prepare, the init sends the host side a
 *    detached clone of its finished root mount tree (its mounts, volumes
 *    included, as the program would see them); root_tree runs on the host
 *    side with it (arg is the host's copy there) and its *reply fd lands in
 *    *root_reply in the init's copy. */
typedef struct vs_exec_instead {
	int fd;		   /* the program (O_PATH or O_RDONLY), or -1: in-process */
	char *const *argv; /* its arguments (argv[0] first) */
	int pass_fd;	   /* handed to it as fd 3+preserve_fds (argv names it), or -1 */
	int (*prepare)(void *arg, vs_err *err);
	int (*run)(void *arg);
	void *arg;
	int *keep; /* fds the in-process step needs; the init closes all others */
	size_t n_keep;
	int (*root_tree)(void *arg, vs_container *c, int tree_fd, int *reply, vs_err *err);
	int *root_reply;
} vs_exec_instead;

typedef struct vs_create_opts {
	const char *bundle;
	const char *pid_file;
	const char *console_socket;
	bool no_pivot;
	bool no_new_keyring;
	int preserve_fds;
	bool console_proxy;		/* foreground run: a pty master stays in c->console_fd */
	const vs_exec_instead *instead; /* NULL: run process.args (container backend only) */
} vs_create_opts;

/* A process to run in a live workload (`exec`), backend-neutral: the
 * process with the workload's defaults already merged in, and how to
 * attach it. */
typedef struct vs_exec_process {
	vs_process process;
	vs_process_attrs attrs;
	const char *console_socket; /* process.terminal: the pty master goes there, */
	int *console_fd;	    /* or, when non-NULL, back to the caller */
	int preserve_fds;
	char *const *cgroups; /* runc's --cgroup forms (SUB, CTRL[,CTRL]:SUB), may be NULL */
} vs_exec_process;

typedef struct vs_backend_ops {
	const char *name;
	/* Build everything but exec the user program; fill c->state (pid, ...). */
	int (*create)(vs_container *c, const vs_config *cfg, const vs_create_opts *opts,
		      vs_err *err);
	/* Let the created workload exec its program. */
	int (*start)(vs_container *c, vs_err *err);
	/* Whether the records (loaded into c->state, with the backend's own
	 * files) are ones create could have written; NULL if none to check.
	 * On failure the container is treated as stopped and left alone. */
	int (*verify)(vs_container *c, vs_err *err);
	/* Derive the live status from the recorded state and the host. */
	vs_status (*status)(vs_container *c);
	int (*kill)(vs_container *c, int sig, bool all, vs_err *err);
	/* Give back what the workload borrowed from the host (network devices)
	 * while it still lives: delete and a failed create call it before the
	 * final kill. NULL if nothing to give back. */
	int (*detach)(vs_container *c, vs_err *err);
	/* Tear down what create made (processes must already be gone). */
	int (*destroy)(vs_container *c, vs_err *err);
	/* Resource control (cgroups); NULL where a backend lacks it. */
	int (*pause)(vs_container *c, vs_err *err);
	int (*resume)(vs_container *c, vs_err *err);
	/* Apply the given linux.resources to the live workload. */
	int (*update)(vs_container *c, const vs_resources *r, vs_err *err);
	/* runc's `events --stats` data object. */
	int (*stats)(vs_container *c, json_object **out, vs_err *err);
	/* Every pid of the workload, sorted, malloc'd. */
	int (*pids)(vs_container *c, pid_t **pids, size_t *n, vs_err *err);
	/* Run x in the live workload (its namespaces, cgroups, root); *pid is
	 * the new process, a child of the caller, once its program is exec'd. */
	int (*exec)(vs_container *c, const vs_config *cfg, const vs_exec_process *x, pid_t *pid,
		    vs_err *err);
	/* OOM notifications (see vs_oom_watch). */
	int (*oom_watch)(vs_container *c, vs_oom_watch **w, vs_err *err);
} vs_backend_ops;

extern const vs_backend_ops vs_container_backend;

/* Pick the backend for a config by the selection rules (microvm/select.h:
 * the annotation "io.vessel.backend", Kubernetes sandboxes, and vm_default
 * when vessel runs as vessel-vm). */
const vs_backend_ops *vs_backend_for_config(const vs_config *cfg, bool vm_default, vs_err *err);
const vs_backend_ops *vs_backend_by_name(const char *name, vs_err *err);

/* One more backend, found by its name like the built-in ones: for tests
 * (tests/unit/test_lifecycle.c drives the lifecycle through a fake). NULL
 * removes it. */
void vs_backend_register_extra(const vs_backend_ops *ops);

#endif
