/* The guest's initramfs: the static agent as /init, the kernel modules it
 * needs in load order, and /vessel/modules.list naming them (one path per
 * line, relative to /, dependencies first), which the agent loads before
 * anything else. Built once per kernel version and agent, then cached. */
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
 * cache_dir/<version>-<agent hash>.cpio, written to a temporary name and
 * renamed, so concurrent creates never see half an archive. */
int vs_initramfs_get(const char *agent, const vs_guest_kernel *k, const char *cache_dir, char *path,
		     size_t len, vs_err *err);

#endif
