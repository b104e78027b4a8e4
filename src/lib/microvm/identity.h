/* The container init's own identity when it does not run the config's
 * process (the VM monitor, the test stand-in's agent): the process object
 * belongs to the guest program, which the agent sets up. */
#ifndef VESSEL_MICROVM_IDENTITY_H
#define VESSEL_MICROVM_IDENTITY_H

#include "lifecycle/backend.h"
#include "oci/config.h"

/* *m: cfg with a process that is root of the container with our permitted
 * capabilities (the monitor needs CAP_NET_ADMIN for its tap until it
 * confines itself), env as given, cwd /, nothing else of process applied
 * (no seccomp, rlimits, terminal, scheduler); oomScoreAdj is kept (it
 * bounds the whole VM). Shares every pointer with cfg: never freed. */
void vs_microvm_init_identity(const vs_config *cfg, vs_config *m, char **env);

/* The container backend's create with `instead` in place of the program,
 * under that identity, and no console of its own (the relays carry the
 * workload's stdio): the monitor's and the stand-in's container. */
int vs_microvm_create_init(vs_container *c, const vs_config *cfg, const vs_create_opts *opts,
			   vs_exec_instead *instead, char **env, vs_err *err);

#endif
