/* Which backend runs a workload (docs/microvm.md, "Selection"). */
#ifndef VESSEL_MICROVM_SELECT_H
#define VESSEL_MICROVM_SELECT_H

#include <json-c/json.h>
#include <stdbool.h>

#include "core/error.h"

/* The name vessel is invoked by to make every workload a microVM. */
#define VS_MICROVM_ARGV0 "vessel-vm"

/* *backend: "container" or "microvm", from the config's annotations and
 * whether vessel runs as vessel-vm (vm_default). In order:
 *   1. a Kubernetes sandbox (pause) container is a container, always;
 *   2. io.vessel.backend, when given, decides: its value as it is (the
 *      backend registry, lifecycle/backend.c, refuses names it lacks),
 *      except that under vm_default "container" is refused (EPERM) unless
 *      config_file (VS_CONFIG_FILE; missing or NULL: not allowed) has
 *      {"vm": {"allow-container": true}};
 *   3. vm_default: microvm; else container. */
int vs_backend_select(json_object *annotations, bool vm_default, const char *config_file,
		      const char **backend, vs_err *err);

/* Whether argv0's basename is VS_MICROVM_ARGV0. */
bool vs_invoked_as_vm(const char *argv0);

#endif
