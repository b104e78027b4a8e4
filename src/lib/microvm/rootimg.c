/* The erofs fallback for the guest's root (rootimg.h). */
#include "microvm/rootimg.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "microvm/annotations.h"

int vs_microvm_root_image_max(json_object *annotations, uint64_t *out, vs_err *err)
{
	const char *s;
	*out = VS_ROOT_IMAGE_MAX_DEFAULT;
	if (vs_annotation_get(annotations, VS_ANN_VM_ROOTFS_IMAGE_MAX, &s, err) < 0)
		return -1;
	if (!s)
		return 0;
	char *end = (char *)s;
	errno = 0;
	unsigned long long v = isdigit((unsigned char)*s) ? strtoull(s, &end, 10) : 0;
	int shift = 0;
	if (v && !errno) {
		const char *u = strchr("KMGT", toupper((unsigned char)*end));
		if (*end && u) {
			shift = 10 * (int)(u - "KMGT" + 1);
			end++;
			if (!strcmp(end, "iB") || !strcmp(end, "B"))
				end += strlen(end);
		}
	}
	if (!v || errno || *end || v > (UINT64_MAX >> shift))
		return vs_fail(err, EINVAL,
			       "annotation %s: \"%s\" is not a size in bytes (a positive number, "
			       "or with K, M, G or T)",
			       VS_ANN_VM_ROOTFS_IMAGE_MAX, s);
	*out = (uint64_t)v << shift;
	return 0;
}

/* Between fork and exec: async-signal-safe calls only; exit codes say
 * which step failed. */
__attribute__((noreturn)) static void child(pid_t parent, int go_fd, int tree_fd, const char *mnt,
					    int log_fd, uint64_t max_bytes, char *const argv[])
{
	/* Nothing before the parent moved us into the container's cgroups. */
	char go;
	ssize_t n;
	do
		n = read(go_fd, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(126);
	close(go_fd);
	/* Not left running (filling the state dir) when vessel is killed. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(124);
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* Past the limit the kernel sends SIGXFSZ: it must kill, whatever
	 * disposition vessel's caller left. */
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	struct rlimit fsize = { max_bytes, max_bytes };
	if (sigaction(SIGXFSZ, &dfl, NULL) < 0 || setrlimit(RLIMIT_FSIZE, &fsize) < 0)
		_exit(125);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		_exit(120);
	if (syscall(SYS_move_mount, tree_fd, "", AT_FDCWD, mnt, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		_exit(121);
	int null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
	    dup2(log_fd, STDERR_FILENO) < 0)
		_exit(122);
	execv(argv[0], argv);
	_exit(123);
}

int vs_microvm_root_image(int tree_fd, const char *mnt, const char *image, int log_fd,
			  uint64_t max_bytes, vs_root_image_place_fn place, void *place_arg,
			  int *fd, vs_err *err)
{
	*fd = -1;
	if (access(VS_MKFS_EROFS, X_OK) < 0)
		return vs_fail_errno(err, "%s (Debian: erofs-utils)", VS_MKFS_EROFS);
	/* -x-1: no xattrs; a tree across several mounts (proc, a tmpfs)
	 * makes mkfs.erofs 1.5 fail on them (EOPNOTSUPP). */
	char *argv[] = { VS_MKFS_EROFS,		"-x-1",
			 "--exclude-path=proc", "--exclude-path=sys",
			 "--exclude-path=dev",	(char *)image,
			 (char *)mnt,		NULL };
	pid_t parent = getpid();
	int g[2];
	if (pipe2(g, O_CLOEXEC) < 0)
		return vs_fail_errno(err, "pipe");
	pid_t c = fork();
	if (c < 0) {
		close(g[0]);
		close(g[1]);
		return vs_fail_errno(err, "fork");
	}
	if (c == 0) {
		close(g[1]);
		child(parent, g[0], tree_fd, mnt, log_fd, max_bytes, argv);
	}
	close(g[0]);
	int placed = place ? place(place_arg, c, err) : 0;
	if (placed == 0 && write(g[1], "g", 1) != 1)
		placed = vs_fail_errno(err, "starting %s", VS_MKFS_EROFS);
	close(g[1]);
	if (placed < 0) {
		kill(c, SIGKILL);
		waitpid(c, NULL, 0);
		return -1;
	}
	int st = 0;
	while (waitpid(c, &st, 0) < 0)
		if (errno != EINTR)
			return vs_fail_errno(err, "waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		unlink(image);
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (WIFSIGNALED(st) && WTERMSIG(st) == SIGXFSZ)
			return vs_fail(
				err, EFBIG,
				"the guest's root image %s: larger than %llu bytes (annotation "
				"%s)",
				image, (unsigned long long)max_bytes, VS_ANN_VM_ROOTFS_IMAGE_MAX);
		const char *why = code == 124	? "vessel exited"
				  : code == 125 ? "limiting its size (setrlimit)"
				  : code == 126 ? "waiting to be placed in the container's cgroups"
				  : code == 120 ? "a private mount namespace"
				  : code == 121 ? "move_mount of the container's root"
				  : code == 122 ? "redirecting stdio"
				  : code == 123 ? "exec"
						: "mkfs.erofs failed (its log is in the state dir)";
		return vs_fail(err, 0, "the guest's root image %s: %s (status %d)", image, why,
			       code);
	}
	if ((*fd = open(image, O_RDONLY | O_CLOEXEC)) < 0)
		return vs_fail_errno(err, "open %s", image);
	return 0;
}
