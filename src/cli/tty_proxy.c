/* A foreground terminal (`run` or `exec -t` without --console-socket): our
 * stdin goes to the pty master, its output to our stdout, our terminal in
 * raw mode meanwhile (restored however we leave) and its size followed on
 * SIGWINCH, until the process exits. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"

static void copy_size(int master)
{
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
}

static bool write_all(int fd, const char *buf, ssize_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, (size_t)n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		buf += w;
		n -= w;
	}
	return true;
}

/* Copy what the master has; false once it is closed (EIO: no slave left). */
static bool pump(int from, int to)
{
	char buf[8192];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	return write_all(to, buf, n);
}

static void drain(int master)
{
	int fl = fcntl(master, F_GETFL);
	fcntl(master, F_SETFL, fl | O_NONBLOCK);
	char buf[8192];
	ssize_t n;
	while ((n = read(master, buf, sizeof(buf))) > 0)
		if (!write_all(STDOUT_FILENO, buf, n))
			break;
}

int cli_tty_proxy(int master, pid_t pid)
{
	struct termios saved;
	bool raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
		copy_size(master);
	}
	sigset_t winch, old;
	sigemptyset(&winch);
	sigaddset(&winch, SIGWINCH);
	sigprocmask(SIG_BLOCK, &winch, &old);
	int sfd = signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p[4] = { { .fd = master, .events = POLLIN },
			       { .fd = pidfd, .events = POLLIN },
			       { .fd = sfd, .events = POLLIN },
			       { .fd = STDIN_FILENO, .events = POLLIN } };
	for (;;) {
		int r = poll(p, 4, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (p[0].revents && !pump(master, STDOUT_FILENO))
			break;
		if (p[1].revents) {
			drain(master);
			break;
		}
		if (p[2].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
			copy_size(master);
		}
		/* Our stdin at EOF (or gone): stop reading it, keep the output. */
		if (p[3].revents && !pump(STDIN_FILENO, master))
			p[3].fd = -1;
	}
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (sfd >= 0)
		close(sfd);
	if (pidfd >= 0)
		close(pidfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}
