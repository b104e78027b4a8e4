/* What the guest needs of the container's interface (docs/microvm.md
 * "Network"): read from the container's network namespace on the host side
 * and sent to the agent as its `network` request (agent-protocol.md). */
#ifndef VESSEL_MICROVM_NETINFO_H
#define VESSEL_MICROVM_NETINFO_H

#include <json-c/json.h>
#include <sys/types.h>

#include "core/error.h"

/* In the network namespace of pid: ifname's MAC, MTU, addresses (global
 * scope: the guest makes its own link-local ones) and the routes out of it
 * (not the kernel's subnet routes, which the guest's kernel adds with the
 * addresses), as the `network` request's fields {interfaces, routes}.
 * *fields is NULL when the namespace has no ifname. */
int vs_microvm_netinfo(pid_t pid, const char *ifname, json_object **fields, vs_err *err);

#endif
