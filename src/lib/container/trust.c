/* Whether a container's records may be acted on: the cgroup state.json and
 * cgroup.json name is one create could have resolved, both agree, and the
 * live init is in it. Anything else was written by someone else. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "container/internal.h"
#include "core/fs.h"
#include "core/proc.h"
#include "lifecycle/container.h"

static int verify_records(vs_container *c, vs_cgroup *cg, vs_err *err)
{
	const char *path = c->state.cgroup_path;
	if (!path)
		return vs_fail(err, 0, "state.json: cgroupPath: missing, but cgroup.json exists");
	if (!vs_cgroup_path_is_clean(path))
		return vs_fail(err, 0,
			       "state.json: cgroupPath: \"%s\" is not a resolved cgroup path",
			       path);
	if (strcmp(cg->path, path))
		return vs_fail(err, 0, "state.json: cgroupPath: \"%s\" is not cgroup.json's \"%s\"",
			       path, cg->path);
	vs_cgroup_host host;
	if (vs_cgroup_detect(&host, NULL, err) < 0 || vs_cgroup_verify(cg, &host, err) < 0)
		return -1;
	/* Records that agree can still both be rewritten: the init we verified
	 * by its start time must be in that cgroup. Not while create (which
	 * holds the lock) is still moving it there. */
	bool settled = c->lock_fd >= 0 || c->state.status != VS_STATUS_CREATING;
	if (settled && vs_proc_alive(c->state.pid, c->state.start_time) &&
	    vs_cgroup_verify_member(cg, c->state.pid, err) < 0)
		return vs_err_wrap(err, "state.json: cgroupPath: \"%s\"", path);
	return 0;
}

int vs_container_verify(vs_container *c, vs_err *err)
{
	/* Unlocked readers can see create half way (cgroup.json written, the
	 * state not yet): nothing acts on a creating container's cgroup then. */
	if (c->lock_fd < 0 && c->state.status == VS_STATUS_CREATING)
		return 0;
	char file[PATH_MAX];
	if (vs_path_join(file, sizeof(file), c->dir, VS_CGROUP_FILE, err) < 0)
		return -1;
	if (access(file, F_OK) < 0) {
		if (errno != ENOENT)
			return vs_fail_errno(err, "%s", file);
		/* A create that failed before resolving its cgroup records neither. */
		if (c->state.cgroup_path)
			return vs_fail(err, 0,
				       "cgroup.json: missing, but state.json has cgroupPath");
		return 0;
	}
	vs_cgroup *cg = vs_cgroup_load(file, err);
	if (!cg)
		return -1;
	int rc = verify_records(c, cg, err);
	vs_cgroup_free(cg);
	return rc;
}
