/* Bind-mount sources opened by the runtime, as runc 1.1 does: a source
 * below a directory the container's (user namespace) root cannot search
 * still works, and a bad source fails create naming its key.
 *
 * An fd for a bind source must come from the mount namespace the init
 * mounts in (bind(2) from another namespace's mount is EINVAL), and that
 * one is made by the init inside its user namespace. So the runtime, still
 * host root, checks every source before clone, then enters the init's new
 * mount namespace when asked (VS_SYNC_MOUNT_NS), opens the sources O_PATH
 * there, comes back and passes them over the sync socket. The init closes
 * them once its mounts are made, before anything from the image runs. */
#ifndef VESSEL_CONTAINER_MOUNT_SOURCES_H
#define VESSEL_CONTAINER_MOUNT_SOURCES_H

#include <stdbool.h>
#include <sys/types.h>

#include "container/internal.h"
#include "core/error.h"
#include "oci/config.h"

/* Runtime, before clone: every bind source exists (not for a mount
 * namespace joined by path: its sources name paths there). */
int vs_mount_sources_check(const vs_config *cfg, vs_err *err);

/* Whether the init gets its bind sources from the runtime: a user
 * namespace, a new mount namespace and at least one bind mount. Without a
 * user namespace the init is host root and opens them itself. */
bool vs_mount_sources_from_runtime(const vs_config *cfg);

/* Runtime, on VS_SYNC_MOUNT_NS: open the sources in pid's mount namespace
 * and send them, one per bind mount in order. */
int vs_mount_sources_send(const vs_config *cfg, pid_t pid, int sock, vs_err *err);

/* Init, before its mounts (no-op unless ctx->mount_sources_from_runtime):
 * be in the cgroups first (so no cgroup message is pending), ask, and
 * receive into ctx->mount_src_fds. */
int vs_init_receive_mount_sources(vs_init_ctx *ctx, vs_err *err);

/* Init, once the mounts are made. */
void vs_init_close_mount_sources(vs_init_ctx *ctx);

#endif
