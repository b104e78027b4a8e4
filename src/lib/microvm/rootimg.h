/* The guest's root where no virtiofsd is installed (docs/microvm.md "The
 * real VM path", step 3): an erofs image of the container's root tree,
 * read-only on virtio-blk, under a tmpfs overlay in the guest (writes stay
 * in the VM). */
#ifndef VESSEL_MICROVM_ROOTIMG_H
#define VESSEL_MICROVM_ROOTIMG_H

#include "core/error.h"

#define VS_MKFS_EROFS "/usr/bin/mkfs.erofs"

/* Build image from the detached mount tree tree_fd (moved onto the empty
 * directory mnt in a private mount namespace of a child, as for
 * virtiofsd), leaving out the container's /proc, /sys and /dev (the guest
 * mounts its own), and without xattrs (file capabilities and SELinux
 * labels are lost); mkfs.erofs's output goes to log_fd. *fd: the image,
 * read-only. */
int vs_microvm_root_image(int tree_fd, const char *mnt, const char *image, int log_fd, int *fd,
			  vs_err *err);

#endif
