/* The process setup shared by the container init and exec'd processes. */
#include "container/process_setup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container/internal.h"
#include "container/process_attrs.h"

/* Only the std fds and --preserve-fds reach the program; internal fds are
 * O_CLOEXEC already, this catches anything inherited from our caller. */
static int limit_fds(int preserve, vs_err *err)
{
	for (int fd = 3; fd < 3 + preserve; fd++) {
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0 && fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) < 0)
			return vs_fail_errno(err, "preserve fd %d", fd);
	}
	if (syscall(SYS_close_range, 3 + preserve, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return vs_fail_errno(err, "close_range");
	return 0;
}

int vs_process_setup_apply(const vs_process_setup *s, char *exe, size_t len, vs_err *err)
{
	const vs_process *p = s->p;
	bool nnp = p->no_new_privileges;
	if (fchdir(s->cwd_fd) < 0)
		return vs_fail_errno(err, "process.cwd: chdir %s", p->cwd);
	if (!s->no_lookup && vs_find_executable(p, s->root_fd, exe, len, err) < 0)
		return -1;
	if (vs_process_apply_rlimits(p, err) < 0)
		return -1;
	umask(p->has_umask ? p->umask : 022);
	if (vs_process_attrs_apply(s->attrs, err) < 0 ||
	    vs_seccomp_install(s->seccomp, nnp, false, s->sync_fd, err) < 0 ||
	    vs_process_drop_privileges(p, err) < 0)
		return -1;
	if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return vs_fail_errno(err, "prctl(PR_SET_NO_NEW_PRIVS)");
	/* cwd again as the target user: it must be able to enter it. */
	if (fchdir(s->cwd_fd) < 0)
		return vs_fail_errno(err, "process.cwd: chdir %s as uid %u", p->cwd,
				     (unsigned)p->uid);
	if (limit_fds(s->preserve_fds, err) < 0)
		return -1;
	return vs_seccomp_install(s->seccomp, nnp, true, s->sync_fd, err);
}
