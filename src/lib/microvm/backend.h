/* The microvm backend (docs/microvm.md): the container backend builds the
 * container, whose init carries on as the VM monitor; the workload runs in
 * the guest under vessel-agent, which the host side drives over the agent
 * protocol. Test trees (VS_TEST_HOOKS) can run the agent itself in place of
 * the VM (standin.h). */
#ifndef VESSEL_MICROVM_BACKEND_H
#define VESSEL_MICROVM_BACKEND_H

#include "agent/client.h"
#include "lifecycle/backend.h"

extern const vs_backend_ops vs_microvm_backend;

/* The agent the guest's initramfs is built around (`make install`). */
#define VS_AGENT_PATH "/usr/local/libexec/vessel/vessel-agent"

/* State-dir names: the stand-in agent's listener, the VM's hybrid vsock
 * socket. Both outside anything shared with the workload. */
#define VS_MICROVM_AGENT_SOCK "agent.sock"
#define VS_MICROVM_VSOCK_SOCK "vsock.sock"

/* A control connection to the container's agent (hello done). */
int vs_microvm_agent_open(vs_container *c, vs_agent_client *ac, vs_err *err);
/* A fresh connection to the agent (before hello or a stdio frame). */
int vs_microvm_agent_dial(vs_container *c, int *fd, vs_err *err);

/* backend_exec.c: a host-side relay for one guest process, created
 * (type "create") or exec'd ("exec") through it; *pid is the relay, the
 * caller's child. */
typedef struct vs_microvm_relay {
	const char *type;	    /* "create" or "exec" */
	const char *id;		    /* process id, or NULL: a fresh one */
	json_object *process;	    /* the OCI process object, borrowed */
	const char *hostname;	    /* may be NULL */
	bool terminal;		    /* one "pty" stream on a host pty */
	unsigned short rows, cols;  /* the pty's size, 0: the caller's terminal's */
	const char *console_socket; /* the pty master goes there, */
	int *console_fd;	    /* or back to the caller (may be NULL) */
	bool wait;		    /* exit with the program's exit code */
} vs_microvm_relay;
int vs_microvm_relay_spawn(vs_container *c, const vs_microvm_relay *spec, pid_t *pid, vs_err *err);

/* The exec op. */
int vs_microvm_exec(vs_container *c, const vs_config *cfg, const vs_exec_process *x, pid_t *pid,
		    vs_err *err);

/* backend_process.c: a process as the OCI process object the agent takes. */
json_object *vs_microvm_process_json(const vs_process *p);

#endif
