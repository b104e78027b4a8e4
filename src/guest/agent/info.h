/* ps, stats and oom_watch (info.c): above the loop, below proc. */
#ifndef VESSEL_AGENT_INFO_H
#define VESSEL_AGENT_INFO_H

#include "guest/agent/loop.h"

json_object *info_ps(vs_err *err);
/* Every descendant of root now (malloc'd array of *n pids, root excluded). */
int info_descendants(pid_t root, pid_t **out, size_t *n, vs_err *err);
json_object *info_stats(vs_err *err);
int info_oom_kills(uint64_t *out);
int oom_watch_add(agent *a, conn *c, uint64_t id, vs_err *err);
/* The timer's work: answer the oom_watch requests whose count grew. */
void oom_poll(agent *a);
/* c is closing: forget its oom_watch requests. */
void oom_drop_conn(agent *a, conn *c);

#endif
