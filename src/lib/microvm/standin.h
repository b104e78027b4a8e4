/* The test-only stand-in for the VM (docs/microvm.md "The test stand-in"):
 * the container backend builds the container and its init execs
 * vessel-agent in place of the monitor, listening on a socket in the state
 * dir. Compiled only with VS_TEST_HOOKS (the ASan tree); the release binary
 * has no code that reads VESSEL_TEST_MICROVM_STANDIN. */
#ifndef VESSEL_MICROVM_STANDIN_H
#define VESSEL_MICROVM_STANDIN_H

#ifdef VS_TEST_HOOKS

#include "lifecycle/backend.h"

#define VS_MICROVM_STANDIN_ENV "VESSEL_TEST_MICROVM_STANDIN"

/* The agent binary named by the variable, or NULL when the stand-in is off. */
const char *vs_microvm_standin_agent(void);

/* Create the container with the agent as its init (listening on
 * VS_MICROVM_AGENT_SOCK in the state dir). */
int vs_microvm_standin_create(vs_container *c, const vs_config *cfg, const vs_create_opts *opts,
			      const char *agent, vs_err *err);

#endif
#endif
