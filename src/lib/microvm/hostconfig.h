/* vessel's host configuration file (docs/microvm.md, "Selection" and "Guest
 * kernel and initramfs"):
 * the host administrator's, never a bundle's. Its "vm" object:
 *   "kernel": PATH            the guest kernel (kernel.c)
 *   "allow-container": BOOL   whether vessel-vm may run a workload as a
 *                             container when its annotation asks (select.c) */
#ifndef VESSEL_MICROVM_HOSTCONFIG_H
#define VESSEL_MICROVM_HOSTCONFIG_H

#include <json-c/json.h>

#include "core/error.h"

#define VS_CONFIG_FILE "/etc/vessel/config.json"

/* Parse file: *doc is the document (json_object_put it; NULL when the file
 * is missing or file is NULL), *vm its "vm" object, borrowed from *doc (NULL
 * when unset). A file that is not a JSON object, or whose "vm" is not an
 * object, is an error naming it. */
int vs_host_config_vm(const char *file, json_object **doc, json_object **vm, vs_err *err);

#endif
