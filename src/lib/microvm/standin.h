/* The test-only stand-in for the VM (docs/microvm.md "The test stand-in"):
 * the container backend builds the container and its init execs
 * vessel-agent in place of the monitor, listening on a socket in the state
 * dir. Compiled only with VS_TEST_HOOKS (the ASan tree); the release binary
 * has no code that reads VESSEL_TEST_MICROVM_STANDIN. */
#ifndef VESSEL_MICROVM_STANDIN_H
#define VESSEL_MICROVM_STANDIN_H

#ifdef VS_TEST_HOOKS

#include <stdbool.h>

#include "lifecycle/backend.h"

#define VS_MICROVM_STANDIN_ENV "VESSEL_TEST_MICROVM_STANDIN"

/* The agent binary named by the variable, or NULL when the stand-in is off. */
const char *vs_microvm_standin_agent(void);

/* Create the container with the agent as its init (listening on
 * VS_MICROVM_AGENT_SOCK in the state dir). */
int vs_microvm_standin_create(vs_container *c, const vs_config *cfg, const vs_create_opts *opts,
			      const char *agent, vs_err *err);

/* The test-guest mode of the real VM path (docs/microvm.md "The real VM
 * path", tests): VESSEL_TEST_MICROVM_GUEST=DIR takes the kernel cache from
 * DIR/kernels, the initramfs cache from DIR/initramfs, the agent from
 * DIR/vessel-agent and extra kernel command-line words from DIR/cmdline (a
 * freestanding test guest reads its action there), and has create and
 * start skip the agent: the guest's debug-exit code stands in for the
 * agent's wait reply (unless DIR/with-agent exists: then the agent is
 * waited for as with a real guest). NULL when off. */
#define VS_MICROVM_TEST_GUEST_ENV "VESSEL_TEST_MICROVM_GUEST"
const char *vs_microvm_test_guest(void);
/* DIR/no-virtiofsd exists: take the erofs fallback as if no virtiofsd
 * were installed. */
bool vs_microvm_test_no_virtiofsd(void);

#endif
#endif
