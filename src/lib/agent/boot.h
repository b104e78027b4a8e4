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

#endif
