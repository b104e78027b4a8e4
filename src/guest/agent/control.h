/* The control requests (control.c): the top layer but main. */
#ifndef VESSEL_AGENT_CONTROL_H
#define VESSEL_AGENT_CONTROL_H

#include "guest/agent/loop.h"

/* One request on a control connection. */
void control_dispatch(agent *a, conn *c, json_object *req);
/* A connection's first frame: hello (control) or stdio. Returns 1 when the
 * connection became a stdio pump (the conn is gone), 0 on a control hello,
 * -1 on a protocol error (already answered, close). */
int conn_first_frame(agent *a, conn *c, json_object *msg);

#endif
