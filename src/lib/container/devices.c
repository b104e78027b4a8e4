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
#include "core/fs.h"

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

static int create_device(const char *rootfs, const vs_device *d, bool bind_from_host, vs_err *err)
{
	char path[PATH_MAX];
	if (vs_secure_join(rootfs, d->path, path, sizeof(path), err) < 0)
		return -1;
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", path);
	if (vs_mkdir_p(dirname(parent), 0755, err) < 0)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT && errno != EBUSY)
		return vs_fail_errno(err, "device %s: unlink", d->path);
	if (bind_from_host) {
		int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0000);
		if (fd < 0 && errno != EEXIST)
			return vs_fail_errno(err, "device %s: create mount point", d->path);
		if (fd >= 0)
			close(fd);
		if (mount(d->path, path, NULL, MS_BIND, NULL) < 0)
			return vs_fail_errno(err, "device %s: bind from host", d->path);
		return 0;
	}
	mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
	mode_t mode = d->has_mode ? d->mode : 0666;
	dev_t dev = d->type == 'p' ? 0 : makedev((unsigned)d->major, (unsigned)d->minor);
	if (mknod(path, type | (mode & 07777), dev) < 0)
		return vs_fail_errno(err, "device %s: mknod", d->path);
	/* mknod honours the umask; the spec's fileMode is exact. */
	if (chmod(path, mode & 07777) < 0)
		return vs_fail_errno(err, "device %s: chmod", d->path);
	if ((d->has_uid || d->has_gid) &&
	    chown(path, d->has_uid ? d->uid : (uid_t)-1, d->has_gid ? d->gid : (gid_t)-1) < 0)
		return vs_fail_errno(err, "device %s: chown", d->path);
	return 0;
}

static int make_symlink(const char *rootfs, const char *target, const char *link, vs_err *err)
{
	char path[PATH_MAX];
	if (vs_secure_join(rootfs, link, path, sizeof(path), err) < 0)
		return -1;
	if (symlink(target, path) < 0 && errno != EEXIST)
		return vs_fail_errno(err, "symlink %s -> %s", link, target);
	return 0;
}

int vs_devices_setup(const vs_config *cfg, const char *rootfs, bool in_userns, vs_err *err)
{
	for (size_t i = 0; i < sizeof(default_devices) / sizeof(default_devices[0]); i++) {
		/* A linux.devices entry for the same path wins over the default. */
		bool overridden = false;
		for (size_t j = 0; j < cfg->n_devices; j++)
			if (!strcmp(cfg->devices[j].path, default_devices[i].path))
				overridden = true;
		if (!overridden && create_device(rootfs, &default_devices[i], in_userns, err) < 0)
			return -1;
	}
	for (size_t j = 0; j < cfg->n_devices; j++)
		if (create_device(rootfs, &cfg->devices[j], in_userns, err) < 0)
			return vs_err_wrap(err, "linux.devices[%zu]", j);
	static const char *const links[][2] = {
		{ "/proc/self/fd", "/dev/fd" },	      { "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
		{ "pts/ptmx", "/dev/ptmx" },
	};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		if (!strcmp(links[i][1], "/dev/ptmx")) {
			/* Replace a ptmx node from the image: ours must follow /dev/pts. */
			char p[PATH_MAX];
			if (vs_secure_join(rootfs, "/dev/ptmx", p, sizeof(p), err) < 0)
				return -1;
			unlink(p);
		}
		if (make_symlink(rootfs, links[i][0], links[i][1], err) < 0)
			return -1;
	}
	return 0;
}
