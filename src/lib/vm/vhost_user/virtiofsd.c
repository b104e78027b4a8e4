/* virtiofsd launcher; see virtiofsd.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "vm/vhost_user/virtiofsd.h"

/* The fd virtiofsd is given its listening socket on (--fd). */
#define VS_VIRTIOFSD_FD 3

/* A listening socket with our own connection queued on it; nothing left
 * in the file system. */
static int socket_pair(int *listen_fd, int *conn, vs_err *err)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s/vessel-vfs-XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
	    (int)sizeof(dir))
		return vs_fail(err, ENAMETOOLONG, "virtiofsd socket directory");
	if (!mkdtemp(dir))
		return vs_fail_errno(err, "virtiofsd socket directory %s", dir);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", dir);
	int l = -1, c = -1, rc = -1;
	if (n < 0 || n >= (int)sizeof(sa.sun_path)) {
		vs_fail(err, ENAMETOOLONG, "virtiofsd socket in %s", dir);
		goto out;
	}
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || c < 0) {
		vs_fail_errno(err, "virtiofsd: socket");
		goto out;
	}
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0) {
		vs_fail_errno(err, "virtiofsd: listen on %s", sa.sun_path);
		goto out;
	}
	if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		vs_fail_errno(err, "virtiofsd: connect to %s", sa.sun_path);
		goto out;
	}
	*listen_fd = l;
	*conn = c;
	l = c = -1;
	rc = 0;
out:
	unlink(sa.sun_path);
	rmdir(dir);
	if (l >= 0)
		close(l);
	if (c >= 0)
		close(c);
	return rc;
}

/* What the child tells the parent when it fails before exec. */
struct child_report {
	int err;
	char what[64];
};

/* Between fork and exec only async-signal-safe calls: vs_vm_create may run
 * in a threaded program. Everything formatted is prepared by the parent. */
struct child_args {
	pid_t parent;
	int pipe_fd, listen_fd;
	const char *bin, *dir;
	bool readonly;
	int tree_fd; /* vs_virtiofsd_start_tree: moved onto dir; -1 else */
	int log_fd;  /* and its stdout/stderr */
	int go_fd;   /* tree child: one byte once placed, before exec; -1 else */
	char *argv[10];
};

__attribute__((noreturn)) static void child_fail(int pipe_fd, const char *what)
{
	struct child_report r = { .err = errno };
	size_t n = strlen(what);
	memcpy(r.what, what, n < sizeof(r.what) - 1 ? n : sizeof(r.what) - 1);
	if (write(pipe_fd, &r, sizeof(r)) < 0) {
		/* nothing more to do */
	}
	_exit(127);
}

/* The container's /proc, /sys and /dev are its kernel interfaces, not
 * its files: virtiofsd runs as host root with CAP_DAC_OVERRIDE, so a guest
 * reading them through the share would see and write what the container
 * itself may not (the erofs image leaves them out as well). Each is
 * detached with everything below it, again while something is stacked
 * there; never following a symlink (it would resolve in the host's tree). */
static void hide_kernel_trees(const struct child_args *a)
{
	static const char *const names[] = { "/proc", "/sys", "/dev" };
	size_t dl = strlen(a->dir);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[PATH_MAX + 8];
		size_t nl = strlen(names[i]);
		if (dl + nl >= sizeof(path)) {
			errno = ENAMETOOLONG;
			child_fail(a->pipe_fd, "unmounting the tree's /proc, /sys, /dev");
		}
		memcpy(path, a->dir, dl);
		memcpy(path + dl, names[i], nl + 1);
		while (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
			;
		if (errno != EINVAL && errno != ENOENT)
			child_fail(a->pipe_fd, "unmounting the tree's /proc, /sys, /dev");
	}
}

/* The tree's own namespace: the tree moved onto dir, seen by no one else. */
__attribute__((noreturn)) static void tree_child(const struct child_args *a)
{
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* Nothing before the parent moved us into the container's cgroups:
	 * virtiofsd's own children are then there as well. */
	char go;
	ssize_t n;
	do
		n = read(a->go_fd, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(127); /* the parent failed to place us, or died */
	close(a->go_fd);
	if (setsid() < 0)
		child_fail(a->pipe_fd, "setsid");
	if (unshare(CLONE_NEWNS) < 0)
		child_fail(a->pipe_fd, "unshare(CLONE_NEWNS)");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail(a->pipe_fd, "making mounts private");
	if (syscall(SYS_move_mount, a->tree_fd, "", AT_FDCWD, a->dir, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		child_fail(a->pipe_fd, "move_mount of the container's root");
	close(a->tree_fd);
	hide_kernel_trees(a);
	int null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(a->log_fd, STDOUT_FILENO) < 0 ||
	    dup2(a->log_fd, STDERR_FILENO) < 0)
		child_fail(a->pipe_fd, "redirecting stdio");
	if (fcntl(a->listen_fd, F_SETFD, 0) < 0)
		child_fail(a->pipe_fd, "fcntl");
	execv(a->bin, a->argv);
	child_fail(a->pipe_fd, "exec");
}

__attribute__((noreturn)) static void child(const struct child_args *a)
{
	if (a->tree_fd >= 0)
		tree_child(a);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail(a->pipe_fd, "prctl(PR_SET_PDEATHSIG)");
	if (getppid() != a->parent)
		_exit(127); /* vessel died before the death signal was set */
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* Its own process group: Ctrl-C on vessel's terminal stops the VM
	 * (which then stops virtiofsd), rather than killing the backend under
	 * a running guest. */
	if (setpgid(0, 0) < 0)
		child_fail(a->pipe_fd, "setpgid");
	if (a->readonly) {
		if (unshare(CLONE_NEWNS) < 0)
			child_fail(a->pipe_fd, "unshare(CLONE_NEWNS)");
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			child_fail(a->pipe_fd, "making mounts private");
		if (mount(a->dir, a->dir, NULL, MS_BIND | MS_REC, NULL) < 0)
			child_fail(a->pipe_fd, "bind-mounting the shared directory");
		/* Recursive: a mount below DIR (a volume) must not stay writable. */
		struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
		if (syscall(SYS_mount_setattr, AT_FDCWD, a->dir, AT_RECURSIVE, &ro, sizeof(ro)) < 0)
			child_fail(a->pipe_fd,
				   "making the shared directory read-only (mount_setattr)");
	}
	/* virtiofsd inherits stdout and stderr (its messages), /dev/null as
	 * stdin and the listening socket as VS_VIRTIOFSD_FD; nothing else of
	 * vessel's caller, CLOEXEC or not. The pipe first goes above that fd
	 * (it closes on exec), then every fd from there up is marked to close
	 * on exec. */
	int pipe_fd = a->pipe_fd;
	if (pipe_fd <= VS_VIRTIOFSD_FD &&
	    (pipe_fd = fcntl(pipe_fd, F_DUPFD_CLOEXEC, VS_VIRTIOFSD_FD + 1)) < 0)
		child_fail(a->pipe_fd, "fcntl(F_DUPFD_CLOEXEC)");
	if (a->listen_fd == VS_VIRTIOFSD_FD ? fcntl(VS_VIRTIOFSD_FD, F_SETFD, 0) < 0
					    : dup2(a->listen_fd, VS_VIRTIOFSD_FD) < 0)
		child_fail(pipe_fd, "dup2 of the listening socket");
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0)
		child_fail(pipe_fd, "open /dev/null");
	if (null == STDIN_FILENO ? fcntl(null, F_SETFD, 0) < 0 : dup2(null, STDIN_FILENO) < 0)
		child_fail(pipe_fd, "dup2 of /dev/null");
	if (syscall(SYS_close_range, VS_VIRTIOFSD_FD + 1, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		child_fail(pipe_fd, "close_range");
	execv(a->bin, a->argv);
	child_fail(pipe_fd, "exec");
}

int vs_virtiofsd_start(vs_virtiofsd *v, const char *bin, const char *dir, bool readonly, int *conn,
		       vs_err *err)
{
	v->pid = 0;
	*conn = -1;
	if (!bin)
		bin = VS_VIRTIOFSD_PATH;
	if (access(bin, X_OK) < 0)
		return vs_fail_errno(err, "--fs: virtiofsd %s (Debian: qemu-system-common)", bin);
	struct stat st;
	if (stat(dir, &st) < 0)
		return vs_fail_errno(err, "--fs: shared directory %s", dir);
	if (!S_ISDIR(st.st_mode))
		return vs_fail(err, ENOTDIR, "--fs: shared directory %s", dir);
	char real[PATH_MAX];
	if (!realpath(dir, real))
		return vs_fail_errno(err, "--fs: shared directory %s", dir);
	/* virtiofsd's -o parser splits at commas and takes backslashes as
	 * escapes: such a path would name another directory. */
	if (strpbrk(real, ",\\"))
		return vs_fail(err, EINVAL,
			       "--fs: shared directory %s: a comma or backslash in the path cannot "
			       "be passed to virtiofsd",
			       real);
	int lfd = -1, p[2];
	if (socket_pair(&lfd, conn, err) < 0)
		return -1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		vs_fail_errno(err, "virtiofsd: pipe");
		goto fail;
	}
	char fdarg[32], src[PATH_MAX + 16];
	snprintf(fdarg, sizeof(fdarg), "--fd=%d", VS_VIRTIOFSD_FD);
	snprintf(src, sizeof(src), "source=%s", real);
	struct child_args a = {
		.parent = getpid(),
		.pipe_fd = p[1],
		.listen_fd = lfd,
		.bin = bin,
		.dir = real,
		.readonly = readonly,
		.tree_fd = -1,
		.go_fd = -1,
		.argv = { (char *)bin, fdarg, "-o", src, "-o", "log_level=warn", NULL },
	};
	pid_t pid = fork();
	if (pid < 0) {
		vs_fail_errno(err, "virtiofsd: fork");
		close(p[0]);
		close(p[1]);
		goto fail;
	}
	if (pid == 0) {
		close(p[0]);
		child(&a);
	}
	close(p[1]);
	close(lfd);
	lfd = -1;
	v->pid = pid;
	/* The pipe closes on exec; a message means the child failed first. */
	struct child_report r = { 0 };
	ssize_t n;
	do
		n = read(p[0], &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n > 0) {
		r.what[sizeof(r.what) - 1] = '\0';
		vs_fail(err, r.err, "--fs: starting %s: %s", bin, r.what);
		goto fail;
	}
	vs_debug("virtiofsd: pid %d sharing %s%s", (int)pid, real, readonly ? " read-only" : "");
	return 0;
fail:
	if (lfd >= 0)
		close(lfd);
	close(*conn);
	*conn = -1;
	vs_virtiofsd_stop(v);
	return -1;
}

/* The child's report: 0 once it exec'd (the pipe closed empty). */
static int child_result(int rfd, const char *bin, vs_err *err)
{
	struct child_report r = { 0 };
	ssize_t n;
	do
		n = read(rfd, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	close(rfd);
	if (n <= 0)
		return 0;
	r.what[sizeof(r.what) - 1] = '\0';
	return vs_fail(err, r.err, "starting %s: %s", bin, r.what);
}

int vs_virtiofsd_start_tree(const char *bin, int tree_fd, const char *mnt, int log_fd,
			    vs_virtiofsd_place_fn place, void *place_arg, pid_t *pid, int *conn,
			    vs_err *err)
{
	*pid = 0;
	*conn = -1;
	if (!bin)
		bin = VS_VIRTIOFSD_PATH;
	if (access(bin, X_OK) < 0)
		return vs_fail_errno(err, "virtiofsd %s (Debian: qemu-system-common)", bin);
	if (strpbrk(mnt, ",\\"))
		return vs_fail(err, EINVAL, "virtiofsd: a comma or backslash in %s", mnt);
	int lfd = -1, p[2], g[2];
	if (socket_pair(&lfd, conn, err) < 0)
		return -1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		vs_fail_errno(err, "virtiofsd: pipe");
		close(lfd);
		close(*conn);
		*conn = -1;
		return -1;
	}
	if (pipe2(g, O_CLOEXEC) < 0) {
		vs_fail_errno(err, "virtiofsd: pipe");
		close(p[0]);
		close(p[1]);
		close(lfd);
		close(*conn);
		*conn = -1;
		return -1;
	}
	char fdarg[32], src[PATH_MAX + 16];
	snprintf(fdarg, sizeof(fdarg), "--fd=%d", lfd);
	snprintf(src, sizeof(src), "source=%s", mnt);
	struct child_args a = {
		.parent = getpid(),
		.pipe_fd = p[1],
		.listen_fd = lfd,
		.bin = bin,
		.dir = mnt,
		.tree_fd = tree_fd,
		.log_fd = log_fd,
		.go_fd = g[0],
		.argv = { (char *)bin, fdarg, "-o", src, "-o", "sandbox=namespace", "-o",
			  "log_level=warn", NULL },
	};
	pid_t c = fork();
	if (c == 0) {
		close(p[0]);
		close(g[1]);
		child(&a);
	}
	close(p[1]);
	close(g[0]);
	close(lfd);
	if (c < 0) {
		close(p[0]);
		close(g[1]);
		close(*conn);
		*conn = -1;
		return vs_fail_errno(err, "virtiofsd: fork");
	}
	int placed = place ? place(place_arg, c, err) : 0;
	if (placed == 0 && write(g[1], "g", 1) != 1)
		placed = vs_fail_errno(err, "virtiofsd: starting it");
	close(g[1]);
	if (placed < 0) {
		kill(c, SIGKILL);
		waitpid(c, NULL, 0);
		close(p[0]);
		close(*conn);
		*conn = -1;
		return -1;
	}
	if (child_result(p[0], bin, err) < 0) {
		waitpid(c, NULL, 0);
		close(*conn);
		*conn = -1;
		return -1;
	}
	*pid = c;
	vs_debug("virtiofsd: pid %d serving a container's root on %s", (int)c, mnt);
	return 0;
}

/* Reap pid within ms milliseconds; true when it is gone. */
static bool reap(pid_t pid, int ms, int *status)
{
	for (int i = 0; i <= ms; i += 10) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return true;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return false;
}

static void describe(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
}

void vs_virtiofsd_reap_now(vs_virtiofsd *v, char *buf, size_t len)
{
	int status = 0;
	if (v->pid <= 0) {
		snprintf(buf, len, "not started by vessel");
		return;
	}
	if (!reap(v->pid, 500, &status)) {
		snprintf(buf, len, "still running");
		return;
	}
	describe(status, buf, len);
	v->pid = 0;
}

void vs_virtiofsd_stop(vs_virtiofsd *v)
{
	if (v->pid <= 0)
		return;
	int status = 0;
	/* Closing the connection is what ends it; kill only when it is slow.
	 * A confined monitor may not signal it (EPERM, vmm_seccomp.h): then
	 * its death signal ends it when the monitor exits, and nothing here
	 * waits without a deadline. */
	if (!reap(v->pid, 2000, &status)) {
		if (kill(v->pid, SIGTERM) < 0 || !reap(v->pid, 1000, &status)) {
			if (kill(v->pid, SIGKILL) < 0 || !reap(v->pid, 2000, &status)) {
				vs_warn("virtiofsd %d: still running; it ends with vessel",
					(int)v->pid);
				v->pid = 0;
				return;
			}
		}
	}
	char how[64];
	describe(status, how, sizeof(how));
	vs_debug("virtiofsd %d: %s", (int)v->pid, how);
	v->pid = 0;
}
