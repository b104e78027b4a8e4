/* The guest's early boot as PID 1 of vessel's initramfs: the API
 * filesystems, the kernel modules of /vessel/modules.list, the root
 * filesystem named by vessel.root= (virtio-fs, or a block device under a
 * tmpfs overlay), then switch root. Cannot run on a host without VT-x;
 * its parsers (agent/boot.h) are unit-tested. */
#include "guest/agent/pid1.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/boot.h"
#include "core/fs.h"
#include "core/strv.h"

#define NEWROOT "/newroot"

static int mnt(const char *src, const char *dst, const char *type, unsigned long flags,
	       const char *data, vs_err *err)
{
	if (mkdir(dst, 0755) < 0 && errno != EEXIST)
		return vs_fail_errno(err, "boot: mkdir %s", dst);
	if (mount(src, dst, type, flags, data) < 0)
		return vs_fail_errno(err, "boot: mount %s on %s", type ? type : src, dst);
	return 0;
}

/* The console as stdio, in case the kernel found no /dev/console in the
 * initramfs before devtmpfs was there. */
static void console_stdio(void)
{
	if (fcntl(1, F_GETFD) >= 0)
		return;
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		dup2(fd, i);
	if (fd > 2)
		close(fd);
}

static int load_modules(const char *cmdline, vs_err *err)
{
	char *text = NULL;
	if (vs_read_file(VS_BOOT_MODULES_LIST, &text, NULL, err) < 0) {
		if (err->errnum == ENOENT)
			return 0; /* a kernel with everything built in */
		return -1;
	}
	char **mods = NULL;
	int rc = vs_boot_parse_modules(text, &mods, NULL, err);
	free(text);
	for (size_t i = 0; rc == 0 && mods[i]; i++) {
		int fd = open(mods[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			rc = vs_fail_errno(err, "boot: module %s (%s)", mods[i],
					   VS_BOOT_MODULES_LIST);
			break;
		}
		char params[4096];
		if (vs_boot_module_params(cmdline, mods[i], params, sizeof(params)) < 0)
			rc = vs_fail(err, E2BIG, "boot: module %s: parameters on the command line",
				     mods[i]);
		else if (syscall(SYS_finit_module, fd, params, vs_boot_module_flags(mods[i])) < 0 &&
			 errno != EEXIST)
			rc = vs_fail_errno(err, "boot: finit_module %s", mods[i]);
		close(fd);
	}
	vs_strv_free(mods);
	return rc;
}

static int mount_root(const vs_boot_root *root, vs_err *err)
{
	if (root->kind == VS_ROOT_VIRTIOFS)
		return mnt(root->source, NEWROOT, "virtiofs", 0, NULL, err);
	/* A read-only image (erofs or ext4) under a tmpfs overlay: the
	 * workload's writes stay in the VM (docs/microvm.md). */
	static const char *const types[] = { "erofs", "ext4" };
	int r = -1;
	for (size_t i = 0; i < 2 && r < 0; i++) {
		vs_err_clear(err);
		r = mnt(root->source, "/lower", types[i], MS_RDONLY, NULL, err);
	}
	if (r < 0)
		return -1;
	if (mnt("tmpfs", "/tmp/rw", "tmpfs", 0, "mode=0755", err) < 0 ||
	    mkdir("/tmp/rw/upper", 0755) < 0 || mkdir("/tmp/rw/work", 0755) < 0)
		return err->msg[0] ? -1 : vs_fail_errno(err, "boot: overlay directories");
	return mnt("overlay", NEWROOT, "overlay", 0,
		   "lowerdir=/lower,upperdir=/tmp/rw/upper,workdir=/tmp/rw/work", err);
}

/* /proc, /sys and /dev go along into the new root. */
static int move_api_mounts(vs_err *err)
{
	static const char *const api[] = { "/proc", "/sys", "/dev" };
	for (size_t i = 0; i < 3; i++) {
		char dst[64];
		snprintf(dst, sizeof(dst), NEWROOT "%s", api[i]);
		if (mkdir(dst, 0755) < 0 && errno != EEXIST)
			return vs_fail_errno(err, "boot: mkdir %s", dst);
		if (mount(api[i], dst, NULL, MS_MOVE, NULL) < 0)
			return vs_fail_errno(err, "boot: move %s to %s", api[i], dst);
	}
	return 0;
}

/* The initramfs is the kernel's rootfs, which pivot_root cannot leave:
 * move the new root over / and chroot into it (switch_root's way). */
static int switch_root(vs_err *err)
{
	if (chdir(NEWROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0)
		return vs_fail_errno(err, "boot: switch root to %s", NEWROOT);
	return 0;
}

int pid1_boot(vs_err *err)
{
	/* EBUSY: the kernel mounted devtmpfs there already. */
	if (mnt("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", err) < 0 &&
	    err->errnum != EBUSY)
		return -1;
	vs_err_clear(err);
	console_stdio();
	if (mnt("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err) < 0 ||
	    mnt("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err) < 0 ||
	    mnt("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "ptmxmode=0666,mode=0620",
		err) < 0 ||
	    mnt("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", err) < 0)
		return -1;
	char *cmdline = NULL;
	if (vs_read_file("/proc/cmdline", &cmdline, NULL, err) < 0)
		return -1;
	if (load_modules(cmdline, err) < 0) {
		free(cmdline);
		return -1;
	}
	vs_boot_root root;
	int r = vs_boot_parse_cmdline(cmdline, &root, err);
	free(cmdline);
	if (r < 0 || mount_root(&root, err) < 0 || move_api_mounts(err) < 0 || switch_root(err) < 0)
		return -1;
	/* /dev/ptmx for posix_openpt on the devpts instance that moved along. */
	if (access("/dev/ptmx", F_OK) < 0)
		(void)!symlink("pts/ptmx", "/dev/ptmx");
	return 0;
}

void pid1_poweroff(void)
{
	sync();
	reboot(RB_POWER_OFF);
	_exit(1); /* PID 1 exiting panics the guest: an end all the same */
}
