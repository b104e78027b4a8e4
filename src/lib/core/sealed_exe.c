#include "core/sealed_exe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/cleanup.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: say we mean to exec it (no dmesg warning) */
#endif

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

static bool fd_is_sealed(int fd)
{
	int s = fcntl(fd, F_GET_SEALS);
	if (s >= 0)
		return (s & SEALS) == SEALS;
	/* A file on a read-only overlayfs: ours has no upper layer. */
	struct statfs fs;
	return fstatfs(fd, &fs) == 0 && fs.f_type == OVERLAYFS_SUPER_MAGIC &&
	       (fs.f_flags & ST_RDONLY);
}

bool vs_self_is_sealed(void)
{
	vs_autoclose int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	return fd >= 0 && fd_is_sealed(fd);
}

/* overlayfs lowerdir syntax: ':' separates layers, '\' escapes. */
static int escape_layer(char *out, size_t len, const char *path)
{
	size_t o = 0;
	for (const char *p = path; *p; p++) {
		if ((*p == ':' || *p == '\\') && o + 1 < len)
			out[o++] = '\\';
		if (o + 1 >= len)
			return -1;
		out[o++] = *p;
	}
	out[o] = '\0';
	return 0;
}

/* O_PATH fd of our binary through a detached lower-only overlay, or -1. */
static int overlay_view(const char *spare_dir)
{
	char self[PATH_MAX], lower[2 * PATH_MAX + 2], top[PATH_MAX * 2], spare[PATH_MAX * 2];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || !spare_dir)
		return -1;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash || slash == self || strstr(self, " (deleted)"))
		return -1;
	*slash = '\0';
	const char *name = slash + 1;
	if (escape_layer(top, sizeof(top), self) < 0 ||
	    escape_layer(spare, sizeof(spare), spare_dir) < 0 ||
	    snprintf(lower, sizeof(lower), "%s:%s", top, spare) >= (int)sizeof(lower))
		return -1;
	vs_autoclose int ctx = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
	if (ctx < 0)
		return -1;
	/* The binary's directory on top, so nothing in the spare dir masks it. */
	if (syscall(SYS_fsconfig, ctx, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0)
		return -1;
	syscall(SYS_fsconfig, ctx, FSCONFIG_SET_STRING, "xino", "off", 0); /* no dmesg noise */
	if (syscall(SYS_fsconfig, ctx, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -1;
	vs_autoclose int mnt =
		(int)syscall(SYS_fsmount, ctx, FSMOUNT_CLOEXEC,
			     MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
	if (mnt < 0)
		return -1;
	return openat(mnt, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

static int memfd_copy(int src, vs_err *err)
{
	struct stat st;
	if (fstat(src, &st) < 0)
		return vs_fail_errno(err, "sealed copy of vessel: fstat /proc/self/exe");
	int fd = memfd_create("vessel", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (fd < 0 && errno == EINVAL) /* kernels before 6.3 */
		fd = memfd_create("vessel", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return vs_fail_errno(err, "sealed copy of vessel: memfd_create");
	off_t off = 0;
	while (off < st.st_size) {
		ssize_t n = sendfile(fd, src, &off, (size_t)(st.st_size - off));
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			close(fd);
			return vs_fail(err, e, "sealed copy of vessel: copy /proc/self/exe");
		}
	}
	if (fcntl(fd, F_ADD_SEALS, SEALS) < 0) {
		int e = errno;
		close(fd);
		return vs_fail(err, e, "sealed copy of vessel: seal memfd");
	}
	return fd;
}

int vs_reexec_sealed(char *const argv[], const char *spare_dir, vs_err *err)
{
	vs_autoclose int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return vs_fail_errno(err, "sealed copy of vessel: open /proc/self/exe");
	if (fd_is_sealed(self))
		return 0;
	int fd = overlay_view(spare_dir);
	if (fd < 0 && (fd = memfd_copy(self, err)) < 0)
		return -1;
	/* Either is close-on-exec: fine for an ELF binary (no #! to reopen it). */
	syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
	int e = errno;
	close(fd);
	return vs_fail(err, e, "sealed copy of vessel: execveat");
}
