/* Bind mounts the runtime makes for the init (see container/mount_ext.h),
 * idmapped ones among them (runc's and crun's idmap/ridmap,
 * mounts[].uidMappings). The mapping is a user namespace made for it, as runc
 * and crun do: a child cloned into a new user namespace, its maps written by
 * us, its namespace kept through an fd and the child let go. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/mount_ext.h"
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

int vs_bind_sources_check(const vs_config *cfg, vs_err *err)
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

static int write_map(pid_t pid, const char *file, const vs_idmap *m, size_t n, vs_err *err)
{
	char path[64], buf[4096];
	size_t off = 0;
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	for (size_t i = 0; i < n && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%u %u %u\n",
					m[i].container_id, m[i].host_id, m[i].size);
	if (off >= sizeof(buf))
		return vs_fail(err, E2BIG, "%s: too many mappings", file);
	vs_autoclose int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, off) != (ssize_t)off)
		return vs_fail_errno(err, "write %s", path);
	return 0;
}

/* A user namespace with the mount's mappings, as an fd. */
static int make_userns(const vs_mount *m, vs_err *err)
{
	int hold[2];
	if (pipe2(hold, O_CLOEXEC) < 0)
		return vs_fail_errno(err, "pipe");
	pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL,
				   NULL, NULL);
	if (pid == 0) {
		/* Only lives to hold the namespace until we opened it. */
		char c;
		close(hold[1]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(hold[0]);
	if (pid < 0) {
		close(hold[1]);
		return vs_fail_errno(err, "clone a user namespace for the mapping");
	}
	int fd = -1;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (write_map(pid, "uid_map", m->uid_mappings, m->n_uid_mappings, err) == 0 &&
	    write_map(pid, "gid_map", m->gid_mappings, m->n_gid_mappings, err) == 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			vs_fail_errno(err, "open %s", path);
	}
	close(hold[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return fd;
}

static int bind_tree(const vs_config *cfg, const vs_mount *m, int userns_fd, vs_err *err)
{
	char src[PATH_MAX];
	if (m->source[0] == '/')
		snprintf(src, sizeof(src), "%s", m->source);
	else if (vs_path_join(src, sizeof(src), cfg->bundle, m->source, err) < 0)
		return -1;
	/* rbind decides whether submounts come along; ridmap whether they
	 * are mapped too. */
	int tree = (int)syscall(SYS_open_tree, AT_FDCWD, src,
				OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
					((m->flags & MS_REC) ? AT_RECURSIVE : 0));
	if (tree < 0)
		return vs_fail_errno(err, "source %s", src);
	if (!m->idmap)
		return tree;
	vs_autoclose int own_ns = -1;
	if (m->n_uid_mappings) {
		own_ns = make_userns(m, err);
		if (own_ns < 0) {
			close(tree);
			return -1;
		}
		userns_fd = own_ns;
	}
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd };
	if (syscall(SYS_mount_setattr, tree, "",
		    AT_EMPTY_PATH | (m->idmap_recursive ? AT_RECURSIVE : 0), &attr,
		    sizeof(attr)) < 0) {
		int e = errno;
		close(tree);
		return vs_fail(err, e, "idmap %s (does its filesystem support idmapped mounts?)",
			       src);
	}
	return tree;
}

static bool made_by_runtime(const vs_config *cfg, const vs_mount *m)
{
	if (!m->bind || cfg->ns[VS_NS_MNT].path)
		return false;
	/* copy-symlink looks at the source itself, in the init. */
	return m->idmap || (cfg->ns[VS_NS_USER].present && !m->copy_symlink);
}

int vs_bind_sources_prepare(const vs_config *cfg, int userns_fd, int **fds, vs_err *err)
{
	*fds = NULL;
	size_t n = 0;
	for (size_t i = 0; i < cfg->n_mounts; i++)
		n += made_by_runtime(cfg, &cfg->mounts[i]);
	if (!n)
		return 0;
	int *v = malloc(cfg->n_mounts * sizeof(int));
	if (!v)
		return vs_fail(err, ENOMEM, "bind mounts");
	for (size_t i = 0; i < cfg->n_mounts; i++)
		v[i] = -1;
	*fds = v;
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		if (!made_by_runtime(cfg, &cfg->mounts[i]))
			continue;
		v[i] = bind_tree(cfg, &cfg->mounts[i], userns_fd, err);
		if (v[i] < 0)
			return vs_err_wrap(err, "mounts[%zu]", i);
	}
	return 0;
}

void vs_bind_sources_close(const vs_config *cfg, int *fds)
{
	if (!fds)
		return;
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
}
