#include "core/proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/fs.h"

#define PF_EXITING 0x00000004 /* include/linux/sched.h: in do_exit() */

static int parse_stat(pid_t pid, uint64_t *start_time, char *state, unsigned long *flags)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	vs_autofree char *buf = NULL;
	if (pid <= 0 || vs_read_file(path, &buf, NULL, NULL) < 0)
		return -1;
	/* comm may contain spaces and parentheses: parse after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -1;
	p += 2;
	if (state)
		*state = *p;
	/* p points at field 3; flags are field 9, the start time field 22. */
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
		if (field + 1 == 9 && flags)
			*flags = strtoul(p, NULL, 10);
	}
	if (start_time)
		*start_time = strtoull(p, NULL, 10);
	return 0;
}

int vs_proc_stat(pid_t pid, uint64_t *start_time, char *state)
{
	return parse_stat(pid, start_time, state, NULL);
}

bool vs_proc_alive(pid_t pid, uint64_t start_time)
{
	uint64_t st;
	char state;
	unsigned long flags = 0;
	if (parse_stat(pid, &st, &state, &flags) < 0)
		return false;
	if (!start_time || st != start_time)
		return false;
	/* An exiting task has already left its cgroups (and a pid namespace's
	 * init stays in do_exit until the rest of the namespace is reaped). */
	return state != 'Z' && state != 'X' && !(flags & PF_EXITING);
}

int vs_proc_signal(pid_t pid, uint64_t start_time, int sig, vs_err *err)
{
	if (pid <= 0 || !start_time)
		return vs_fail(err, ESRCH, "pid %d (start time %llu) is not a recorded process",
			       (int)pid, (unsigned long long)start_time);
	/* Open first, check second: once the pidfd exists it keeps naming the
	 * process we checked, even if the pid number is reused. */
	vs_autoclose int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return vs_fail_errno(err, "pidfd_open %d", (int)pid);
	if (!vs_proc_alive(pid, start_time))
		return vs_fail(err, ESRCH, "pid %d is no longer the recorded process", (int)pid);
	if (syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0)
		return vs_fail_errno(err, "signal %d to pid %d", sig, (int)pid);
	return 0;
}

int vs_proc_write_oom_score_adj(pid_t pid, int value, vs_err *err)
{
	char path[64], buf[16];
	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
	int n = snprintf(buf, sizeof(buf), "%d", value);
	if (vs_write_file(path, buf, (size_t)n, 0644, err) < 0)
		return vs_err_wrap(err, "process.oomScoreAdj");
	return 0;
}
