#include "container/mount_sources.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/sync.h"
#include "core/cleanup.h"
#include "core/fs.h"

static int source_path(const vs_config *cfg, size_t i, char *out, size_t len, vs_err *err)
{
	const char *s = cfg->mounts[i].source;
	if (!s)
		return vs_fail(err, EINVAL,
			       "config.json: mounts[%zu].source: required for a bind mount", i);
	if (s[0] != '/')
		return vs_path_join(out, len, cfg->bundle, s, err) < 0
			       ? vs_err_wrap(err, "config.json: mounts[%zu].source", i)
			       : 0;
	if ((size_t)snprintf(out, len, "%s", s) >= len)
		return vs_fail(err, ENAMETOOLONG, "config.json: mounts[%zu].source", i);
	return 0;
}

int vs_mount_sources_check(const vs_config *cfg, vs_err *err)
{
	if (!cfg->ns[VS_NS_MNT].present || cfg->ns[VS_NS_MNT].path)
		return 0;
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		if (!cfg->mounts[i].bind)
			continue;
		char src[PATH_MAX];
		struct stat st;
		if (source_path(cfg, i, src, sizeof(src), err) < 0)
			return -1;
		if (stat(src, &st) < 0)
			return vs_fail_errno(err, "config.json: mounts[%zu].source: %s", i, src);
	}
	return 0;
}

bool vs_mount_sources_from_runtime(const vs_config *cfg)
{
	if (!cfg->ns[VS_NS_USER].present || !cfg->ns[VS_NS_MNT].present || cfg->ns[VS_NS_MNT].path)
		return false;
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (cfg->mounts[i].bind)
			return true;
	return false;
}

static int open_sources(const vs_config *cfg, int *fds, vs_err *err)
{
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		if (!cfg->mounts[i].bind)
			continue;
		char src[PATH_MAX];
		if (source_path(cfg, i, src, sizeof(src), err) < 0)
			return -1;
		/* O_PATH: nothing is read, and a FIFO or device neither blocks nor acts. */
		fds[i] = open(src, O_PATH | O_CLOEXEC);
		if (fds[i] < 0)
			return vs_fail_errno(err, "config.json: mounts[%zu].source: %s", i, src);
	}
	return 0;
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int vs_mount_sources_send(const vs_config *cfg, pid_t pid, int sock, vs_err *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	vs_autoclose int ours = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	vs_autoclose int theirs = open(path, O_RDONLY | O_CLOEXEC);
	/* setns(CLONE_NEWNS) resets our cwd to the namespace's root. */
	vs_autoclose int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ours < 0 || theirs < 0 || cwd < 0)
		return vs_fail_errno(err, "mount sources: open %s", path);
	vs_autofree int *fds = malloc(cfg->n_mounts * sizeof(int));
	if (!fds)
		return vs_fail(err, ENOMEM, "mount sources");
	for (size_t i = 0; i < cfg->n_mounts; i++)
		fds[i] = -1;
	if (setns(theirs, CLONE_NEWNS) < 0)
		return vs_fail_errno(err, "mount sources: enter the container's mount namespace");
	int rc = open_sources(cfg, fds, err);
	/* Back before anything else (the state dir and cgroups are ours). */
	if (setns(ours, CLONE_NEWNS) < 0 || fchdir(cwd) < 0) {
		close_all(fds, cfg->n_mounts);
		return vs_fail_errno(err, "mount sources: return to the runtime's mount namespace");
	}
	for (size_t i = 0; rc == 0 && i < cfg->n_mounts; i++)
		if (fds[i] >= 0 && vs_sync_send_fd(sock, fds[i]) < 0)
			rc = vs_fail_errno(err, "mount sources: send mounts[%zu]", i);
	close_all(fds, cfg->n_mounts);
	return rc;
}

int vs_init_receive_mount_sources(vs_init_ctx *ctx, vs_err *err)
{
	const vs_config *cfg = ctx->cfg;
	if (!ctx->mount_sources_from_runtime)
		return 0;
	if (vs_init_wait_cgroup(ctx, err) < 0)
		return -1;
	if (vs_sync_send(ctx->sync_fd, VS_SYNC_MOUNT_NS, NULL) < 0)
		return vs_fail_errno(err, "sync with runtime");
	ctx->mount_src_fds = malloc(cfg->n_mounts * sizeof(int));
	if (!ctx->mount_src_fds)
		return vs_fail(err, ENOMEM, "mount sources");
	for (size_t i = 0; i < cfg->n_mounts; i++)
		ctx->mount_src_fds[i] = -1;
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (cfg->mounts[i].bind &&
		    vs_sync_recv_fd(ctx->sync_fd, &ctx->mount_src_fds[i], err) < 0)
			return vs_err_wrap(err, "mounts[%zu].source", i);
	return 0;
}

void vs_init_close_mount_sources(vs_init_ctx *ctx)
{
	if (!ctx->mount_src_fds)
		return;
	close_all(ctx->mount_src_fds, ctx->cfg->n_mounts);
	free(ctx->mount_src_fds);
	ctx->mount_src_fds = NULL;
}
