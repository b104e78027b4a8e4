/* tmpcopyup: a new tmpfs starts with what the image had at that path. The
 * walk is fd-relative, one name at a time, never following a symlink: a
 * symlink in the image is copied as a symlink, so a hostile image cannot make
 * us read or write outside the rootfs. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "container/mount_ext.h"
#include "core/cleanup.h"

/* Deeper trees are refused, so a hostile image cannot exhaust our stack. */
#define MAX_DEPTH 128

static int copy_dir(int from, int to, const char *path, int depth, vs_err *err);

/* Owner and times of what we created; an owner the user namespace does not
 * map (shown as the overflow id) cannot be set, and stays the container's root. */
static int copy_owner(int to, const char *name, const struct stat *st, const char *path,
		      vs_err *err)
{
	int flags = name[0] ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH;
	if (fchownat(to, name, st->st_uid, st->st_gid, flags) < 0 && errno != EINVAL)
		return vs_fail_errno(err, "tmpcopyup: chown %s", path);
	return 0;
}

static int copy_times(int to, const char *name, const struct stat *st, const char *path,
		      vs_err *err)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	if (utimensat(to, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return vs_fail_errno(err, "tmpcopyup: set times of %s", path);
	return 0;
}

static int copy_data(int in, int out, const char *path, vs_err *err)
{
	char buf[65536];
	for (;;) {
		ssize_t r = read(in, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return vs_fail_errno(err, "tmpcopyup: read %s", path);
		if (r == 0)
			return 0;
		for (ssize_t off = 0; off < r;) {
			ssize_t w = write(out, buf + off, (size_t)(r - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return vs_fail_errno(err, "tmpcopyup: write %s", path);
			off += w;
		}
	}
}

static int copy_file(int from, int to, const char *name, const struct stat *st, const char *path,
		     vs_err *err)
{
	/* O_NONBLOCK and the check after: a fifo swapped in after the stat (a
	 * neighbour sharing a volume) must neither block us nor be read. */
	vs_autoclose int in =
		openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (in < 0)
		return vs_fail_errno(err, "tmpcopyup: open %s", path);
	struct stat now;
	if (fstat(in, &now) < 0 || !S_ISREG(now.st_mode))
		return vs_fail(err, EAGAIN, "tmpcopyup: %s changed while copying", path);
	vs_autoclose int out =
		openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return vs_fail_errno(err, "tmpcopyup: create %s", path);
	if (copy_data(in, out, path, err) < 0)
		return -1;
	/* chown before chmod: chown clears set-id bits. */
	if (copy_owner(out, "", st, path, err) < 0)
		return -1;
	if (fchmod(out, st->st_mode & 07777) < 0)
		return vs_fail_errno(err, "tmpcopyup: chmod %s", path);
	return 0;
}

static int copy_entry(int from, int to, const char *name, const char *dir, int depth, vs_err *err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct stat st;
	if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return vs_fail_errno(err, "tmpcopyup: stat %s", path);
	switch (st.st_mode & S_IFMT) {
	case S_IFDIR: {
		if (mkdirat(to, name, 0700) < 0)
			return vs_fail_errno(err, "tmpcopyup: mkdir %s", path);
		vs_autoclose int sub_from =
			openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		vs_autoclose int sub_to =
			openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub_from < 0 || sub_to < 0)
			return vs_fail_errno(err, "tmpcopyup: open %s", path);
		if (copy_dir(sub_from, sub_to, path, depth + 1, err) < 0 ||
		    copy_owner(sub_to, "", &st, path, err) < 0)
			return -1;
		if (fchmod(sub_to, st.st_mode & 07777) < 0)
			return vs_fail_errno(err, "tmpcopyup: chmod %s", path);
		break;
	}
	case S_IFREG:
		if (copy_file(from, to, name, &st, path, err) < 0)
			return -1;
		break;
	case S_IFLNK: {
		char target[PATH_MAX];
		ssize_t n = readlinkat(from, name, target, sizeof(target) - 1);
		if (n < 0)
			return vs_fail_errno(err, "tmpcopyup: readlink %s", path);
		target[n] = '\0';
		if (symlinkat(target, to, name) < 0)
			return vs_fail_errno(err, "tmpcopyup: symlink %s", path);
		if (copy_owner(to, name, &st, path, err) < 0)
			return -1;
		break;
	}
	default: /* devices, fifos, sockets */
		if (mknodat(to, name, st.st_mode, st.st_rdev) < 0)
			return vs_fail_errno(err, "tmpcopyup: mknod %s", path);
		if (copy_owner(to, name, &st, path, err) < 0)
			return -1;
		if (fchmodat(to, name, st.st_mode & 07777, 0) < 0)
			return vs_fail_errno(err, "tmpcopyup: chmod %s", path);
		break;
	}
	return copy_times(to, name, &st, path, err);
}

static int copy_dir(int from, int to, const char *path, int depth, vs_err *err)
{
	if (depth > MAX_DEPTH)
		return vs_fail(err, ELOOP, "tmpcopyup: %s: more than %d levels deep", path,
			       MAX_DEPTH);
	int dfd = dup(from);
	if (dfd < 0)
		return vs_fail_errno(err, "tmpcopyup: %s", path);
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return vs_fail_errno(err, "tmpcopyup: opendir %s", path);
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (errno = 0, e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		rc = copy_entry(from, to, e->d_name, path, depth, err);
	}
	if (rc == 0 && errno)
		rc = vs_fail_errno(err, "tmpcopyup: readdir %s", path);
	closedir(d);
	return rc;
}

int vs_tmpcopyup(int from, int to, const char *dest, bool keep_mode, vs_err *err)
{
	struct stat st;
	if (fstat(from, &st) < 0)
		return vs_fail_errno(err, "tmpcopyup: stat %s", dest);
	if (copy_dir(from, to, dest, 0, err) < 0)
		return -1;
	/* The tmpfs root takes the directory's owner, and its mode unless the
	 * mount sets one ("mode=1777"). */
	if (copy_owner(to, "", &st, dest, err) < 0)
		return -1;
	if (!keep_mode && fchmod(to, st.st_mode & 07777) < 0)
		return vs_fail_errno(err, "tmpcopyup: chmod %s", dest);
	return 0;
}
