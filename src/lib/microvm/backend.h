/* The microvm backend: the workload's program runs in a KVM microVM inside
 * its container (docs/microvm.md). */
#ifndef VESSEL_MICROVM_BACKEND_H
#define VESSEL_MICROVM_BACKEND_H

#include "lifecycle/backend.h"

extern const vs_backend_ops vs_microvm_backend;

#endif
