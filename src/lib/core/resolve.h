/* Race-free paths inside a container rootfs. A path string checked once and
 * used later can be swapped for a symlink in between (runc CVE-2021-30465);
 * these helpers hand out fds resolved with openat2(RESOLVE_IN_ROOT), which
 * the kernel keeps inside the root however the tree changes. */
#ifndef VESSEL_CORE_RESOLVE_H
#define VESSEL_CORE_RESOLVE_H

#include "core/error.h"

enum vs_create_kind {
	VS_OPEN_EXISTING = 0, /* fail with ENOENT if missing */
	VS_CREATE_DIR,	      /* create missing directories, the last one too */
	VS_CREATE_FILE,	      /* create missing directories and an empty last file */
};

/* O_PATH fd of path (absolute or relative, as seen from root_fd); missing
 * components are created per kind, each inside an already verified dir. */
int vs_open_in_root(int root_fd, const char *path, enum vs_create_kind kind, vs_err *err);

/* An existing file opened for reading (flags added to O_RDONLY), resolved
 * inside root_fd like vs_open_in_root in one openat2: for reading files of
 * the image (/etc/passwd) without following a symlink out of it. */
int vs_open_read_in_root(int root_fd, const char *path, int flags, vs_err *err);

/* "/proc/self/fd/N": a name for fd usable by syscalls that take only paths (mount(2)). */
typedef struct vs_fd_path {
	char path[32];
} vs_fd_path;
vs_fd_path vs_fd_path_of(int fd);

#endif
