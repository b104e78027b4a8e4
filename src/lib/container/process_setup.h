/* The last steps before exec that the container init and `exec` share: cwd,
 * the program looked up inside the root, rlimits, umask, process attributes,
 * seccomp, user and capabilities, no_new_privs, and the fds the program gets. */
#ifndef VESSEL_CONTAINER_PROCESS_SETUP_H
#define VESSEL_CONTAINER_PROCESS_SETUP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "oci/config.h"

struct vs_seccomp;

typedef struct vs_process_setup {
	const vs_process *p;
	const struct vs_seccomp *seccomp; /* linux.seccomp or NULL */
	const vs_process_attrs *attrs;
	int sync_fd;	  /* the runtime's end gets a seccomp notify listener */
	int preserve_fds; /* fds 3..3+N-1 reach the program */
	int root_fd;	  /* the container's root */
	int cwd_fd;	  /* process.cwd, resolved inside root_fd */
	bool no_lookup;	  /* the program is an fd (opts->instead): no args[0] lookup */
} vs_process_setup;

/* Apply everything in order; exe gets the program's path for execve. */
int vs_process_setup_apply(const vs_process_setup *s, char *exe, size_t len, vs_err *err);

#endif
