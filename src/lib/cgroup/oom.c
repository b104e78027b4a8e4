/* OOM notifications for `events`. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cgroup/internal.h"
#include "cgroup/stats.h"
#include "core/cleanup.h"

struct vs_cgroup_oom {
	bool v2;
	int fd;	       /* eventfd (v1) or inotify (v2) */
	uint64_t last; /* v2: oom_kill count seen so far */
	char dir[PATH_MAX];
};

int vs_cgroup_oom_open(const vs_cgroup *cg, vs_cgroup_oom **out, vs_err *err)
{
	bool v2 = false;
	const char *dir = vs_cgroup_dir_of(cg, "memory", &v2);
	if (!dir)
		return vs_fail(
			err, 0,
			"cgroup memory: this host has no memory controller: no OOM notifications");
	vs_cgroup_oom *w = calloc(1, sizeof(*w));
	if (!w)
		return vs_fail(err, ENOMEM, "OOM notifications");
	w->v2 = v2;
	w->fd = -1;
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	if (v2) {
		/* memory.events changes (a modify event) when a counter moves. */
		vs_cg_read_key(dir, "memory.events", "oom_kill", &w->last);
		char file[PATH_MAX];
		snprintf(file, sizeof(file), "%s/memory.events", dir);
		w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (w->fd < 0 || inotify_add_watch(w->fd, file, IN_MODIFY) < 0) {
			vs_fail_errno(err, "cgroup memory: watch %s", file);
			goto fail;
		}
	} else {
		/* v1: register an eventfd for memory.oom_control. */
		w->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (w->fd < 0) {
			vs_fail_errno(err, "eventfd");
			goto fail;
		}
		char file[PATH_MAX];
		snprintf(file, sizeof(file), "%s/memory.oom_control", dir);
		vs_autoclose int ocfd = open(file, O_RDONLY | O_CLOEXEC);
		if (ocfd < 0) {
			vs_fail_errno(err, "cgroup memory: open %s", file);
			goto fail;
		}
		char line[64];
		snprintf(line, sizeof(line), "%d %d", w->fd, ocfd);
		if (vs_cg_write("memory", dir, "cgroup.event_control", line, err) < 0)
			goto fail;
	}
	*out = w;
	return 0;
fail:
	if (w->fd >= 0)
		close(w->fd);
	free(w);
	return -1;
}

int vs_cgroup_oom_fd(const vs_cgroup_oom *w)
{
	return w->fd;
}

int vs_cgroup_oom_read(vs_cgroup_oom *w, uint64_t *count, vs_err *err)
{
	*count = 0;
	if (!w->v2) {
		uint64_t n;
		ssize_t r = read(w->fd, &n, sizeof(n));
		if (r < 0 && errno != EAGAIN)
			return vs_fail_errno(err, "read OOM eventfd");
		/* The eventfd also fires when the cgroup is removed. */
		if (!vs_cg_exists(w->dir, "cgroup.event_control"))
			return 1;
		if (r == (ssize_t)sizeof(n))
			*count = n;
		return 0;
	}
	char buf[4096];
	while (read(w->fd, buf, sizeof(buf)) > 0)
		;
	uint64_t now;
	if (vs_cg_read_key(w->dir, "memory.events", "oom_kill", &now) < 0)
		return 1;
	if (now > w->last)
		*count = now - w->last;
	w->last = now;
	return 0;
}

void vs_cgroup_oom_close(vs_cgroup_oom *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}
