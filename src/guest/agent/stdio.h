/* stdio connections pumped to a program's pipes or pty (stdio.c): above
 * proc and the loop. */
#ifndef VESSEL_AGENT_STDIO_H
#define VESSEL_AGENT_STDIO_H

#include "guest/agent/proc.h"

/* -1 (sock untouched) when the stream cannot attach, -2 when sock was
 * consumed by a failure. */
int stdio_attach(agent *a, proc *p, enum stream s, int sock, vs_err *err);
void pumps_free(agent *a);
/* An output stream is still being pumped to the host. */
bool pumps_busy(const agent *a);

#endif
