#include "cgroup/warm.h"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The task shares our memory (CLONE_VM, so starting it costs no page-table
 * copy) and our thread pointer, so it must not touch libc at all, not even
 * errno (glibc's syscall() would write the parent's): raw syscalls only, on
 * data prepared before the clone. One task per process: the CLI creates at
 * most one container. */
static char warm_path[PATH_MAX + 300];
static char warm_stack[16384] __attribute__((aligned(16)));
static bool warm_used;

#if defined(__x86_64__)
static inline long raw3(long n, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

__attribute__((no_sanitize("address", "undefined"))) static int warm_task(void *arg)
{
	(void)arg;
	char buf[16], tmp[16];
	long pid = raw3(SYS_getpid, 0, 0, 0);
	int n = 0;
	do
		tmp[n++] = (char)('0' + pid % 10);
	while ((pid /= 10) && n < (int)sizeof(tmp));
	for (int i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	long fd = raw3(SYS_openat, AT_FDCWD, (long)warm_path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		raw3(SYS_write, fd, (long)buf, n);
		raw3(SYS_close, fd, 0, 0);
	}
	raw3(SYS_exit, 0, 0, 0);
	return 0;
}
#endif

pid_t vs_cgroup_warm_start(const vs_cgroup_host *host)
{
#if defined(__x86_64__)
	if (warm_used)
		return -1;
	for (int i = 0; i < host->n_hier; i++) {
		const vs_cgroup_hier *h = &host->hier[i];
		char dir[PATH_MAX];
		if (vs_cgroup_hier_path(h, h->own, dir, sizeof(dir)) < 0)
			continue;
		snprintf(warm_path, sizeof(warm_path), "%s/cgroup.procs", dir);
		if (access(warm_path, W_OK) == 0) {
			warm_used = true;
			return clone(warm_task, warm_stack + sizeof(warm_stack), CLONE_VM | SIGCHLD,
				     NULL);
		}
	}
#else
	(void)host; /* other architectures: no raw-syscall task, no warm-up */
#endif
	return -1;
}
