/* `exec` in the container backend: the runtime side (exec.c) forks a child
 * in the container's pid namespace; the child (exec_child.c) joins the other
 * namespaces and becomes the program. */
#ifndef VESSEL_CONTAINER_EXEC_H
#define VESSEL_CONTAINER_EXEC_H

#include "lifecycle/backend.h"

typedef struct vs_exec_ctx {
	const vs_config *cfg;
	const vs_exec_process *x;
	int sync_fd;		 /* child end of the sync socket */
	int ns_fds[VS_NS_COUNT]; /* the init's namespaces to join, -1 where shared with us */
	int lock_fd;		 /* the container lock (closed first) */
	char **env;		 /* the process's env plus HOME, or NULL: as is */
	int root_fd;		 /* the init's root (/proc/PID/root) when it shares our
				  * mount namespace (it chroot'ed), else -1 */
} vs_exec_ctx;

/* The exec'd process: never returns. */
__attribute__((noreturn)) void vs_exec_child(vs_exec_ctx *ctx);

/* exec_cgroup.c: move pid into the container's cgroup in every hierarchy, or
 * into the sub-cgroups runc's --cgroup forms name ("SUB" everywhere,
 * "CTRL[,CTRL]:SUB" in those controllers' hierarchies). */
struct vs_cgroup;
int vs_exec_cgroup_enter(const struct vs_cgroup *cg, char *const *forms, pid_t pid, vs_err *err);

#endif
