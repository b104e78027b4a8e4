/* The guest kernel's modules the agent needs, and their load order from a
 * depmod-style modules.dep ("kernel/a.ko: kernel/b.ko kernel/c.ko"). */
#ifndef VESSEL_MICROVM_MODULES_H
#define VESSEL_MICROVM_MODULES_H

#include <stddef.h>

#include "core/error.h"

/* What the guest agent needs from its kernel (NULL-terminated module
 * names): the virtio-mmio transport vessel's devices sit on, vsock to the
 * host, virtio-fs for the root, virtio-net, virtio-blk for the fallback
 * root image, overlay for its writable layer, virtio-rng for entropy.
 * Dependencies (virtio, virtio_ring, fuse, vsock, net_failover...) come from
 * modules.dep. */
extern const char *const vs_guest_modules[];

/* A module's name from its path: the basename without .ko (and .xz, .zst,
 * .gz), '-' as '_' (as the kernel and modprobe name them). */
void vs_module_name(const char *path, char *name, size_t len);

/* The files to load, relative to moddir, dependencies first and each once,
 * for the modules named by roots (NULL-terminated): *paths is malloc'd and
 * NULL-terminated (core/strv.h). Modules listed in moddir/modules.builtin
 * are skipped; one in neither file is an error naming it. */
int vs_modules_resolve(const char *moddir, const char *const *roots, char ***paths, vs_err *err);

#endif
