#include "core/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/cleanup.h"

/* Reads fd to its end; name is for the errors. */
static int read_fd(int fd, const char *name, char **out, size_t *len, vs_err *err)
{
	size_t cap = 4096, n = 0;
	vs_autofree char *buf = malloc(cap);
	if (!buf)
		return vs_fail(err, ENOMEM, "read %s", name);
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > (64u << 20))
				return vs_fail(err, EFBIG, "read %s", name);
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				return vs_fail(err, ENOMEM, "read %s", name);
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return vs_fail_errno(err, "read %s", name);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	*out = vs_steal_ptr(&buf);
	return 0;
}

int vs_read_file(const char *path, char **out, size_t *len, vs_err *err)
{
	vs_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vs_fail_errno(err, "open %s", path);
	return read_fd(fd, path, out, len, err);
}

int vs_read_beneath(int dirfd, const char *dirname, const char *rel, char **out, size_t *len,
		    vs_err *err)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
					   RESOLVE_NO_MAGICLINKS };
	vs_autoclose int fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd < 0)
		return vs_fail_errno(err, "open %s/%s (beneath, no symlinks)", dirname, rel);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return vs_fail_errno(err, "stat %s/%s", dirname, rel);
	/* A FIFO or device would block or read what no file holds. */
	if (!S_ISREG(st.st_mode))
		return vs_fail(err, EINVAL, "%s/%s: not a regular file", dirname, rel);
	char name[PATH_MAX];
	snprintf(name, sizeof(name), "%s/%s", dirname, rel);
	return read_fd(fd, name, out, len, err);
}

static int write_fd_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, data, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

int vs_write_file(const char *path, const char *data, size_t len, mode_t mode, vs_err *err)
{
	vs_autoclose int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return vs_fail_errno(err, "open %s", path);
	if (write_fd_all(fd, data, len) < 0)
		return vs_fail_errno(err, "write %s", path);
	return 0;
}

int vs_write_file_atomic(const char *path, const char *data, size_t len, mode_t mode, vs_err *err)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return vs_fail(err, ENAMETOOLONG, "write %s", path);
	vs_autoclose int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return vs_fail_errno(err, "open %s", tmp);
	if (write_fd_all(fd, data, len) < 0) {
		int e = errno;
		unlink(tmp);
		return vs_fail(err, e, "write %s", tmp);
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return vs_fail(err, e, "rename %s to %s", tmp, path);
	}
	return 0;
}

int vs_mkdir_p(const char *path, mode_t mode, vs_err *err)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof(buf))
		return vs_fail(err, ENAMETOOLONG, "mkdir %s", path);
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;
			*p = '\0';
			if (mkdir(buf, mode) < 0 && errno != EEXIST)
				return vs_fail_errno(err, "mkdir %s", buf);
			if (errno == EEXIST) {
				struct stat st;
				if (stat(buf, &st) == 0 && !S_ISDIR(st.st_mode))
					return vs_fail(err, ENOTDIR, "mkdir %s", buf);
			}
			*p = saved;
			if (saved == '\0')
				break;
		}
	}
	return 0;
}

static int remove_at(int parent_fd, const char *name, dev_t dev, vs_err *err, const char *top)
{
	struct stat st;
	if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : vs_fail_errno(err, "stat %s/%s", top, name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(parent_fd, name, 0) < 0 && errno != ENOENT)
			return vs_fail_errno(err, "unlink %s/%s", top, name);
		return 0;
	}
	if (st.st_dev != dev)
		return vs_fail(err, EBUSY, "remove %s/%s: is a mount point", top, name);
	int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vs_fail_errno(err, "open %s/%s", top, name);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return vs_fail_errno(err, "opendir %s/%s", top, name);
	}
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (remove_at(dirfd(d), de->d_name, dev, err, top) < 0) {
			rc = -1;
			break;
		}
	}
	closedir(d);
	if (rc == 0 && unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return vs_fail_errno(err, "rmdir %s/%s", top, name);
	return rc;
}

int vs_remove_tree(const char *path, vs_err *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : vs_fail_errno(err, "stat %s", path);
	return remove_at(AT_FDCWD, path, st.st_dev, err, path);
}

int vs_path_join(char *out, size_t outlen, const char *a, const char *b, vs_err *err)
{
	size_t la = strlen(a);
	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	int n = snprintf(out, outlen, "%.*s%s%s", (int)la, a, (la == 1 && a[0] == '/') ? "" : "/",
			 b);
	if (n < 0 || (size_t)n >= outlen)
		return vs_fail(err, ENAMETOOLONG, "path %s/%s", a, b);
	return 0;
}
