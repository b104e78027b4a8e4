/* A process as the OCI process object the agent takes (backend_process.c). */
#ifndef VESSEL_MICROVM_BACKEND_PROCESS_H
#define VESSEL_MICROVM_BACKEND_PROCESS_H

#include <json-c/json.h>

#include "oci/config.h"

/* backend_process.c: a process as the OCI process object the agent takes. */
json_object *vs_microvm_process_json(const vs_process *p);

#endif
