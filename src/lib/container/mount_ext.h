/* The container side of the mount extensions (oci/mount_ext.h): tmpcopyup,
 * copy-symlink, idmapped bind mounts and bind sources the runtime opens. */
#ifndef VESSEL_CONTAINER_MOUNT_EXT_H
#define VESSEL_CONTAINER_MOUNT_EXT_H

#include <stdbool.h>

#include "core/error.h"
#include "oci/config.h"

/* tmpcopyup.c: copy the tree under directory fd `from` (the image's, now
 * covered by the tmpfs) into `to` (the new tmpfs root), keeping modes,
 * owners, times and symlinks, never following one. keep_mode: the mount
 * set the root's mode itself. dest names the mount in errors. */
int vs_tmpcopyup(int from, int to, const char *dest, bool keep_mode, vs_err *err);

/* bind_sources.c, runtime side, before the init is cloned: a detached tree
 * (open_tree(OPEN_TREE_CLONE)) for each bind mount the init cannot make
 * itself, in *fds (one per mount, -1 for the others; *fds stays NULL when
 * there are none); the init attaches them with move_mount, as runc does with
 * its mount source fds. Those are:
 * - idmapped mounts: mount_setattr(MOUNT_ATTR_IDMAP) wants CAP_SYS_ADMIN over
 *   the source's filesystem, which the init in a user namespace lacks;
 * - every bind mount of a container with a new or joined user namespace: its
 *   source may sit where the mapped root cannot look (podman's
 *   /run/containers/storage/.../userdata is 0700).
 * Not with a joined mount namespace, where sources are the init's to find.
 * userns_fd: a joined user namespace (linux.namespaces path), or -1. */
/* Before clone: every bind source exists, or create fails naming
 * mounts[i].source (not for a mount namespace joined by path: its sources
 * name paths there). */
int vs_bind_sources_check(const vs_config *cfg, vs_err *err);
int vs_bind_sources_prepare(const vs_config *cfg, int userns_fd, int **fds, vs_err *err);
void vs_bind_sources_close(const vs_config *cfg, int *fds);

#endif
