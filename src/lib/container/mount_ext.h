/* The container side of the mount extensions (oci/mount_ext.h): tmpcopyup,
 * copy-symlink and idmapped bind mounts. */
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

/* idmap.c, runtime side, before the init is cloned: a detached idmapped tree
 * (open_tree + mount_setattr(MOUNT_ATTR_IDMAP)) for each idmapped mount, in
 * *fds (one per mount, -1 for the others; *fds stays NULL when there are
 * none). The kernel wants CAP_SYS_ADMIN over the source's filesystem for
 * that, which only the runtime has; the init attaches them with move_mount.
 * userns_fd: a joined user namespace (linux.namespaces path), or -1. */
int vs_idmap_mounts_prepare(const vs_config *cfg, int userns_fd, int **fds, vs_err *err);
void vs_idmap_mounts_close(const vs_config *cfg, int *fds);

#endif
