/* Messages between the runtime (parent) and the container init (child) over
 * a SOCK_SEQPACKET pair: one message per step, errors travel as text. */
#ifndef VESSEL_CONTAINER_SYNC_H
#define VESSEL_CONTAINER_SYNC_H

#include "core/error.h"

enum vs_sync_type {
	VS_SYNC_GO = 1, /* parent -> child: id maps are written, start setting up */
	VS_SYNC_CGROUP, /* parent -> child: now in its cgroups (sent while it works:
			 * the first cgroup migration waits ~10 ms on an RCU grace period) */
	VS_SYNC_READY,	/* child -> parent: set up, waiting on the exec fifo */
	VS_SYNC_ERROR,	/* child -> parent: setup failed, message follows */
};

typedef struct vs_sync_msg {
	int type;
	int errnum;
	char msg[VS_ERR_MSG_MAX];
} vs_sync_msg;

int vs_sync_send(int fd, int type, const vs_err *e);
/* Returns 0 on a message, -1 with err on EOF or error. */
int vs_sync_recv(int fd, vs_sync_msg *m, vs_err *err);

#endif
