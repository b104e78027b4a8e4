/* The container's filesystem view: propagation, the configured mounts in
 * order, /dev, pivot_root (or move+chroot), masked and read-only paths. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "container/internal.h"
#include "container/mount_ext.h"
#include "core/cleanup.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/resolve.h"

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

/* The destination of a mount, resolved inside the rootfs and held as an
 * fd: mount(2) gets "/proc/self/fd/N", so no symlink swapped in after the
 * check can redirect it. */
typedef struct mount_target {
	int fd;
	vs_fd_path at;
} mount_target;

static int target_open(int root_fd, const char *dest, enum vs_create_kind kind, mount_target *t,
		       vs_err *err)
{
	t->fd = vs_open_in_root(root_fd, dest, kind, err);
	if (t->fd < 0)
		return -1;
	t->at = vs_fd_path_of(t->fd);
	return 0;
}

/* After a mount the old fd still names the covered directory: reopen to
 * reach the new mount on top (for remounts and attributes). */
static int target_reopen(int root_fd, const char *dest, mount_target *t, vs_err *err)
{
	close(t->fd);
	return target_open(root_fd, dest, VS_OPEN_EXISTING, t, err);
}

/* cgroup mounts on a v1/hybrid host: a tmpfs with the container's own
 * cgroup of each hierarchy bound in, so the host tree stays hidden. */
static int mount_cgroup_v1(int root_fd, const vs_mount *m, mount_target *t, const vs_cgroup *cg,
			   vs_err *err)
{
	unsigned long flags = m->flags & ~OP_FLAGS;
	if (mount("tmpfs", t->at.path, "tmpfs",
		  (flags & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
		return vs_fail_errno(err, "mount tmpfs for cgroup at %s", m->destination);
	if (target_reopen(root_fd, m->destination, t, err) < 0)
		return -1;
	for (int i = 0; i < cg->n; i++) {
		const char *src = cg->d[i].dir;
		const char *name = strrchr(cg->d[i].mount, '/');
		name = name ? name + 1 : cg->d[i].mount;
		/* The tmpfs is brand new: nothing in it can be a symlink. */
		if (mkdirat(t->fd, name, 0755) < 0 && errno != EEXIST)
			return vs_fail_errno(err, "mkdir %s/%s", m->destination, name);
		char sub[64 + NAME_MAX];
		snprintf(sub, sizeof(sub), "%s/%s", t->at.path, name);
		if (mount(src, sub, NULL, MS_BIND | MS_REC, NULL) < 0)
			return vs_fail_errno(err, "bind cgroup %s to %s/%s", src, m->destination,
					     name);
		if (bind_remount(sub, flags | MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0)
			return -1;
	}
	if ((flags & MS_RDONLY) &&
	    mount(NULL, t->at.path, NULL, MS_REMOUNT | flags | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=755") < 0)
		return vs_fail_errno(err, "remount %s read-only", m->destination);
	return 0;
}

static int mount_cgroup(vs_init_ctx *ctx, int root_fd, const vs_mount *m, mount_target *t,
			vs_err *err)
{
	/* The runtime detected the layout and resolved every directory before
	 * cloning us: no need to read mountinfo again. */
	const vs_cgroup *cg = ctx->cgroup;
	/* v1 binds need only our directories to exist; a cgroup2 mount shows
	 * the cgroup namespace, so we must be inside our cgroup first. */
	if (cg->layout != VS_CGROUP_V2)
		return vs_init_wait_cgroup_dirs(ctx, err) < 0
			       ? -1
			       : mount_cgroup_v1(root_fd, m, t, cg, err);
	if (vs_init_wait_cgroup(ctx, err) < 0)
		return -1;
	if (mount("cgroup2", t->at.path, "cgroup2", m->flags & ~OP_FLAGS, m->data) == 0)
		return 0;
	/* No cgroup namespace of our own in a user namespace: bind our cgroup (as runc). */
	if (errno != EPERM && errno != EBUSY)
		return vs_fail_errno(err, "mount cgroup2 on %s", m->destination);
	const char *src = vs_cgroup_v2_dir(cg);
	if (mount(src, t->at.path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return vs_fail_errno(err, "bind cgroup %s to %s", src, m->destination);
	if (target_reopen(root_fd, m->destination, t, err) < 0)
		return -1;
	return bind_remount(t->at.path, (m->flags & ~OP_FLAGS) | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			    err);
}

/* copy-symlink (crun): a symlink source becomes the same symlink at the
 * destination, instead of a bind of whatever it points to. */
static int copy_symlink(int root_fd, const vs_mount *m, const char *src, vs_err *err)
{
	char target[PATH_MAX], parent[PATH_MAX];
	ssize_t n = readlink(src, target, sizeof(target) - 1);
	if (n < 0)
		return vs_fail_errno(err, "readlink %s", src);
	target[n] = '\0';
	snprintf(parent, sizeof(parent), "%s", m->destination);
	char *slash = strrchr(parent, '/');
	const char *name = slash + 1;
	*slash = '\0';
	if (!name[0] || !strcmp(name, ".") || !strcmp(name, ".."))
		return vs_fail(err, EINVAL, "copy-symlink: bad destination %s", m->destination);
	vs_autoclose int dir =
		vs_open_in_root(root_fd, parent[0] ? parent : "/", VS_CREATE_DIR, err);
	if (dir < 0)
		return -1;
	/* Replace a file the image has there (e.g. /etc/localtime), not a directory. */
	if (unlinkat(dir, name, 0) < 0 && errno != ENOENT)
		return vs_fail_errno(err, "copy-symlink: replace %s", m->destination);
	if (symlinkat(target, dir, name) < 0)
		return vs_fail_errno(err, "copy-symlink: symlink %s", m->destination);
	return 0;
}

/* Attach the detached tree the runtime made (container/bind_sources.c). */
static int attach_tree(int root_fd, const vs_mount *m, int tree, mount_target *t, vs_err *err)
{
	struct stat st;
	if (fstat(tree, &st) < 0)
		return vs_fail_errno(err, "bind tree for %s", m->destination);
	if (target_open(root_fd, m->destination,
			S_ISDIR(st.st_mode) ? VS_CREATE_DIR : VS_CREATE_FILE, t, err) < 0)
		return -1;
	if (syscall(SYS_move_mount, tree, "", t->fd, "",
		    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return vs_fail_errno(err, "attach %s to %s", m->source, m->destination);
	return 0;
}

static int mount_bind(vs_init_ctx *ctx, int root_fd, const vs_mount *m, size_t idx, mount_target *t,
		      vs_err *err)
{
	if (ctx->bind_fds && ctx->bind_fds[idx] >= 0) {
		int rc = attach_tree(root_fd, m, ctx->bind_fds[idx], t, err);
		/* Attached (or not): no reason to keep a host mount fd until exec. */
		close(ctx->bind_fds[idx]);
		ctx->bind_fds[idx] = -1;
		if (rc < 0)
			return -1;
	} else {
		char src[PATH_MAX];
		if (m->source[0] == '/')
			snprintf(src, sizeof(src), "%s", m->source);
		else if (vs_path_join(src, sizeof(src), ctx->cfg->bundle, m->source, err) < 0)
			return -1;
		struct stat st;
		if (m->copy_symlink && lstat(src, &st) == 0 && S_ISLNK(st.st_mode))
			return copy_symlink(root_fd, m, src, err);
		if (stat(src, &st) < 0)
			return vs_fail_errno(err, "source %s", src);
		if (target_open(root_fd, m->destination,
				S_ISDIR(st.st_mode) ? VS_CREATE_DIR : VS_CREATE_FILE, t, err) < 0)
			return -1;
		if (mount(src, t->at.path, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
			return vs_fail_errno(err, "bind %s to %s", src, m->destination);
	}
	if (target_reopen(root_fd, m->destination, t, err) < 0)
		return -1;
	unsigned long flags = m->flags & ~OP_FLAGS;
	if ((flags || m->has_rw) && bind_remount(t->at.path, flags, err) < 0)
		return vs_err_wrap(err, "%s", m->destination);
	return 0;
}

static int mount_fail(const vs_mount *m, int e, vs_err *err)
{
	return vs_fail(err, e, "mount %s on %s (type %s, options \"%s\")",
		       m->source ? m->source : m->type, m->destination, m->type,
		       m->options ? m->options : "");
}

/* tmpcopyup: mount the tmpfs read-write, copy what it covers into it (the
 * old fd still reaches the covered directory), then apply a read-only flag. */
static int mount_tmpfs_copyup(const vs_mount *m, int root_fd, mount_target *t, vs_err *err)
{
	unsigned long flags = m->flags & ~OP_FLAGS;
	vs_autoclose int old = openat(t->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (old < 0)
		return vs_fail_errno(err, "tmpcopyup: open %s", m->destination);
	if (mount(m->source ? m->source : "tmpfs", t->at.path, "tmpfs", flags & ~MS_RDONLY,
		  m->data) < 0)
		return mount_fail(m, errno, err);
	if (target_reopen(root_fd, m->destination, t, err) < 0)
		return -1;
	vs_autoclose int new = openat(t->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (new < 0)
		return vs_fail_errno(err, "tmpcopyup: open %s", m->destination);
	bool keep_mode = m->data && (!strncmp(m->data, "mode=", 5) || strstr(m->data, ",mode="));
	if (vs_tmpcopyup(old, new, m->destination, keep_mode, err) < 0)
		return -1;
	if ((flags & MS_RDONLY) && mount(NULL, t->at.path, NULL, MS_REMOUNT | flags, m->data) < 0)
		return vs_fail_errno(err, "remount %s read-only", m->destination);
	return 0;
}

static int mount_fs(vs_init_ctx *ctx, int root_fd, const vs_mount *m, mount_target *t, vs_err *err)
{
	const char *type = m->type;
	unsigned long flags = m->flags & ~OP_FLAGS;
	if (target_open(root_fd, m->destination, VS_CREATE_DIR, t, err) < 0)
		return -1;
	if (!strcmp(type, "cgroup"))
		return mount_cgroup(ctx, root_fd, m, t, err);
	if (m->tmpcopyup)
		return mount_tmpfs_copyup(m, root_fd, t, err);
	/* MS_REMOUNT alone ("remount" option) changes flags of what is already there. */
	unsigned long op = m->flags & MS_REMOUNT;
	if (mount(m->source ? m->source : type, t->at.path, type, flags | op, m->data) == 0)
		return target_reopen(root_fd, m->destination, t, err);
	int e = errno;
	/* sysfs needs its own netns; without one, bind the host's (runc does too). */
	if (e == EPERM && !strcmp(type, "sysfs") &&
	    mount("/sys", t->at.path, NULL, MS_BIND | MS_REC, NULL) == 0) {
		if (target_reopen(root_fd, m->destination, t, err) < 0)
			return -1;
		return bind_remount(t->at.path, flags, err);
	}
	return mount_fail(m, e, err);
}

/* procfs and sysfs go on a real directory only, as runc requires: an image
 * with "/proc -> somewhere" would otherwise put them wherever it points. */
static int check_real_dir(int root_fd, const vs_mount *m, size_t idx, vs_err *err)
{
	if (m->bind || (strcmp(m->type, "proc") && strcmp(m->type, "sysfs")))
		return 0;
	vs_autoclose int fd = vs_open_in_root(root_fd, m->destination, VS_CREATE_DIR, err);
	if (fd < 0)
		return vs_err_wrap(err, "mounts[%zu].destination", idx);
	/* The same path again, refusing any symlink on the way. */
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS };
	const char *rel = m->destination + strspn(m->destination, "/");
	vs_autoclose int direct =
		(int)syscall(SYS_openat2, root_fd, rel[0] ? rel : ".", &how, sizeof(how));
	struct stat a, b;
	if (direct < 0 || fstat(fd, &a) < 0 || fstat(direct, &b) < 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino)
		return vs_fail(err, 0,
			       "mounts[%zu].destination: %s is a symlink or not a directory: a %s "
			       "mount needs a real directory",
			       idx, m->destination, m->type);
	return 0;
}

static int mount_one(vs_init_ctx *ctx, int root_fd, const vs_mount *m, size_t idx, vs_err *err)
{
	mount_target t = { .fd = -1 };
	if (check_real_dir(root_fd, m, idx, err) < 0)
		return -1;
	int rc = m->bind ? mount_bind(ctx, root_fd, m, idx, &t, err)
			 : mount_fs(ctx, root_fd, m, &t, err);
	if (rc == 0 && m->propagation && mount(NULL, t.at.path, NULL, m->propagation, NULL) < 0)
		rc = vs_fail_errno(err, "set propagation on %s", m->destination);
	if (rc == 0 && (m->attr_set || m->attr_clr || m->atime_set)) {
		struct mount_attr attr = { .attr_set = m->attr_set, .attr_clr = m->attr_clr };
		if (m->atime_set) {
			attr.attr_clr |= MOUNT_ATTR__ATIME;
			attr.attr_set |= m->atime_mode;
		}
		if (syscall(SYS_mount_setattr, t.fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
			    sizeof(attr)) < 0)
			rc = vs_fail_errno(err, "mount_setattr on %s", m->destination);
	}
	if (t.fd >= 0)
		close(t.fd);
	return rc < 0 ? vs_err_wrap(err, "mounts[%zu]", idx) : 0;
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
		/* Only an initramfs root (ramfs/tmpfs "/") cannot be pivoted away
		 * from; any other failure is an error, since chroot is escapable. */
		int e = errno;
		struct statfs sfs;
		if (e != EINVAL || statfs("/", &sfs) < 0 ||
		    (sfs.f_type != RAMFS_MAGIC && sfs.f_type != TMPFS_MAGIC))
			return vs_fail(err, e, "pivot_root %s", rootfs);
		vs_warn("pivot_root %s: the host root is an initramfs, using MS_MOVE and chroot",
			rootfs);
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

/* pivot_root refuses a new root whose parent mount is shared, and a shared
 * parent (e.g. a podman overlay mount) would carry our mounts back to the
 * host: make the mount holding rootfs private, as runc does. */
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

/* No mount namespace: the host's mount table is ours too, so nothing is
 * mounted (config load refused every field that would mount) and the root
 * is entered with chroot, as runc does. */
static int enter_root_without_mount_namespace(vs_init_ctx *ctx, vs_err *err)
{
	if (ctx->want_hooks && vs_init_hook_point(ctx, err) < 0)
		return -1;
	if (chdir(ctx->cfg->root_path) < 0)
		return vs_fail_errno(err, "root.path: chdir %s", ctx->cfg->root_path);
	if (chroot(".") < 0)
		return vs_fail_errno(err, "root.path: chroot %s", ctx->cfg->root_path);
	if (chdir("/") < 0)
		return vs_fail_errno(err, "chdir /");
	return 0;
}

int vs_rootfs_setup(vs_init_ctx *ctx, vs_err *err)
{
	const vs_config *cfg = ctx->cfg;
	const char *rootfs = cfg->root_path;
	if (!cfg->ns[VS_NS_MNT].present)
		return enter_root_without_mount_namespace(ctx, err);
	/* By default nothing we mount may propagate back to the host. */
	unsigned long prop = cfg->rootfs_propagation ? cfg->rootfs_propagation : MS_SLAVE | MS_REC;
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		return vs_fail_errno(err, "set / propagation");
	if (make_parent_mount_private(rootfs, err) < 0)
		return -1;
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return vs_fail_errno(err, "root.path: bind %s", rootfs);
	/* Opened after the bind, so mounts land on the tree we pivot into. */
	vs_autoclose int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return vs_fail_errno(err, "root.path: open %s", rootfs);
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (mount_one(ctx, root_fd, &cfg->mounts[i], i, err) < 0)
			return -1;
	if (!dev_is_bind_mounted(cfg) &&
	    vs_devices_setup(cfg, root_fd, cfg->ns[VS_NS_USER].present, err) < 0)
		return -1;
	if (ctx->want_hooks && vs_init_hook_point(ctx, err) < 0)
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
