/* What the guest agent reads as PID 1 before it can listen: the root
 * filesystem named on the kernel command line and the kernel modules of
 * /vessel/modules.list. Parsers only (the mounting is src/guest/agent/pid1.c),
 * so they are unit-tested on a host that cannot boot a guest. */
#ifndef VESSEL_AGENT_BOOT_H
#define VESSEL_AGENT_BOOT_H

#include <stddef.h>

#include "core/error.h"

#define VS_BOOT_MODULES_LIST "/vessel/modules.list"

enum vs_boot_root_kind { VS_ROOT_VIRTIOFS, VS_ROOT_BLK };

typedef struct vs_boot_root {
	enum vs_boot_root_kind kind;
	char source[256]; /* the virtio-fs tag, or the block device's path */
} vs_boot_root;

/* vessel.root=virtiofs:TAG or vessel.root=blk:/dev/NAME from the kernel
 * command line (the last one wins, as for the kernel's own options). */
int vs_boot_parse_cmdline(const char *cmdline, vs_boot_root *out, vs_err *err);

/* modules.list: one module path per line, relative to / (a leading '/' is
 * allowed), loaded in the order given; blank lines and '#' comments are
 * skipped. *out gets a NULL-terminated vector of absolute paths
 * (vs_strv_free). */
int vs_boot_parse_modules(const char *text, char ***out, size_t *count, vs_err *err);

/* The module's parameters from the kernel command line: the words
 * "<name>.<param>=<value>" (name from the path's basename without .ko and
 * compression suffix; '-' and '_' alike, as the kernel treats them), as
 * "param=value ..." into out. The kernel applies them only to built-in
 * code, so the agent passes them to finit_module as modprobe does
 * (virtio_mmio.device= is how vessel's devices are found). -1 when out is
 * too small. */
int vs_boot_module_params(const char *cmdline, const char *path, char *out, size_t len);

/* finit_module flags for path: MODULE_INIT_COMPRESSED_FILE for .ko.xz,
 * .ko.zst and .ko.gz (the kernel decompresses), else 0. */
int vs_boot_module_flags(const char *path);

#endif
