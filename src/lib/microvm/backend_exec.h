/* The microvm backend's host-side relays (backend_exec.c) and its exec op. */
#ifndef VESSEL_MICROVM_BACKEND_EXEC_H
#define VESSEL_MICROVM_BACKEND_EXEC_H

#include <stdbool.h>
#include <sys/types.h>

#include "lifecycle/backend.h"

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

#endif
