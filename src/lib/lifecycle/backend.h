/* The seam between lifecycle and isolation: each backend (container today,
 * microVM next) implements these operations. Lifecycle code never asks which
 * backend it drives. All ops are called with the container lock held. */
#ifndef VESSEL_LIFECYCLE_BACKEND_H
#define VESSEL_LIFECYCLE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"
#include "oci/config.h"
#include "oci/state.h"

typedef struct vs_container vs_container;
struct vs_resources;
struct vs_cgroup_oom;

typedef struct vs_create_opts {
	const char *bundle;
	const char *pid_file;
	const char *console_socket;
	bool no_pivot;
	bool no_new_keyring;
	int preserve_fds;
} vs_create_opts;

typedef struct vs_backend_ops {
	const char *name;
	/* Build everything but exec the user program; fill c->state (pid, ...). */
	int (*create)(vs_container *c, const vs_config *cfg, const vs_create_opts *opts,
		      vs_err *err);
	/* Let the created workload exec its program. */
	int (*start)(vs_container *c, vs_err *err);
	/* Derive the live status from the recorded state and the host. */
	vs_status (*status)(vs_container *c);
	int (*kill)(vs_container *c, int sig, bool all, vs_err *err);
	/* Tear down what create made (processes must already be gone). */
	int (*destroy)(vs_container *c, vs_err *err);
	/* Resource control (cgroups); NULL where a backend lacks it. */
	int (*pause)(vs_container *c, vs_err *err);
	int (*resume)(vs_container *c, vs_err *err);
	/* Apply the given linux.resources to the live workload. */
	int (*update)(vs_container *c, const struct vs_resources *r, vs_err *err);
	/* runc's `events --stats` data object. */
	int (*stats)(vs_container *c, json_object **out, vs_err *err);
	/* Every pid of the workload, sorted, malloc'd. */
	int (*pids)(vs_container *c, pid_t **pids, size_t *n, vs_err *err);
	/* OOM notifications (cgroup/stats.h). */
	int (*oom_watch)(vs_container *c, struct vs_cgroup_oom **w, vs_err *err);
} vs_backend_ops;

extern const vs_backend_ops vs_container_backend;

/* Pick the backend for a config: the annotation "io.vessel.backend"
 * ("container" or "microvm") or the default, the container backend. */
const vs_backend_ops *vs_backend_for_config(const vs_config *cfg, vs_err *err);
const vs_backend_ops *vs_backend_by_name(const char *name, vs_err *err);

/* One more backend, found by its name like the built-in ones: for tests
 * (tests/unit/test_lifecycle.c drives the lifecycle through a fake). NULL
 * removes it. */
void vs_backend_register_extra(const vs_backend_ops *ops);

#endif
