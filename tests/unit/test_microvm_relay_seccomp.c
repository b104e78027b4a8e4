/* microvm/relay_seccomp.c, as an attacker who took over a relay would meet
 * it: each child drops its capabilities, loads the filter, then tries one
 * thing; and what the relay itself does still works. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "microvm/relay_seccomp.h"
#include "microvm/vmm_seccomp.h"

typedef int (*attempt)(void);

/* fn's value as the confined child's exit code (100: confining failed). */
static int confined(attempt fn)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		vs_err err = { 0 };
		if (vs_vmm_drop_capabilities(&err) < 0 || vs_relay_seccomp_apply(&err) < 0)
			_exit(100);
		_exit(fn()); /* _exit: no atexit handlers (LeakSanitizer forks) */
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* 0 when the call failed with EPERM, 1 when it got through, 2 otherwise. */
static int refused(long r)
{
	return r >= 0 ? 1 : errno == EPERM ? 0 : 2;
}

static int try_open(void)
{
	return refused(open("/etc/passwd", O_RDONLY | O_CLOEXEC));
}

static int try_creat(void)
{
	return refused(open("/tmp/vessel-relay-seccomp", O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
}

static int try_socket(void)
{
	return refused(socket(AF_UNIX, SOCK_STREAM, 0));
}

static int try_kill(void)
{
	return refused(kill(getppid(), 0));
}

static int try_exec(void)
{
	char *argv[] = { "/bin/true", NULL };
	return refused(execve("/bin/true", argv, NULL));
}

static int try_fork(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	return refused(p);
}

static int try_other_ioctl(void)
{
	int n;
	return refused(ioctl(0, FIONREAD, &n));
}

static void test_relay_filter_refuses_what_a_relay_never_does(void **state)
{
	(void)state;
	attempt tries[] = { try_open, try_creat, try_socket,	 try_kill,
			    try_exec, try_fork,	 try_other_ioctl };
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++)
		assert_int_equal(confined(tries[i]), 0);
	unlink("/tmp/vessel-relay-seccomp");
}

/* What a relay does, on a socketpair made before the filter: poll,
 * recv/send, read/write, TIOCGWINSZ (ENOTTY on a socket: let through, not
 * refused), malloc, shutdown, close. */
static int sv_fd[2];

static int relay_io(void)
{
	char b[4];
	if (send(sv_fd[0], "ping", 4, MSG_NOSIGNAL) != 4)
		return 11;
	struct pollfd p = { .fd = sv_fd[1], .events = POLLIN };
	if (poll(&p, 1, 1000) != 1)
		return 12;
	if (recv(sv_fd[1], b, 4, MSG_DONTWAIT) != 4 || memcmp(b, "ping", 4))
		return 13;
	if (write(sv_fd[1], "pong", 4) != 4 || read(sv_fd[0], b, 4) != 4)
		return 14;
	struct winsize ws;
	if (ioctl(sv_fd[0], TIOCGWINSZ, &ws) == 0 || errno != ENOTTY)
		return 15;
	void *m = malloc(1 << 20);
	if (!m)
		return 16;
	free(m);
	if (shutdown(sv_fd[0], SHUT_WR) < 0 || close(sv_fd[0]) < 0)
		return 17;
	return 0;
}

static void test_relay_filter_lets_the_relay_work(void **state)
{
	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv_fd), 0);
	assert_int_equal(confined(relay_io), 0);
	close(sv_fd[0]);
	close(sv_fd[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay_filter_refuses_what_a_relay_never_does),
		cmocka_unit_test(test_relay_filter_lets_the_relay_work),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
