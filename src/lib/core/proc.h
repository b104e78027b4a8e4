/* Process identity: a pid plus its start time (field 22 of /proc/PID/stat),
 * so a recycled pid is never mistaken for the container's process. */
#ifndef VESSEL_CORE_PROC_H
#define VESSEL_CORE_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Returns 0 and fills start time and state letter, -1 if the process is gone. */
int vs_proc_stat(pid_t pid, uint64_t *start_time, char *state);

/* Alive, same start time, and not a zombie. */
bool vs_proc_alive(pid_t pid, uint64_t start_time);

#endif
