/* cgroup placement for a container: detect the host layout (v1, v2, hybrid),
 * create the container's cgroup in every hierarchy, move a pid in, signal
 * every member, and remove exactly the directories vessel created. */
#ifndef VESSEL_CGROUP_CGROUP_H
#define VESSEL_CGROUP_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/error.h"

typedef enum vs_cgroup_layout { VS_CGROUP_V1, VS_CGROUP_V2, VS_CGROUP_HYBRID } vs_cgroup_layout;

#define VS_CGROUP_MAX_HIER 16

/* One mounted hierarchy: mount point and, for v1, its controllers ("cpu,cpuacct"). */
typedef struct vs_cgroup_hier {
	char mount[256];
	char controllers[128];
	bool v2;
} vs_cgroup_hier;

typedef struct vs_cgroup_host {
	vs_cgroup_layout layout;
	vs_cgroup_hier hier[VS_CGROUP_MAX_HIER];
	int n_hier;
} vs_cgroup_host;

/* Read /proc/self/mountinfo (or the given file, for tests). */
int vs_cgroup_detect(vs_cgroup_host *host, const char *mountinfo_path, vs_err *err);
const char *vs_cgroup_layout_name(vs_cgroup_layout l);

/* Resolve linux.cgroupsPath the way runc does: absolute paths are used as
 * given, relative ones go under our parent, empty means /vessel/<id>. */
int vs_cgroup_resolve_path(const char *cgroups_path, const char *id, char *out, size_t len, vs_err *err);

/* Create the path in every hierarchy; the directories created are appended
 * one per line to created_list (a file in the state dir) so destroy removes
 * exactly those. */
int vs_cgroup_create(const vs_cgroup_host *host, const char *path, const char *created_list, vs_err *err);
int vs_cgroup_enter(const vs_cgroup_host *host, const char *path, pid_t pid, vs_err *err);

/* Signal every process in the cgroup (all hierarchies are equivalent here;
 * uses the first one that lists members). Returns the number signalled. */
int vs_cgroup_signal_all(const vs_cgroup_host *host, const char *path, int sig, vs_err *err);

/* rmdir the directories recorded in created_list, deepest first. */
int vs_cgroup_destroy(const char *created_list, vs_err *err);

#endif
