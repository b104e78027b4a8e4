/* The erofs fallback for the guest's root (rootimg.h). */
#include "microvm/rootimg.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Between fork and exec: async-signal-safe calls only; exit codes say
 * which step failed. */
__attribute__((noreturn)) static void child(int tree_fd, const char *mnt, int log_fd,
					    char *const argv[])
{
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
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

int vs_microvm_root_image(int tree_fd, const char *mnt, const char *image, int log_fd, int *fd,
			  vs_err *err)
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
	pid_t c = fork();
	if (c < 0)
		return vs_fail_errno(err, "fork");
	if (c == 0)
		child(tree_fd, mnt, log_fd, argv);
	int st = 0;
	while (waitpid(c, &st, 0) < 0)
		if (errno != EINTR)
			return vs_fail_errno(err, "waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		unlink(image);
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		const char *why = code == 120	? "a private mount namespace"
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
