/* How the host side reaches a microvm workload's agent: the stand-in's
 * plain socket, or the VM's hybrid vsock socket, both in the container's
 * state directory (docs/microvm.md "Host-side sockets"). */
#ifndef VESSEL_MICROVM_AGENT_LINK_H
#define VESSEL_MICROVM_AGENT_LINK_H

#include "agent/client.h"
#include "lifecycle/container.h"

/* State-dir names: the stand-in agent's listener, the VM's hybrid vsock
 * socket. Both outside anything shared with the workload. */
#define VS_MICROVM_AGENT_SOCK "agent.sock"
#define VS_MICROVM_VSOCK_SOCK "vsock.sock"

/* A control connection to the container's agent (hello done). */
int vs_microvm_agent_open(vs_container *c, vs_agent_client *ac, vs_err *err);
/* A fresh connection to the agent (before hello or a stdio frame). */
int vs_microvm_agent_dial(vs_container *c, int *fd, vs_err *err);

#endif
