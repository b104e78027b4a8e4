/* The container's terminal: pty creation inside the container and the
 * console-socket handoff (runc's protocol, which podman and containerd use). */
#include "container/terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "container/sync.h"
#include "core/cleanup.h"
#include "core/resolve.h"
#include "core/unixsock.h"

/* The container's /dev/ptmx (normally a link to pts/ptmx, its own devpts
 * instance), resolved inside the root: an image cannot point it at a host
 * fd through /proc/self/fd. */
static int open_ptmx(int root_fd, vs_err *err)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	vs_autoclose int pfd = (int)syscall(SYS_openat2, root_fd, "dev/ptmx", &how, sizeof(how));
	if (pfd < 0)
		return vs_fail_errno(err, "process.terminal: open /dev/ptmx in the container "
					  "(is devpts mounted at /dev/pts?)");
	/* Only the pty multiplexer (5:2) is opened: the image's /dev may hold
	 * any device node, and the device cgroup is not on yet. */
	int fd =
		vs_reopen_checked(pfd, O_RDWR | O_NOCTTY, S_IFCHR, makedev(5, 2), "/dev/ptmx", err);
	return fd < 0 ? vs_err_wrap(err, "process.terminal") : fd;
}

/* /dev/console shows the slave: a bind of the pts file itself (open_tree on
 * its fd), onto a file resolved inside the root. */
static int bind_console(int root_fd, int slave, vs_err *err)
{
	vs_autoclose int dest = vs_open_in_root(root_fd, "/dev/console", VS_CREATE_FILE, err);
	if (dest < 0)
		return vs_err_wrap(err, "process.terminal: /dev/console");
	vs_autoclose int tree = (int)syscall(SYS_open_tree, slave, "",
					     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return vs_fail_errno(err, "process.terminal: clone the pts mount");
	if (syscall(SYS_move_mount, tree, "", dest, "",
		    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return vs_fail_errno(err, "process.terminal: bind the pts onto /dev/console");
	return 0;
}

int vs_terminal_setup(int root_fd, const vs_process *p, int sync_fd, bool console, vs_err *err)
{
	vs_autoclose int master = open_ptmx(root_fd, err);
	if (master < 0)
		return -1;
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return vs_fail_errno(err, "process.terminal: unlock the pty");
	if (p->has_console_size) {
		struct winsize ws = { .ws_row = p->console_height, .ws_col = p->console_width };
		if (ioctl(master, TIOCSWINSZ, &ws) < 0)
			return vs_fail_errno(err, "process.consoleSize: TIOCSWINSZ");
	}
	/* The peer from the master itself: no path lookup of /dev/pts/N. */
	vs_autoclose int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return vs_fail_errno(err, "process.terminal: open the pty slave");
	if (console && bind_console(root_fd, slave, err) < 0)
		return -1;
	if (vs_sync_send(sync_fd, VS_SYNC_CONSOLE_FD, NULL) < 0 ||
	    vs_sync_send_fd(sync_fd, master) < 0)
		return vs_fail_errno(err, "process.terminal: send the pty master to the runtime");
	/* The program starts only once the runtime holds the master and, for
	 * a foreground relay, has sized the pty like its own terminal. */
	vs_sync_msg m;
	if (vs_sync_recv(sync_fd, &m, err) < 0)
		return -1;
	if (m.type != VS_SYNC_CONSOLE_DONE)
		return vs_fail(err, 0, "process.terminal: unexpected sync message %d", m.type);
	if (setsid() < 0 && errno != EPERM)
		return vs_fail_errno(err, "process.terminal: setsid");
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return vs_fail_errno(err, "process.terminal: pty slave as fd %d", fd);
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		return vs_fail_errno(err, "process.terminal: TIOCSCTTY");
	return 0;
}

int vs_console_handoff(int sync_sock, const char *console_socket, int *keep, bool has_size,
		       vs_err *err)
{
	int fd;
	if (vs_sync_recv_fd(sync_sock, &fd, err) < 0)
		return -1;
	int rc = 0;
	if (!console_socket && keep) {
		/* A foreground relay: the pty starts as big as our terminal
		 * (unless process.consoleSize set it). */
		struct winsize ws;
		if (!has_size && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row)
			ioctl(fd, TIOCSWINSZ, &ws);
		if (*keep >= 0)
			close(*keep);
		*keep = fd;
	} else {
		rc = console_socket ? vs_console_socket_send(console_socket, fd, err)
				    : vs_fail(err, 0, "process.terminal: no --console-socket");
		close(fd);
	}
	if (rc == 0 && vs_sync_send(sync_sock, VS_SYNC_CONSOLE_DONE, NULL) < 0)
		rc = vs_fail_errno(err, "process.terminal: sync with the container");
	return rc;
}
