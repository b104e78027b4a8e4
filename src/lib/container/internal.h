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
	int state_dir_fd;		/* the state dir, to leave exec.error after start (or -1) */
	int fifo_fd;			/* O_PATH fd of exec.fifo, opened by the parent */
	int ns_fds[VS_NS_COUNT];	/* fds of namespaces to join in the child, or -1 */
	int deferred_unshare;		/* CLONE_NEW* flags to unshare in the child */
	const char *cgroup_path;	/* the container's cgroup, for cgroup mounts */
	const struct vs_cgroup *cgroup; /* its dirs: relative paths differ per hierarchy */
	bool in_cgroup;			/* VS_SYNC_CGROUP received */
	bool have_cgroup_dirs;		/* VS_SYNC_CGROUP_DIRS received */
	bool want_hooks;		/* stop before pivot so the runtime runs its hooks */
	char *state_created;		/* state JSON for startContainer hooks (from the runtime) */
} vs_init_ctx;

/* Before pivot_root: let the runtime run prestart/createRuntime hooks, then
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

/* Locate args[0] in PATH from the process env (like execvp, but checked
 * before start so a missing program fails create). */
int vs_find_executable(const vs_process *p, char *out, size_t len, vs_err *err);

#endif
