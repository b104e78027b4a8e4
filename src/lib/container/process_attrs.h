/* The container init's side of oci/process_attrs.h. */
#ifndef VESSEL_CONTAINER_PROCESS_ATTRS_H
#define VESSEL_CONTAINER_PROCESS_ATTRS_H

#include "core/error.h"
#include "oci/process_attrs.h"

/* Apply the personality, memory policy, I/O priority and scheduler to the
 * calling process; they survive execve. Call before privileges are dropped:
 * realtime policies and IOPRIO_CLASS_RT need CAP_SYS_NICE. */
int vs_process_attrs_apply(const vs_process_attrs *a, vs_err *err);

#endif
