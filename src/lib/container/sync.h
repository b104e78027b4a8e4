/* Messages between the runtime (parent) and the container init (child) over
 * a SOCK_SEQPACKET pair: one message per step, errors travel as text. */
#ifndef VESSEL_CONTAINER_SYNC_H
#define VESSEL_CONTAINER_SYNC_H

#include <stddef.h>

#include "core/error.h"

enum vs_sync_type {
	VS_SYNC_GO = 1,		/* parent -> child: id maps are written, start setting up */
	VS_SYNC_CGROUP_DIRS,	/* parent -> child: its cgroup directories exist */
	VS_SYNC_CGROUP,		/* parent -> child: now in its cgroups (sent while it works:
				 * the first cgroup migration waits ~10 ms on an RCU grace period) */
	VS_SYNC_READY,		/* child -> parent: set up, waiting on the exec fifo */
	VS_SYNC_ERROR,		/* child -> parent: setup failed, message follows */
	VS_SYNC_HOOKS,		/* child -> parent: mounts done, before pivot: run runtime hooks */
	VS_SYNC_HOOKS_DONE,	/* parent -> child: ran them; two blobs follow (state JSON
				 * "creating" and "created") for the container's own hooks */
	VS_SYNC_SECCOMP_FD,	/* child -> parent: seccomp filter loaded; its notify listener
				 * fd follows (vs_sync_send_fd) for linux.seccomp.listenerPath */
	VS_SYNC_CONSOLE_FD,	/* child -> parent: the pty master follows (vs_sync_send_fd) */
	VS_SYNC_CONSOLE_DONE,	/* parent -> child: it has the master (and set its size) */
	VS_SYNC_FDS_CLOSED,	/* exec child -> parent: it holds none of our fds (the container
				 * lock), so it may be placed in a frozen cgroup */
	VS_SYNC_ROOT_TREE,	/* child -> parent: a detached clone of its root mount tree
				 * follows (vs_sync_send_fd), for opts->instead->root_tree */
	VS_SYNC_ROOT_TREE_DONE, /* parent -> child: root_tree's reply fd follows */
};

typedef struct vs_sync_msg {
	int type;
	int errnum;
	char msg[VS_ERR_MSG_MAX];
} vs_sync_msg;

int vs_sync_send(int fd, int type, const vs_err *e);
/* Returns 0 on a message, -1 with err on EOF or error. */
int vs_sync_recv(int fd, vs_sync_msg *m, vs_err *err);

/* A variable-length payload (up to 256 KiB) as one datagram. */
int vs_sync_send_blob(int fd, const char *data, size_t len);
int vs_sync_recv_blob(int fd, char **out, vs_err *err);

/* One fd by SCM_RIGHTS in a one-byte datagram; the receiver's copy is O_CLOEXEC. */
int vs_sync_send_fd(int sock, int fd);
int vs_sync_recv_fd(int sock, int *fd, vs_err *err);

#endif
