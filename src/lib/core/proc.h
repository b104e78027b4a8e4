/* Process identity: a pid plus its start time (field 22 of /proc/PID/stat),
 * so a recycled pid is never mistaken for the container's process. */
#ifndef VESSEL_CORE_PROC_H
#define VESSEL_CORE_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"

/* Returns 0 and fills start time and state letter, -1 if the process is gone. */
int vs_proc_stat(pid_t pid, uint64_t *start_time, char *state);

/* Alive, same start time, and neither exiting nor a zombie. A pid <= 0 or a start time of
 * 0 (none recorded) never names a live process. */
bool vs_proc_alive(pid_t pid, uint64_t start_time);

/* Send sig to pid only if it is still the process with start_time: the
 * check is made through a pidfd opened first, and the signal goes through
 * that pidfd, so a pid recycled in between is never signalled. Fails with
 * ESRCH when the process is gone or is another one. */
int vs_proc_signal(pid_t pid, uint64_t start_time, int sig, vs_err *err);

/* process.oomScoreAdj for pid (written from outside: the process may have
 * no /proc of its own yet). */
int vs_proc_write_oom_score_adj(pid_t pid, int value, vs_err *err);

#endif
