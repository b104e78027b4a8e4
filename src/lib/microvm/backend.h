/* The microvm backend (docs/microvm.md): the container backend builds the
 * container, whose init carries on as the VM monitor; the workload runs in
 * the guest under vessel-agent, which the host side drives over the agent
 * protocol. Test trees (VS_TEST_HOOKS) can run the agent itself in place of
 * the VM (standin.h). */
#ifndef VESSEL_MICROVM_BACKEND_H
#define VESSEL_MICROVM_BACKEND_H

#include "lifecycle/backend.h"
#include "microvm/agent_link.h"
#include "microvm/backend_exec.h"
#include "microvm/backend_process.h"

extern const vs_backend_ops vs_microvm_backend;

/* The agent the guest's initramfs is built around (`make install`). */
#define VS_AGENT_PATH "/usr/local/libexec/vessel/vessel-agent"

#endif
