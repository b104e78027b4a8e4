/* cgroup placement for a container: detect the host layout (v1, v2, hybrid),
 * resolve linux.cgroupsPath, create the container's cgroup in every
 * hierarchy, move a pid in, signal or list every member, and remove exactly
 * the directories vessel created. Resources live in cgroup/resources.h,
 * freezing in cgroup/freeze.h, statistics and OOM events in cgroup/stats.h. */
#ifndef VESSEL_CGROUP_CGROUP_H
#define VESSEL_CGROUP_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"

typedef enum vs_cgroup_layout { VS_CGROUP_V1, VS_CGROUP_V2, VS_CGROUP_HYBRID } vs_cgroup_layout;

#define VS_CGROUP_MAX_HIER 16

/* One mounted hierarchy. */
typedef struct vs_cgroup_hier {
	char mount[256];       /* mount point */
	char root[256];	       /* the part of the hierarchy the mount shows (mountinfo field 4) */
	char controllers[256]; /* comma separated: v1 mount options ("cpu,cpuacct", "name=systemd"),
				  v2 the root's cgroup.controllers */
	char own[256];	       /* this process's cgroup in the hierarchy (/proc/self/cgroup) */
	bool v2;
} vs_cgroup_hier;

typedef struct vs_cgroup_host {
	vs_cgroup_layout layout;
	vs_cgroup_hier hier[VS_CGROUP_MAX_HIER];
	int n_hier;
} vs_cgroup_host;

/* Where a cgroup of hierarchy h (path relative to the hierarchy root, as
 * in /proc/self/cgroup) lives on disk, below h's mount point. -1 if too long. */
int vs_cgroup_hier_path(const vs_cgroup_hier *h, const char *cg_path, char *out, size_t len);

/* Read /proc/self/mountinfo (or the given file, for tests) and
 * /proc/self/cgroup. */
int vs_cgroup_detect(vs_cgroup_host *host, const char *mountinfo_path, vs_err *err);
/* Same with both files injectable: unit tests describe a fake tree in a
 * temporary directory (mount points inside it, v2 cgroup.controllers there). */
int vs_cgroup_detect_at(vs_cgroup_host *host, const char *mountinfo_path,
			const char *self_cgroup_path, vs_err *err);
const char *vs_cgroup_layout_name(vs_cgroup_layout l);

/* Whether a comma separated controller list names controller ("cpu" is in
 * "cpu,cpuacct" but not in "cpuset"). */
bool vs_cgroup_list_has(const char *list, const char *controller);

/* Where controller lives on this host: the index of its hierarchy, or -1.
 * A v1 mount wins over cgroup2 (hybrid hosts keep most controllers in v1).
 * "freezer" and "devices" are always available on cgroup2 (cgroup.freeze and
 * eBPF), and "cgroup" names the cgroup2 core files. */
int vs_cgroup_host_find(const vs_cgroup_host *host, const char *controller);

/* Resolve linux.cgroupsPath the way runc's cgroupfs driver does: absolute
 * paths are taken below each hierarchy's mount point, relative ones below
 * the runtime's own cgroup (on cgroup2, below its parent), and an empty path
 * means /vessel/<id>. ".." components are clamped (runc's CleanPath). The
 * result in out starts with '/' when absolute. */
int vs_cgroup_resolve_path(const char *cgroups_path, const char *id, char *out, size_t len,
			   vs_err *err);

/* The --systemd-cgroup form "slice:prefix:name" mapped to the cgroupfs path
 * systemd would use (/system.slice/prefix-name.scope, with "a-b.slice"
 * expanded to /a.slice/a-b.slice). vessel does not talk to systemd: the path
 * is created directly, with a warning when systemd is running. An empty
 * cgroups_path means "system.slice:vessel:<id>". */
int vs_cgroup_resolve_systemd(const char *cgroups_path, const char *id, char *out, size_t len,
			      vs_err *err);

/* True when systemd is the init system (/run/systemd/system exists). */
bool vs_cgroup_systemd_running(void);

/* A container's cgroup: the resolved path and its directory in every
 * hierarchy. Loaded from the state directory after create so later commands
 * use the same directories whatever cgroup they run in. */
typedef struct vs_cgroup_dir {
	char mount[256];
	char controllers[256];
	bool v2;
	char dir[PATH_MAX];
} vs_cgroup_dir;

typedef struct vs_cgroup {
	vs_cgroup_layout layout;
	char path[PATH_MAX]; /* as resolved: absolute ("/vessel/x") or relative */
	int n;
	vs_cgroup_dir d[VS_CGROUP_MAX_HIER];
} vs_cgroup;

/* malloc'd handle for path on host; free with vs_cgroup_free. */
vs_cgroup *vs_cgroup_open(const vs_cgroup_host *host, const char *path, vs_err *err);
void vs_cgroup_free(vs_cgroup *cg);
/* Persist to / load from a JSON file (the state directory's cgroup.json). */
int vs_cgroup_save(const vs_cgroup *cg, const char *file, vs_err *err);
vs_cgroup *vs_cgroup_load(const char *file, vs_err *err);

/* A cgroup record read back from the state directory is used only if it
 * could be one create wrote (cgroup/verify.c): path has no empty, "." or
 * ".." step and is not the root; every directory lies strictly below a
 * cgroup mount of this host, is that mount's directory for path, and
 * resolves to itself. Errors name the cgroup.json field. */
bool vs_cgroup_path_is_clean(const char *path);
int vs_cgroup_verify(const vs_cgroup *cg, const vs_cgroup_host *host, vs_err *err);
/* pid is in cg (or a cgroup below it) in every hierarchy of cg. */
int vs_cgroup_verify_member(const vs_cgroup *cg, pid_t pid, vs_err *err);

/* The directory holding controller's files for this container, NULL if the
 * host has no such controller; *v2 says which interface it speaks. */
const char *vs_cgroup_dir_of(const vs_cgroup *cg, const char *controller, bool *v2);
/* The cgroup2 directory, NULL on a pure v1 host. */
const char *vs_cgroup_v2_dir(const vs_cgroup *cg);
/* Create the container's directory in every hierarchy; the directories
 * created are appended one per line to created_list (a file in the state
 * dir) so destroy removes exactly those. On cgroup2 every controller the
 * parent offers is enabled down to the container's parent. */
int vs_cgroup_create(const vs_cgroup *cg, const char *created_list, vs_err *err);
/* Move pid into the container's cgroup in every hierarchy. */
int vs_cgroup_enter(const vs_cgroup *cg, pid_t pid, vs_err *err);

/* Every pid in the container's cgroups (all hierarchies, child cgroups
 * included), sorted, malloc'd. Processes that left the pid namespace's tree
 * are members all the same. */
int vs_cgroup_pids(const vs_cgroup *cg, pid_t **pids, size_t *n, vs_err *err);

/* Signal every member. SIGKILL is sent with the cgroup frozen (so nothing
 * forks in between) and thawed after, since a frozen v1 task ignores
 * SIGKILL until thawed. Returns the number of processes signalled. */
int vs_cgroup_signal_all(const vs_cgroup *cg, int sig, vs_err *err);

/* SIGKILL every member until the cgroups are empty (or timeout_ms). */
int vs_cgroup_kill_all_wait(const vs_cgroup *cg, int timeout_ms, vs_err *err);

/* rmdir the directories recorded in created_list, deepest first (with any
 * cgroups the workload made inside the container's). The list is read back
 * from disk: only lines that are one of cg's directories or a parent of one
 * below its mount are acted on (vs_cgroup_owns); others are skipped with a
 * warning. */
int vs_cgroup_destroy(const vs_cgroup *cg, const char *created_list, vs_err *err);
/* dir is one of cg's directories, or one of their parents strictly below
 * the hierarchy's mount point, spelled without "." or ".." steps. */
bool vs_cgroup_owns(const vs_cgroup *cg, const char *dir);

/* After vs_cgroup_destroy: a container directly under /vessel (vessel's
 * own parent, the default) removes /vessel in every hierarchy once it is
 * empty, whoever made it and whether or not its record lists it (a create
 * that died between mkdir and record, containers of older versions). A
 * parent still holding another container (EBUSY), or just made again by a
 * concurrent create (which walks again on ENOENT), stays. */
void vs_cgroup_remove_default_parent(const vs_cgroup *cg);

#endif
