/* The guest's early boot as PID 1. */
#include "agent.h"

#include <errno.h>
#include <sys/reboot.h>
#include <unistd.h>

int pid1_boot(vs_err *err)
{
	return vs_fail(err, ENOTSUP, "boot: not implemented yet");
}

void pid1_poweroff(void)
{
	reboot(RB_POWER_OFF);
	_exit(1);
}
