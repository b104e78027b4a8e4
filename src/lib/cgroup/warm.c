#include "cgroup/warm.h"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The task shares our memory (CLONE_VM, so starting it costs no page-table
 * copy) and therefore must not touch libc state that takes locks: it uses
 * only raw syscalls on data prepared before the clone. */
static char warm_path[PATH_MAX + 300];
static char warm_stack[16384] __attribute__((aligned(16)));

__attribute__((no_sanitize("address", "undefined"))) static int warm_task(void *arg)
{
	(void)arg;
	char buf[16];
	long pid = syscall(SYS_getpid);
	int n = 0;
	char tmp[16];
	do
		tmp[n++] = (char)('0' + pid % 10);
	while ((pid /= 10) && n < (int)sizeof(tmp));
	for (int i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	long fd = syscall(SYS_openat, AT_FDCWD, warm_path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		syscall(SYS_write, fd, buf, n);
		syscall(SYS_close, fd);
	}
	syscall(SYS_exit, 0);
	return 0;
}

pid_t vs_cgroup_warm_start(const vs_cgroup_host *host)
{
	for (int i = 0; i < host->n_hier; i++) {
		const vs_cgroup_hier *h = &host->hier[i];
		/* own is this process's cgroup in the hierarchy; the mount shows
		 * the hierarchy from root on. */
		const char *rel = h->own;
		size_t rl = strlen(h->root);
		if (rl > 1 && !strncmp(rel, h->root, rl))
			rel += rl;
		snprintf(warm_path, sizeof(warm_path), "%s/%s/cgroup.procs", h->mount, rel);
		if (access(warm_path, W_OK) == 0)
			return clone(warm_task, warm_stack + sizeof(warm_stack), CLONE_VM | SIGCHLD,
				     NULL);
	}
	return -1;
}
