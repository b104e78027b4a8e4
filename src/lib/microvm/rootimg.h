/* The guest's root where no virtiofsd is installed (docs/microvm.md "The
 * real VM path", step 3): an erofs image of the container's root tree,
 * read-only on virtio-blk, under a tmpfs overlay in the guest (writes stay
 * in the VM). */
#ifndef VESSEL_MICROVM_ROOTIMG_H
#define VESSEL_MICROVM_ROOTIMG_H

#include <json-c/json.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"

#define VS_MKFS_EROFS "/usr/bin/mkfs.erofs"

/* The largest image mkfs.erofs may write (RLIMIT_FSIZE in its child): the
 * state dir is usually a tmpfs (/run), and a sparse file in the rootfs
 * becomes that many real bytes in the image. */
#define VS_ANN_VM_ROOTFS_IMAGE_MAX "io.vessel.vm.rootfs-image-max"
#define VS_ROOT_IMAGE_MAX_DEFAULT  (4ULL << 30) /* 4 GiB */

/* *out: the annotation's bytes ("8388608", "8M", "4G", "1TiB"; K M G T,
 * powers of 1024), VS_ROOT_IMAGE_MAX_DEFAULT without it. */
int vs_microvm_root_image_max(json_object *annotations, uint64_t *out, vs_err *err);

/* Build image from the detached mount tree tree_fd (moved onto the empty
 * directory mnt in a private mount namespace of a child, as for
 * virtiofsd), leaving out the container's /proc, /sys and /dev (the guest
 * mounts its own), and without xattrs (file capabilities and SELinux
 * labels are lost); mkfs.erofs's output goes to log_fd; it may write
 * no more than max_bytes, and dies with vessel. place (may be NULL) runs
 * with its pid before it execs (it waits), to move it into cgroups. *fd: the image, read-only. */
typedef int (*vs_root_image_place_fn)(void *arg, pid_t pid, vs_err *err);
int vs_microvm_root_image(int tree_fd, const char *mnt, const char *image, int log_fd,
			  uint64_t max_bytes, vs_root_image_place_fn place, void *place_arg,
			  int *fd, vs_err *err);

#endif
