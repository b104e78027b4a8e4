/* The guest's initramfs: the static agent as /init, the kernel modules it
 * needs in load order, and /vessel/modules.list naming them (one path per
 * line, relative to /, dependencies first), which the agent loads before
 * anything else. Built once per module tree and agent, then cached. The
 * tree's files are read beneath its directory with no symlink followed. */
#ifndef VESSEL_MICROVM_INITRAMFS_H
#define VESSEL_MICROVM_INITRAMFS_H

#include <stddef.h>

#include "core/error.h"
#include "microvm/kernel.h"

#define VS_INITRAMFS_CACHE "/var/cache/vessel/initramfs"
#define VS_MODULES_LIST	   "vessel/modules.list"

/* Write the archive to out (replaced). The agent must be a static ELF. */
int vs_initramfs_write(const char *agent, const vs_guest_kernel *k, const char *out, vs_err *err);

/* The cached initramfs for this kernel and agent (building it on a miss):
 * cache_dir/<version>-<hash>.cpio, the hash over the agent's bytes, the
 * module tree's real path, dev/inode and version, and every module's path
 * and bytes (the version alone would let two trees of one name share an
 * archive); written to a temporary name and renamed, so concurrent creates
 * never see half an archive. */
int vs_initramfs_get(const char *agent, const vs_guest_kernel *k, const char *cache_dir, char *path,
		     size_t len, vs_err *err);

#endif
