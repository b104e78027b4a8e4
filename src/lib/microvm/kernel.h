/* The guest kernel (docs/microvm.md, "Guest kernel and initramfs"): Debian's
 * cloud kernel, fetched once by `vessel vm fetch-kernel` into a cache, and
 * never implicitly; or a kernel named by an annotation or vessel's config
 * file. Cache layout, one directory per kernel version:
 *   <cache>/<version>/vmlinuz
 *   <cache>/<version>/config              the kernel's build config
 *   <cache>/<version>/modules.dep         depmod format, the kept modules
 *   <cache>/<version>/modules.builtin
 *   <cache>/<version>/kernel/...ko        the modules the agent needs */
#ifndef VESSEL_MICROVM_KERNEL_H
#define VESSEL_MICROVM_KERNEL_H

#include <json-c/json.h>
#include <limits.h>

#include "core/error.h"
#include "microvm/hostconfig.h" /* VS_CONFIG_FILE */

#define VS_KERNEL_CACHE	  "/var/cache/vessel/kernels"
#define VS_KERNEL_PACKAGE "linux-image-cloud-amd64"

typedef struct vs_guest_kernel {
	char image[PATH_MAX];	/* the kernel image */
	char modules[PATH_MAX]; /* directory with modules.dep; "" when none */
	char version[128];	/* the modules' version ("6.1.0-27-cloud-amd64"); "" when none */
} vs_guest_kernel;

/* The kernel for a create, in order: the annotation io.vessel.vm.kernel,
 * "vm.kernel" in config_file (VS_CONFIG_FILE; a missing file is fine), the
 * newest version under cache_dir (VS_KERNEL_CACHE). A named kernel's
 * modules are the cache layout's, when its directory has a modules.dep.
 * None: an error saying how to get one.
 * The annotation is the bundle author's: it may pick only a version in the
 * cache (its directory, or its vmlinuz) or the config file's kernel itself,
 * and any other value fails with one message that echoes it as given and
 * names no host path (missing and not allowed read the same). */
int vs_kernel_lookup(json_object *annotations, const char *config_file, const char *cache_dir,
		     vs_guest_kernel *out, vs_err *err);

/* Fill out from a cache directory of one version (<cache>/<version>). */
int vs_kernel_from_dir(const char *dir, vs_guest_kernel *out, vs_err *err);

/* `vessel vm fetch-kernel`: apt-get download VS_KERNEL_PACKAGE, follow the
 * metapackage to its versioned package, extract it (dpkg-deb -x) and keep
 * the image and the modules the agent needs under cache_dir/<version>, moved
 * into place with one rename. deb: a local versioned package instead of
 * apt (tests; NULL for apt). out: what is now cached. */
int vs_kernel_fetch(const char *cache_dir, const char *deb, vs_guest_kernel *out, vs_err *err);

#endif
