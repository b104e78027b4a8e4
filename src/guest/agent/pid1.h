/* The guest's early boot as PID 1 (pid1.c). */
#ifndef VESSEL_AGENT_PID1_H
#define VESSEL_AGENT_PID1_H

#include "core/error.h"

int pid1_boot(vs_err *err);
void pid1_poweroff(void);

#endif
