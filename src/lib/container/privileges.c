/* The process's identity and limits: rlimits, uid/gid/groups, the five
 * capability sets and the executable lookup. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/internal.h"
#include "core/cleanup.h"
#include "core/log.h"
#include "core/resolve.h"

int vs_process_apply_rlimits(const vs_process *p, vs_err *err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		struct rlimit rl = { .rlim_cur = p->rlimits[i].soft,
				     .rlim_max = p->rlimits[i].hard };
		if (setrlimit(p->rlimits[i].resource, &rl) < 0)
			return vs_fail_errno(err, "process.rlimits[%zu]: setrlimit(%d, %llu, %llu)",
					     i, p->rlimits[i].resource,
					     (unsigned long long)rl.rlim_cur,
					     (unsigned long long)rl.rlim_max);
	}
	return 0;
}

static int set_caps(const vs_process *p, vs_err *err)
{
	static const cap_flag_t flags[] = { [VS_CAP_EFFECTIVE] = CAP_EFFECTIVE,
					    [VS_CAP_INHERITABLE] = CAP_INHERITABLE,
					    [VS_CAP_PERMITTED] = CAP_PERMITTED };
	cap_t caps = cap_init();
	if (!caps)
		return vs_fail_errno(err, "cap_init");
	int last = (int)cap_max_bits() - 1;
	for (int set = VS_CAP_EFFECTIVE; set <= VS_CAP_PERMITTED; set++) {
		for (int c = 0; c <= last; c++) {
			if (!(p->caps[set] & (1ULL << c)))
				continue;
			cap_value_t v = c;
			cap_set_flag(caps, flags[set], 1, &v, CAP_SET);
		}
	}
	int rc = cap_set_proc(caps);
	int e = errno;
	cap_free(caps);
	if (rc < 0)
		return vs_fail(err, e, "process.capabilities: capset");
	if (cap_reset_ambient() < 0 && errno != EINVAL)
		return vs_fail_errno(err, "process.capabilities.ambient: reset");
	/* The kernel raises an ambient cap only if it is permitted and
	 * inheritable; like runc, a cap that cannot be raised is skipped. */
	for (int c = 0; c <= last; c++)
		if ((p->caps[VS_CAP_AMBIENT] & (1ULL << c)) && cap_set_ambient(c, CAP_SET) < 0)
			vs_debug("process.capabilities.ambient: cannot raise cap %d: %s", c,
				 strerror(errno));
	return 0;
}

int vs_process_drop_privileges(const vs_process *p, vs_err *err)
{
	/* Without a capabilities object every set is empty (p->caps is zero), as
	 * in runc: absent never means "keep the runtime's full set". */
	int last = (int)cap_max_bits() - 1;
	for (int c = 0; c <= last; c++)
		if (!(p->caps[VS_CAP_BOUNDING] & (1ULL << c)) &&
		    prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return vs_fail_errno(err, "process.capabilities.bounding: drop %d", c);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return vs_fail_errno(err, "prctl(PR_SET_KEEPCAPS)");
	if (setgroups(p->n_additional_gids, p->additional_gids) < 0) {
		/* A user namespace with setgroups denied cannot drop host groups; fine unless
		 * asked. */
		if (p->n_additional_gids || errno != EPERM)
			return vs_fail_errno(err, "process.user.additionalGids: setgroups");
	}
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return vs_fail_errno(err, "process.user.gid: setgid %u", (unsigned)p->gid);
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return vs_fail_errno(err, "process.user.uid: setuid %u", (unsigned)p->uid);
	/* The kernel resets dumpable to fs.suid_dumpable on a uid change: stay
	 * closed to neighbours until execve. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return vs_fail_errno(err, "prctl(PR_SET_KEEPCAPS)");
	return set_caps(p, err);
}

/* 1: path resolves inside the root (no magic link, no escape) to an
 * executable regular file; 0: it does not exist there; -1: anything else. */
static int check_candidate(int root_fd, const char *path, vs_err *err)
{
	vs_err e = { 0 };
	vs_autoclose int fd = vs_open_in_root(root_fd, path, VS_OPEN_EXISTING, &e);
	if (fd < 0) {
		if (e.errnum == ENOENT || e.errnum == ENOTDIR)
			return 0;
		return vs_fail(err, e.errnum, "process.args[0]: \"%s\"", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return vs_fail_errno(err, "process.args[0]: stat \"%s\"", path);
	if (!S_ISREG(st.st_mode))
		return vs_fail(err, EACCES, "process.args[0]: \"%s\" is not a regular file", path);
	if (faccessat(fd, "", X_OK, AT_EMPTY_PATH) < 0)
		return vs_fail_errno(err, "process.args[0]: exec \"%s\"", path);
	return 1;
}

/* dir/name, with a relative dir taken from cwd (as execvp would see it). */
static int candidate(char *out, size_t len, const char *cwd, const char *dir, size_t dlen,
		     const char *name)
{
	int n = dlen && dir[0] == '/'
			? snprintf(out, len, "%.*s/%s", (int)dlen, dir, name)
			: snprintf(out, len, "%s/%.*s/%s", cwd, (int)dlen, dlen ? dir : ".", name);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

int vs_find_executable(const vs_process *p, int root_fd, char *out, size_t len, vs_err *err)
{
	const char *name = p->args[0];
	if (strchr(name, '/')) {
		int n = name[0] == '/' ? snprintf(out, len, "%s", name)
				       : snprintf(out, len, "%s/%s", p->cwd, name);
		if (n < 0 || (size_t)n >= len)
			return vs_fail(err, ENAMETOOLONG, "process.args[0]: \"%s\"", name);
		int r = check_candidate(root_fd, out, err);
		if (r == 0)
			return vs_fail(err, ENOENT, "process.args[0]: exec \"%s\"", name);
		return r < 0 ? -1 : 0;
	}
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (char **e = p->env; e && *e; e++)
		if (!strncmp(*e, "PATH=", 5))
			path = *e + 5;
	const char *dir = path;
	while (*dir) {
		const char *end = strchr(dir, ':');
		size_t dlen = end ? (size_t)(end - dir) : strlen(dir);
		if (candidate(out, len, p->cwd, dir, dlen, name) == 0) {
			int r = check_candidate(root_fd, out, err);
			if (r != 0)
				return r < 0 ? -1 : 0;
		}
		if (!end)
			break;
		dir = end + 1;
	}
	return vs_fail(err, 0, "process.args[0]: exec \"%s\": executable file not found in $PATH",
		       name);
}
