/* Small filesystem helpers with error reporting that names the path. */
#ifndef VESSEL_CORE_FS_H
#define VESSEL_CORE_FS_H

#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"

/* Read a whole file into a NUL-terminated malloc'd buffer. */
int vs_read_file(const char *path, char **out, size_t *len, vs_err *err);

/* The same for rel under the directory dirfd (named dirname in errors),
 * refusing any symlink, any ".." or absolute step out, and anything but a
 * regular file (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): for trees
 * whose contents are data, not a map of the host. */
int vs_read_beneath(int dirfd, const char *dirname, const char *rel, char **out, size_t *len,
		    vs_err *err);

/* Write (truncate) a file; used for /proc and /sys knobs as well. */
int vs_write_file(const char *path, const char *data, size_t len, mode_t mode, vs_err *err);

/* Write via a temporary file and rename, so readers never see a torn file.
 * No fsync: runtime state lives in /run and does not outlive a reboot, so
 * durability buys nothing and would cost milliseconds per write on disk. */
int vs_write_file_atomic(const char *path, const char *data, size_t len, mode_t mode, vs_err *err);

/* mkdir -p; existing directories are fine. */
int vs_mkdir_p(const char *path, mode_t mode, vs_err *err);

/* rm -rf that does not cross mount points; missing path is success. */
int vs_remove_tree(const char *path, vs_err *err);

/* Join two path pieces with exactly one '/', into out. Fails on overflow. */
int vs_path_join(char *out, size_t outlen, const char *a, const char *b, vs_err *err);

#endif
