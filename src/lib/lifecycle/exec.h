/* `exec`: run another process in a live workload, as runc exec does. */
#ifndef VESSEL_LIFECYCLE_EXEC_H
#define VESSEL_LIFECYCLE_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lifecycle/backend.h"

typedef struct vs_exec_request {
	const char *process_file; /* --process: a process object as in config.json */
	char **args;		  /* or the program and its arguments (NULL terminated) */
	const char *cwd;
	char **env; /* KEY=VALUE added to (replacing in) the config's env */
	bool has_user;
	uid_t uid;
	bool has_gid;
	gid_t gid;
	bool has_additional_gids;
	gid_t *additional_gids;
	size_t n_additional_gids;
	char **caps; /* added to the bounding, effective and permitted sets */
	bool no_new_privs;
	bool tty;
	const char *console_socket;
	bool console_proxy; /* the caller takes the pty master (foreground exec -t) */
	const char *pid_file;
	int preserve_fds;
	char **cgroups;
	bool ignore_paused;
} vs_exec_request;

/* Build the process to run from the request and the workload's config
 * (runc's defaults and overrides); free with vs_exec_process_clear. */
int vs_exec_process_build(const vs_config *cfg, const vs_exec_request *req, vs_exec_process *x,
			  vs_err *err);
void vs_exec_process_clear(vs_exec_process *x);

/* The status rules (created or running; paused only with ignore_paused),
 * then the backend's exec. *pid is the process (the caller's child); with
 * console_proxy, *console_fd the pty master. Writes req->pid_file. */
int vs_container_exec(vs_container *c, const vs_exec_request *req, pid_t *pid, int *console_fd,
		      vs_err *err);

#endif
