#include "core/resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int open_beneath(int root_fd, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;
	do
		fd = (int)syscall(SYS_openat2, root_fd, rel[0] ? rel : ".", &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd;
}

vs_fd_path vs_fd_path_of(int fd)
{
	vs_fd_path p;
	snprintf(p.path, sizeof(p.path), "/proc/self/fd/%d", fd);
	return p;
}

static int open_in_root(int root_fd, const char *path, enum vs_create_kind kind, int depth,
			vs_err *err);

/* `comp` in dir exists but resolving it gives ENOENT: a dangling symlink.
 * Create its target (inside root, like any path) so the link resolves. */
static void create_link_target(int root_fd, int dir, const char *comp, const char *parent,
			       enum vs_create_kind kind, int depth)
{
	char target[PATH_MAX], full[PATH_MAX * 2];
	ssize_t n = readlinkat(dir, comp, target, sizeof(target) - 1);
	if (n <= 0 || depth >= 40)
		return;
	target[n] = '\0';
	if (target[0] == '/')
		snprintf(full, sizeof(full), "%s", target);
	else
		snprintf(full, sizeof(full), "%s/%s", parent, target);
	vs_err ignored = { 0 };
	int fd = open_in_root(root_fd, full, kind, depth + 1, &ignored);
	if (fd >= 0)
		close(fd);
}

int vs_open_in_root(int root_fd, const char *path, enum vs_create_kind kind, vs_err *err)
{
	return open_in_root(root_fd, path, kind, 0, err);
}

static int open_in_root(int root_fd, const char *path, enum vs_create_kind kind, int depth,
			vs_err *err)
{
	char prefix[PATH_MAX] = "";
	size_t plen = 0;
	int cur = open_beneath(root_fd, "", O_PATH | O_DIRECTORY);
	if (cur < 0)
		return vs_fail_errno(err, "open root for %s", path);
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t clen = strcspn(p, "/");
		const char *next = p + clen;
		while (*next == '/')
			next++;
		bool last = *next == '\0';
		if (plen + clen + 2 > sizeof(prefix) || clen > NAME_MAX) {
			close(cur);
			return vs_fail(err, ENAMETOOLONG, "path %s", path);
		}
		char comp[NAME_MAX + 1];
		memcpy(comp, p, clen);
		comp[clen] = '\0';
		char parent[PATH_MAX];
		memcpy(parent, prefix, plen + 1);
		prefix[plen++] = '/';
		memcpy(prefix + plen, comp, clen + 1);
		plen += clen;
		p = next;

		int fd = open_beneath(root_fd, prefix, O_PATH);
		if (fd < 0 && errno == ENOENT && kind != VS_OPEN_EXISTING) {
			/* Create the entry in `cur`, a directory already proven to be
			 * inside root; then resolve again (whatever is there now). */
			int rc;
			if (last && kind == VS_CREATE_FILE) {
				rc = openat(cur, comp,
					    O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
					    0644);
				if (rc >= 0)
					close(rc);
			} else {
				rc = mkdirat(cur, comp, 0755);
			}
			if (rc < 0 && errno != EEXIST) {
				int e = errno;
				close(cur);
				return vs_fail(err, e, "create %s", prefix);
			}
			fd = open_beneath(root_fd, prefix, O_PATH);
			if (fd < 0 && errno == ENOENT) {
				create_link_target(root_fd, cur, comp, parent,
						   last ? kind : VS_CREATE_DIR, depth);
				fd = open_beneath(root_fd, prefix, O_PATH);
			}
		}
		int e = errno;
		close(cur);
		if (fd < 0)
			return vs_fail(err, e, "open %s", prefix);
		cur = fd;
	}
	return cur;
}

int vs_reopen_checked(int path_fd, int flags, mode_t type, dev_t rdev, const char *what,
		      vs_err *err)
{
	struct stat st;
	if (fstat(path_fd, &st) < 0)
		return vs_fail_errno(err, "stat %s", what);
	if ((st.st_mode & S_IFMT) != type || (type == S_IFCHR && st.st_rdev != rdev))
		return vs_fail(err, EINVAL, "%s is not %s", what,
			       type == S_IFREG ? "a regular file" : "the expected device");
	/* The magic link reopens this very inode: no path is looked up again. */
	vs_fd_path p = vs_fd_path_of(path_fd);
	int fd = open(p.path, flags | O_CLOEXEC);
	return fd < 0 ? vs_fail_errno(err, "open %s", what) : fd;
}

int vs_open_read_in_root(int root_fd, const char *path, int flags, vs_err *err)
{
	while (*path == '/')
		path++;
	/* O_PATH first: an image's device node or FIFO is never opened for real. */
	int pfd = open_beneath(root_fd, path, O_PATH);
	if (pfd < 0)
		return vs_fail_errno(err, "open /%s", path);
	char what[PATH_MAX];
	snprintf(what, sizeof(what), "/%s", path);
	int fd = vs_reopen_checked(pfd, O_RDONLY | flags, S_IFREG, 0, what, err);
	close(pfd);
	return fd;
}
