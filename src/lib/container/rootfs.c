/* The container's filesystem view: propagation, the configured mounts in
 * order, /dev, pivot_root (or move+chroot), masked and read-only paths. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "container/internal.h"
#include "core/cleanup.h"
#include "core/fs.h"
#include "core/log.h"

/* Flags that only describe the operation, never the mount itself. */
#define OP_FLAGS (MS_BIND | MS_REC | MS_REMOUNT | MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)

/* Flags a user namespace may not clear on a bind remount ("locked"): keep
 * whatever the source mount already has. */
static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	if (statvfs(path, &sv) < 0)
		return 0;
	unsigned long f = 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_RDONLY)
		f |= MS_RDONLY;
	return f;
}

static int bind_remount(const char *dest, unsigned long flags, vs_err *err)
{
	if (mount(NULL, dest, NULL, MS_BIND | MS_REMOUNT | flags, NULL) == 0)
		return 0;
	if (errno == EPERM &&
	    mount(NULL, dest, NULL, MS_BIND | MS_REMOUNT | flags | locked_flags(dest), NULL) == 0)
		return 0;
	return vs_fail_errno(err, "remount %s", dest);
}

static int make_dest(const char *dest, bool is_dir, vs_err *err)
{
	if (is_dir)
		return vs_mkdir_p(dest, 0755, err);
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", dest);
	if (vs_mkdir_p(dirname(parent), 0755, err) < 0)
		return -1;
	int fd = open(dest, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && errno != EISDIR)
		return vs_fail_errno(err, "create mount point %s", dest);
	if (fd >= 0)
		close(fd);
	return 0;
}

/* cgroup mounts on a v1/hybrid host: a tmpfs with the container's own
 * cgroup of each hierarchy bound in, so the host tree stays hidden. */
static int mount_cgroup_v1(const char *dest, const vs_mount *m, const vs_cgroup_host *host,
			   const char *cg_path, vs_err *err)
{
	unsigned long flags = m->flags & ~OP_FLAGS;
	if (mount("tmpfs", dest, "tmpfs", (flags & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=755") < 0)
		return vs_fail_errno(err, "mount tmpfs for cgroup at %s", dest);
	for (int i = 0; i < host->n_hier; i++) {
		const vs_cgroup_hier *h = &host->hier[i];
		const char *name = strrchr(h->mount, '/');
		name = name ? name + 1 : h->mount;
		char sub[PATH_MAX], src[PATH_MAX];
		if (vs_path_join(sub, sizeof(sub), dest, name, err) < 0 ||
		    vs_path_join(src, sizeof(src), h->mount, cg_path ? cg_path : "/", err) < 0)
			return -1;
		if (vs_mkdir_p(sub, 0755, err) < 0)
			return -1;
		if (mount(src, sub, NULL, MS_BIND | MS_REC, NULL) < 0)
			return vs_fail_errno(err, "bind cgroup %s to %s", src, sub);
		if (bind_remount(sub, flags | MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0)
			return -1;
	}
	if ((flags & MS_RDONLY) &&
	    mount(NULL, dest, NULL, MS_REMOUNT | flags | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=755") < 0)
		return vs_fail_errno(err, "remount %s read-only", dest);
	return 0;
}

static int mount_cgroup(const char *dest, const vs_mount *m, const char *cg_path, vs_err *err)
{
	vs_cgroup_host host;
	if (vs_cgroup_detect(&host, NULL, err) < 0)
		return -1;
	if (host.layout == VS_CGROUP_V2) {
		if (mount("cgroup2", dest, "cgroup2", m->flags & ~OP_FLAGS, m->data) < 0)
			return vs_fail_errno(err, "mount cgroup2 on %s", dest);
		return 0;
	}
	return mount_cgroup_v1(dest, m, &host, cg_path, err);
}

static int mount_one(vs_init_ctx *ctx, const vs_mount *m, size_t idx, vs_err *err)
{
	const vs_config *cfg = ctx->cfg;
	char dest[PATH_MAX];
	if (vs_secure_join(cfg->root_path, m->destination, dest, sizeof(dest), err) < 0)
		return vs_err_wrap(err, "mounts[%zu]", idx);
	const char *type = m->type ? m->type : "none";
	unsigned long flags = m->flags & ~OP_FLAGS;

	if (m->bind) {
		char src[PATH_MAX];
		if (m->source[0] == '/')
			snprintf(src, sizeof(src), "%s", m->source);
		else if (vs_path_join(src, sizeof(src), cfg->bundle, m->source, err) < 0)
			return -1;
		struct stat st;
		if (stat(src, &st) < 0)
			return vs_fail_errno(err, "mounts[%zu]: source %s", idx, src);
		if (make_dest(dest, S_ISDIR(st.st_mode), err) < 0)
			return vs_err_wrap(err, "mounts[%zu]", idx);
		if (mount(src, dest, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
			return vs_fail_errno(err, "mounts[%zu]: bind %s to %s", idx, src,
					     m->destination);
		if ((flags || m->has_rw) && bind_remount(dest, flags, err) < 0)
			return vs_err_wrap(err, "mounts[%zu]", idx);
	} else {
		if (make_dest(dest, true, err) < 0)
			return vs_err_wrap(err, "mounts[%zu]", idx);
		if (!strcmp(type, "cgroup")) {
			if (vs_init_wait_cgroup(ctx, err) < 0 ||
			    mount_cgroup(dest, m, ctx->cgroup_path, err) < 0)
				return vs_err_wrap(err, "mounts[%zu]", idx);
		} else if (mount(m->source ? m->source : type, dest, type, flags, m->data) < 0) {
			int e = errno;
			/* sysfs needs its own netns; without one, bind the host's (runc does too).
			 */
			if (e == EPERM && !strcmp(type, "sysfs") &&
			    mount("/sys", dest, NULL, MS_BIND | MS_REC, NULL) == 0) {
				if (bind_remount(dest, flags, err) < 0)
					return vs_err_wrap(err, "mounts[%zu]", idx);
			} else {
				return vs_fail(err, e, "mounts[%zu]: mount %s (type %s) on %s", idx,
					       m->source ? m->source : type, type, m->destination);
			}
		}
	}
	if (m->propagation && mount(NULL, dest, NULL, m->propagation, NULL) < 0)
		return vs_fail_errno(err, "mounts[%zu]: set propagation on %s", idx,
				     m->destination);
	if (m->attr_set || m->attr_clr) {
		struct mount_attr attr = { .attr_set = m->attr_set, .attr_clr = m->attr_clr };
		/* Clearing an atime mode needs the whole atime field cleared. */
		if (attr.attr_set &
		    (MOUNT_ATTR_NOATIME | MOUNT_ATTR_STRICTATIME | MOUNT_ATTR_RELATIME))
			attr.attr_clr |= MOUNT_ATTR__ATIME;
		if (syscall(SYS_mount_setattr, AT_FDCWD, dest, AT_RECURSIVE, &attr, sizeof(attr)) <
		    0)
			return vs_fail_errno(err, "mounts[%zu]: mount_setattr on %s", idx,
					     m->destination);
	}
	return 0;
}

static int pivot(const char *rootfs, bool no_pivot, vs_err *err)
{
	if (chdir(rootfs) < 0)
		return vs_fail_errno(err, "chdir %s", rootfs);
	if (!no_pivot) {
		/* pivot_root(".", "."): the old root ends up stacked on "/"; we
		 * enter it through an fd taken before, make it slave (so the
		 * detach does not propagate to the host) and detach it. */
		vs_autoclose int old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		if (old_root < 0)
			return vs_fail_errno(err, "open old root");
		if (syscall(SYS_pivot_root, ".", ".") == 0) {
			if (fchdir(old_root) < 0)
				return vs_fail_errno(err, "enter old root");
			if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
				return vs_fail_errno(err, "make old root slave");
			if (umount2(".", MNT_DETACH) < 0)
				return vs_fail_errno(err, "detach old root");
			if (chdir("/") < 0)
				return vs_fail_errno(err, "chdir /");
			return 0;
		}
		/* An initramfs root cannot be pivoted away from: fall back. */
		if (errno != EINVAL)
			return vs_fail_errno(err, "pivot_root %s", rootfs);
		vs_debug("pivot_root %s: EINVAL, falling back to MS_MOVE and chroot", rootfs);
	}
	if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
		return vs_fail_errno(err, "move %s to /", rootfs);
	if (chroot(".") < 0)
		return vs_fail_errno(err, "chroot %s", rootfs);
	if (chdir("/") < 0)
		return vs_fail_errno(err, "chdir /");
	return 0;
}

static bool dev_is_bind_mounted(const vs_config *cfg)
{
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (cfg->mounts[i].bind && !strcmp(cfg->mounts[i].destination, "/dev"))
			return true;
	return false;
}

/* pivot_root refuses a new root whose parent mount is shared: make the
 * mount holding rootfs private (only needed for rshared propagation). */
static int make_parent_mount_private(const char *rootfs, vs_err *err)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", rootfs);
	for (;;) {
		char *slash = strrchr(dir, '/');
		if (!slash)
			break;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (mount(NULL, dir, NULL, MS_PRIVATE, NULL) == 0)
			return 0;
		if (errno != EINVAL)
			return vs_fail_errno(err, "make %s private", dir);
		if (!strcmp(dir, "/"))
			break;
	}
	return vs_fail(err, 0, "no parent mount found for %s", rootfs);
}

int vs_rootfs_setup(vs_init_ctx *ctx, vs_err *err)
{
	const vs_config *cfg = ctx->cfg;
	const char *rootfs = cfg->root_path;
	/* By default nothing we mount may propagate back to the host. */
	unsigned long prop = cfg->rootfs_propagation ? cfg->rootfs_propagation : MS_SLAVE | MS_REC;
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		return vs_fail_errno(err, "set / propagation");
	if ((prop & MS_SHARED) && make_parent_mount_private(rootfs, err) < 0)
		return -1;
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return vs_fail_errno(err, "root.path: bind %s", rootfs);
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (mount_one(ctx, &cfg->mounts[i], i, err) < 0)
			return -1;
	if (!dev_is_bind_mounted(cfg) &&
	    vs_devices_setup(cfg, rootfs, cfg->ns[VS_NS_USER].present, err) < 0)
		return -1;
	if (pivot(rootfs, ctx->opts->no_pivot, err) < 0)
		return -1;
	/* The new root mount itself gets rootfsPropagation; not recursively, so
	 * per-mount propagation options set above survive. */
	if (cfg->rootfs_propagation &&
	    mount(NULL, "/", NULL, cfg->rootfs_propagation & ~MS_REC, NULL) < 0)
		return vs_fail_errno(err, "linux.rootfsPropagation");
	return 0;
}

static int mask_path(const char *path, vs_err *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : vs_fail_errno(err, "linux.maskedPaths: %s", path);
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0k") < 0)
			return vs_fail_errno(err, "linux.maskedPaths: mask %s", path);
	} else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
		return vs_fail_errno(err, "linux.maskedPaths: mask %s", path);
	}
	return 0;
}

static int readonly_path(const char *path, vs_err *err)
{
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return errno == ENOENT ? 0
				       : vs_fail_errno(err, "linux.readonlyPaths: bind %s", path);
	if (bind_remount(path, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0)
		return vs_err_wrap(err, "linux.readonlyPaths");
	return 0;
}

int vs_rootfs_finalize(const vs_config *cfg, vs_err *err)
{
	for (size_t i = 0; i < cfg->n_readonly_paths; i++)
		if (readonly_path(cfg->readonly_paths[i], err) < 0)
			return -1;
	for (size_t i = 0; i < cfg->n_masked_paths; i++)
		if (mask_path(cfg->masked_paths[i], err) < 0)
			return -1;
	if (cfg->root_readonly && bind_remount("/", MS_RDONLY, err) < 0)
		return vs_err_wrap(err, "root.readonly");
	return 0;
}
