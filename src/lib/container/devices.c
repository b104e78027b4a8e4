/* /dev inside the container: the default devices every runtime provides,
 * linux.devices, and the conventional symlinks. In a user namespace mknod
 * is not allowed, so device nodes are bind mounted from the host instead. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "container/internal.h"
#include "core/cleanup.h"
#include "core/fs.h"
#include "core/resolve.h"

static const vs_device default_devices[] = {
	{ .path = "/dev/null",
	  .type = 'c',
	  .major = 1,
	  .minor = 3,
	  .has_mode = true,
	  .mode = 0666 },
	{ .path = "/dev/zero",
	  .type = 'c',
	  .major = 1,
	  .minor = 5,
	  .has_mode = true,
	  .mode = 0666 },
	{ .path = "/dev/full",
	  .type = 'c',
	  .major = 1,
	  .minor = 7,
	  .has_mode = true,
	  .mode = 0666 },
	{ .path = "/dev/random",
	  .type = 'c',
	  .major = 1,
	  .minor = 8,
	  .has_mode = true,
	  .mode = 0666 },
	{ .path = "/dev/urandom",
	  .type = 'c',
	  .major = 1,
	  .minor = 9,
	  .has_mode = true,
	  .mode = 0666 },
	{ .path = "/dev/tty", .type = 'c', .major = 5, .minor = 0, .has_mode = true, .mode = 0666 },
};

/* The directory that will hold path (created as needed, inside the rootfs)
 * and the final name in it. */
static int open_parent(int root_fd, const char *path, const char **name, vs_err *err)
{
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", path);
	char *slash = strrchr(parent, '/');
	if (!slash || !slash[1])
		return vs_fail(err, EINVAL, "device path %s", path);
	*name = path + (slash - parent) + 1;
	*slash = '\0';
	return vs_open_in_root(root_fd, parent, VS_CREATE_DIR, err);
}

static int create_device(int root_fd, const vs_device *d, bool bind_from_host, vs_err *err)
{
	const char *name;
	vs_autoclose int dir = open_parent(root_fd, d->path, &name, err);
	if (dir < 0)
		return -1;
	if (unlinkat(dir, name, 0) < 0 && errno != ENOENT)
		return vs_fail_errno(err, "device %s: unlink", d->path);
	if (bind_from_host) {
		int fd = openat(dir, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
				0000);
		if (fd < 0)
			return vs_fail_errno(err, "device %s: create mount point", d->path);
		close(fd);
		vs_autoclose int target = vs_open_in_root(root_fd, d->path, VS_OPEN_EXISTING, err);
		if (target < 0)
			return -1;
		if (mount(d->path, vs_fd_path_of(target).path, NULL, MS_BIND, NULL) < 0)
			return vs_fail_errno(err, "device %s: bind from host", d->path);
		return 0;
	}
	mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
	mode_t mode = d->has_mode ? d->mode : 0666;
	dev_t dev = d->type == 'p' ? 0 : makedev((unsigned)d->major, (unsigned)d->minor);
	if (mknodat(dir, name, type | (mode & 07777), dev) < 0)
		return vs_fail_errno(err, "device %s: mknod", d->path);
	/* mknod honours the umask; the spec's fileMode is exact. */
	if (fchmodat(dir, name, mode & 07777, 0) < 0)
		return vs_fail_errno(err, "device %s: chmod", d->path);
	if ((d->has_uid || d->has_gid) &&
	    fchownat(dir, name, d->has_uid ? d->uid : (uid_t)-1, d->has_gid ? d->gid : (gid_t)-1,
		     AT_SYMLINK_NOFOLLOW) < 0)
		return vs_fail_errno(err, "device %s: chown", d->path);
	return 0;
}

/* Create link -> target, replacing what is there (an image's own ptmx node). */
static int make_symlink(int root_fd, const char *target, const char *link, vs_err *err)
{
	const char *name;
	vs_autoclose int dir = open_parent(root_fd, link, &name, err);
	if (dir < 0)
		return -1;
	if (unlinkat(dir, name, 0) < 0 && errno != ENOENT && errno != EISDIR)
		return vs_fail_errno(err, "replace %s", link);
	if (symlinkat(target, dir, name) < 0 && errno != EEXIST)
		return vs_fail_errno(err, "symlink %s -> %s", link, target);
	return 0;
}

int vs_devices_setup(const vs_config *cfg, int root_fd, bool in_userns, vs_err *err)
{
	for (size_t i = 0; i < sizeof(default_devices) / sizeof(default_devices[0]); i++) {
		/* A linux.devices entry for the same path wins over the default. */
		bool overridden = false;
		for (size_t j = 0; j < cfg->n_devices; j++)
			if (!strcmp(cfg->devices[j].path, default_devices[i].path))
				overridden = true;
		if (!overridden && create_device(root_fd, &default_devices[i], in_userns, err) < 0)
			return -1;
	}
	for (size_t j = 0; j < cfg->n_devices; j++)
		if (create_device(root_fd, &cfg->devices[j], in_userns, err) < 0)
			return vs_err_wrap(err, "linux.devices[%zu]", j);
	static const char *const links[][2] = {
		{ "/proc/self/fd", "/dev/fd" },	      { "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
		{ "pts/ptmx", "/dev/ptmx" },
	};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (make_symlink(root_fd, links[i][0], links[i][1], err) < 0)
			return -1;
	return 0;
}
