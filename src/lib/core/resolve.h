/* Race-free paths inside a container rootfs. A path string checked once and
 * used later can be swapped for a symlink in between (runc CVE-2021-30465);
 * these helpers hand out fds resolved with openat2(RESOLVE_IN_ROOT), which
 * the kernel keeps inside the root however the tree changes. */
#ifndef VESSEL_CORE_RESOLVE_H
#define VESSEL_CORE_RESOLVE_H

#include <sys/types.h>

#include "core/error.h"

enum vs_create_kind {
	VS_OPEN_EXISTING = 0, /* fail with ENOENT if missing */
	VS_CREATE_DIR,	      /* create missing directories, the last one too */
	VS_CREATE_FILE,	      /* create missing directories and an empty last file */
};

/* O_PATH fd of path (absolute or relative, as seen from root_fd); missing
 * components are created per kind, each inside an already verified dir. */
int vs_open_in_root(int root_fd, const char *path, enum vs_create_kind kind, vs_err *err);

/* An existing regular file opened for reading (flags added to O_RDONLY),
 * resolved inside root_fd like vs_open_in_root: for reading files of the
 * image (/etc/passwd) without following a symlink out of it. Anything but a
 * regular file fails (EINVAL) without ever being opened. */
int vs_open_read_in_root(int root_fd, const char *path, int flags, vs_err *err);

/* Reopen an O_PATH fd with flags once fstat shows the expected type (and,
 * for a character device, st_rdev): nothing from an image (a device node,
 * a FIFO) is opened for real before it is checked, since opening a device
 * runs its driver. Through /proc/self/fd, so /proc must be mounted. */
int vs_reopen_checked(int path_fd, int flags, mode_t type, dev_t rdev, const char *what,
		      vs_err *err);

/* "/proc/self/fd/N": a name for fd usable by syscalls that take only paths (mount(2)). */
typedef struct vs_fd_path {
	char path[32];
} vs_fd_path;
vs_fd_path vs_fd_path_of(int fd);

#endif
