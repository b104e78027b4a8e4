#include "container/sync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/socket.h>

#include "container/internal.h"
#include "core/fdpass.h"

int vs_sync_send(int fd, int type, const vs_err *e)
{
	vs_sync_msg m = { .type = type };
	if (e) {
		m.errnum = e->errnum;
		memcpy(m.msg, e->msg, sizeof(m.msg));
	}
	ssize_t r;
	do
		r = send(fd, &m, sizeof(m), MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)sizeof(m) ? 0 : -1;
}

int vs_sync_recv(int fd, vs_sync_msg *m, vs_err *err)
{
	ssize_t r;
	do
		r = recv(fd, m, sizeof(*m), 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return vs_fail_errno(err, "sync with container init");
	if (r == 0)
		return vs_fail(err, 0, "container init exited during setup");
	if (r != (ssize_t)sizeof(*m))
		return vs_fail(err, 0, "sync with container init: short message");
	m->msg[sizeof(m->msg) - 1] = '\0';
	return 0;
}

#define BLOB_MAX (512 * 1024) /* the socket buffers are sized for it (backend.c) */

int vs_sync_send_blob(int fd, const char *data, size_t len)
{
	if (len > BLOB_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	ssize_t r;
	do
		r = send(fd, data, len, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)len ? 0 : -1;
}

int vs_sync_recv_blob(int fd, char **out, vs_err *err)
{
	char *buf = malloc(BLOB_MAX + 1);
	if (!buf)
		return vs_fail(err, ENOMEM, "sync with runtime");
	ssize_t r;
	do
		r = recv(fd, buf, BLOB_MAX, 0);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		free(buf);
		return r < 0 ? vs_fail_errno(err, "sync with runtime")
			     : vs_fail(err, 0, "runtime went away during setup");
	}
	buf[r] = '\0';
	*out = buf;
	return 0;
}

int vs_sync_send_fd(int sock, int fd)
{
	char byte = 0;
	return vs_send_fd(sock, &byte, 1, fd) == 1 ? 0 : -1;
}

int vs_sync_recv_fd(int sock, int *fd, vs_err *err)
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	ssize_t r;
	do
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return vs_fail_errno(err, "sync with container init: receive fd");
	if (r == 0)
		return vs_fail(err, 0, "container init exited during setup");
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)) || (mh.msg_flags & MSG_CTRUNC))
		return vs_fail(err, 0, "sync with container init: expected one fd");
	memcpy(fd, CMSG_DATA(cm), sizeof(int));
	return 0;
}

/* ---- the init's side of the steps (rootfs.c and init.c wait on them) ---- */

static int expect_message(vs_init_ctx *ctx, int type, vs_err *err)
{
	vs_sync_msg m;
	if (vs_sync_recv(ctx->sync_fd, &m, err) < 0)
		return -1;
	if (m.type != type)
		return vs_fail(err, 0, "unexpected sync message %d (wanted %d)", m.type, type);
	return 0;
}

int vs_init_wait_cgroup_dirs(vs_init_ctx *ctx, vs_err *err)
{
	if (ctx->have_cgroup_dirs)
		return 0;
	if (expect_message(ctx, VS_SYNC_CGROUP_DIRS, err) < 0)
		return -1;
	ctx->have_cgroup_dirs = true;
	return 0;
}

int vs_init_wait_cgroup(vs_init_ctx *ctx, vs_err *err)
{
	if (ctx->in_cgroup)
		return 0;
	if (vs_init_wait_cgroup_dirs(ctx, err) < 0)
		return -1;
	vs_sync_msg m;
	if (vs_sync_recv(ctx->sync_fd, &m, err) < 0)
		return -1;
	if (m.type != VS_SYNC_CGROUP)
		return vs_fail(err, 0, "unexpected sync message %d", m.type);
	ctx->in_cgroup = true;
	/* The cgroup namespace only now, so its root is the container's cgroup. */
	const vs_config *cfg = ctx->cfg;
	if (ctx->ns_fds[VS_NS_CGROUP] >= 0 && setns(ctx->ns_fds[VS_NS_CGROUP], CLONE_NEWCGROUP) < 0)
		return vs_fail_errno(err, "setns cgroup %s", cfg->ns[VS_NS_CGROUP].path);
	if (cfg->ns[VS_NS_CGROUP].present && !cfg->ns[VS_NS_CGROUP].path &&
	    unshare(CLONE_NEWCGROUP) < 0)
		return vs_fail_errno(err, "unshare cgroup namespace");
	return 0;
}

int vs_init_hook_point(vs_init_ctx *ctx, vs_err *err)
{
	/* Hooks see the container in its cgroups (device and GPU hooks rely on it). */
	if (vs_init_wait_cgroup(ctx, err) < 0)
		return -1;
	if (vs_sync_send(ctx->sync_fd, VS_SYNC_HOOKS, NULL) < 0)
		return vs_fail_errno(err, "sync with runtime");
	vs_sync_msg m;
	if (vs_sync_recv(ctx->sync_fd, &m, err) < 0)
		return -1;
	if (m.type != VS_SYNC_HOOKS_DONE)
		return vs_fail(err, 0, "unexpected sync message %d", m.type);
	char *creating = NULL;
	if (vs_sync_recv_blob(ctx->sync_fd, &creating, err) < 0 ||
	    vs_sync_recv_blob(ctx->sync_fd, &ctx->state_created, err) < 0) {
		free(creating);
		return -1;
	}
	int rc = vs_hooks_run(&ctx->cfg->hooks, VS_HOOK_CREATE_CONTAINER, creating, err);
	free(creating);
	return rc;
}
