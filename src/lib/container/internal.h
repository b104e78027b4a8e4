/* Shared between the container backend's parent side and its init. */
#ifndef VESSEL_CONTAINER_INTERNAL_H
#define VESSEL_CONTAINER_INTERNAL_H

#include <stdbool.h>

#include "core/error.h"
#include "lifecycle/backend.h"
#include "oci/config.h"

typedef struct vs_init_ctx {
	const vs_config *cfg;
	const vs_create_opts *opts;
	int sync_fd;			/* child end of the sync socket */
	int exec_error_fd;		/* exec.error, a regular file: why start failed (or -1);
					 * never a host directory, which a hostile image could
					 * reach through /proc/self/fd */
	int fifo_fd;			/* exec.fifo, opened O_RDWR by the parent */
	int ns_fds[VS_NS_COUNT];	/* fds of namespaces to join in the child, or -1 */
	int deferred_unshare;		/* CLONE_NEW* flags to unshare in the child */
	const char *cgroup_path;	/* the container's cgroup, for cgroup mounts */
	const struct vs_cgroup *cgroup; /* its dirs: relative paths differ per hierarchy */
	bool in_cgroup;			/* VS_SYNC_CGROUP received */
	bool have_cgroup_dirs;		/* VS_SYNC_CGROUP_DIRS received */
	bool want_hooks;		/* stop before pivot so the runtime runs its hooks */
	char *state_created;		/* state JSON for startContainer hooks (from the runtime) */
	char **env;			/* process.env plus HOME, or NULL: process.env as is */
	int *bind_fds;			/* per mount, a detached bind tree the runtime made, or
					 * -1; NULL if none (container/mount_ext.h) */
	int instead_fd;			/* opts->instead: the program to exec at READY, or -1 */
	int pass_fd;			/* opts->instead->pass_fd, or -1 */
} vs_init_ctx;

/* sync.c, the init's side of the sync protocol (rootfs.c and init.c wait on
 * these steps). Before pivot_root: let the runtime run prestart/createRuntime hooks, then
 * run createContainer hooks here, in the container's namespaces. */
int vs_init_hook_point(vs_init_ctx *ctx, vs_err *err);

/* Block until the parent has moved us into our cgroups, then create the
 * cgroup namespace if asked. Idempotent; needed before cgroup mounts. */
int vs_init_wait_cgroup(vs_init_ctx *ctx, vs_err *err);
/* Block until the runtime has created our cgroup directories (enough for
 * binding them), which comes before it moves us in. */
int vs_init_wait_cgroup_dirs(vs_init_ctx *ctx, vs_err *err);

/* The container's cgroup record in its state dir. */
#define VS_CGROUP_FILE "cgroup.json"

/* Check the cgroup records against each other and the host (trust.c);
 * the error names the field not believed. */
int vs_container_verify(vs_container *c, vs_err *err);
/* backend.c: the container's cgroup as create recorded it. */
struct vs_cgroup *vs_container_cgroup(vs_container *c, vs_err *err);
/* exec.c: the backend's exec operation. */
int vs_container_backend_exec(vs_container *c, const vs_config *cfg, const vs_exec_process *x,
			      pid_t *pid, vs_err *err);

/* The container init: runs in the cloned child, never returns. */
__attribute__((noreturn)) void vs_container_init(vs_init_ctx *ctx);

/* rootfs.c: everything from mount propagation to pivot_root and masking. */
int vs_rootfs_setup(vs_init_ctx *ctx, vs_err *err);
/* After pivot: masked and read-only paths, read-only root. */
int vs_rootfs_finalize(const vs_config *cfg, vs_err *err);

/* devices.c: default devices, linux.devices, /dev symlinks (rootfs not yet
 * pivoted; root_fd is the rootfs, every path is resolved inside it). */
int vs_devices_setup(const vs_config *cfg, int root_fd, bool in_userns, vs_err *err);

/* privileges.c: rlimits, user, capabilities, no_new_privs. */
int vs_process_apply_rlimits(const vs_process *p, vs_err *err);
int vs_process_drop_privileges(const vs_process *p, vs_err *err);

/* seccomp.c: load linux.seccomp (s, may be NULL) if it goes on at this point
 * (after_nnp: the end of setup, for a process with no_new_privs (nnp);
 * otherwise before capabilities drop) and send a notify listener to the
 * runtime over sync_fd. */
struct vs_seccomp;
int vs_seccomp_install(const struct vs_seccomp *s, bool nnp, bool after_nnp, int sync_fd,
		       vs_err *err);

/* seccomp_notify.c, runtime side: take the listener the init sent
 * (VS_SYNC_SECCOMP_FD) and pass it with the container state to listenerPath. */
int vs_seccomp_notify_handoff(vs_container *c, const vs_config *cfg, int sock, vs_err *err);

/* Locate args[0] in PATH from the process env (like execvp, but checked
 * before start so a missing program fails create). Every candidate is
 * resolved inside root_fd without magic links, so /proc/self/fd/N or
 * /proc/self/exe tricks are refused; out gets the path to exec. */
int vs_find_executable(const vs_process *p, int root_fd, char *out, size_t len, vs_err *err);

#endif
