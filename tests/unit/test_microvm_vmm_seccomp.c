/* microvm/vmm_seccomp.c, as an attacker inside the monitor would meet it:
 * each child installs the filter and then tries one thing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "microvm/vmm_seccomp.h"

typedef int (*attempt)(void);

/* The child's wait status after it confined itself and ran fn; fn's value
 * is its exit code. */
static int confined(attempt fn, bool seccomp)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		vs_err err = { 0 };
		if ((seccomp ? vs_vmm_confine(&err) : vs_vmm_drop_capabilities(&err)) < 0)
			_exit(100);
		_exit(fn()); /* _exit: no atexit handlers (LeakSanitizer forks) */
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void expect_killed(attempt fn)
{
	int st = confined(fn, true);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

static void expect_exit(attempt fn, int code, bool seccomp)
{
	int st = confined(fn, seccomp);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), code);
}

static int inet_socket(void)
{
	return socket(AF_INET, SOCK_STREAM, 0) < 0 ? 1 : 2;
}

static int inet6_socket(void)
{
	return socket(AF_INET6, SOCK_DGRAM, 0) < 0 ? 1 : 2;
}

static int netlink_socket(void)
{
	return socket(AF_NETLINK, SOCK_RAW, 0) < 0 ? 1 : 2;
}

/* socketpair is allowed for AF_UNIX only (the microvm monitor's agent
 * connection): any other family is a kill, not an error. */
static int inet_socketpair(void)
{
	int sv[2];
	return socketpair(AF_INET, SOCK_STREAM, 0, sv) < 0 ? 1 : 2;
}

static int run_program(void)
{
	char *argv[] = { "/bin/true", NULL };
	execve(argv[0], argv, NULL);
	return 3;
}

static int do_fork(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	return 4;
}

static int open_file(void)
{
	return open("/etc/hostname", O_RDONLY) < 0 ? 1 : 5;
}

static int null_fd = -1; /* opened before the filter, as the monitor's fds are */

static int ioctl_create_vm(void)
{
	return ioctl(null_fd, KVM_CREATE_VM, 0) < 0 ? 1 : 6;
}

static int ioctl_tun(void)
{
	return ioctl(null_fd, TUNSETIFF, NULL) < 0 ? 1 : 7;
}

/* A request the filter allows, on a fd that does not take it: ENOTTY. */
static int ioctl_allowed(void)
{
	struct termios t;
	return ioctl(null_fd, TCGETS, &t) < 0 && errno == ENOTTY ? 0 : 8;
}

static void *thread_fn(void *arg)
{
	uint64_t one = 1;
	return write(*(int *)arg, &one, sizeof(one)) == sizeof(one) ? NULL : (void *)1;
}

/* What the monitor does: threads, AF_UNIX sockets, eventfd-style I/O. */
static int monitor_work(void)
{
	int efd = eventfd(0, EFD_CLOEXEC);
	if (efd < 0)
		return 10;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 11;
	close(s);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 15;
	close(sv[0]);
	close(sv[1]);
	pthread_t t;
	void *ret;
	if (pthread_create(&t, NULL, thread_fn, &efd) != 0 || pthread_join(t, &ret) != 0 || ret)
		return 12;
	uint64_t n;
	if (read(efd, &n, sizeof(n)) != sizeof(n) || n != 1)
		return 13;
	/* unlink is refused with an error, not a kill (destroy's cleanup). */
	if (unlink("/nonexistent-vessel-test") == 0 || errno != EPERM)
		return 14;
	return 0;
}

static int caps_gone(void)
{
	cap_t c = cap_get_proc();
	cap_t none = cap_init();
	int same = c && none && cap_compare(c, none) == 0;
	cap_free(c);
	cap_free(none);
	if (!same)
		return 20;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 21;
	/* Root (the tests' usual case) also loses the bounding set. */
	if (geteuid() == 0 && prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0)
		return 22;
	return 0;
}

static void test_forbidden_calls_kill(void **state)
{
	(void)state;
	expect_killed(inet_socket);
	expect_killed(inet6_socket);
	expect_killed(netlink_socket);
	expect_killed(inet_socketpair);
	expect_killed(run_program);
	expect_killed(do_fork);
	expect_killed(open_file);
	expect_killed(ioctl_create_vm);
	expect_killed(ioctl_tun);
}

static void test_monitor_work_allowed(void **state)
{
	(void)state;
	expect_exit(monitor_work, 0, true);
	expect_exit(ioctl_allowed, 0, true);
}

static void test_capabilities_dropped(void **state)
{
	(void)state;
	expect_exit(caps_gone, 0, false);
}

int main(void)
{
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(null_fd >= 0);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forbidden_calls_kill),
		cmocka_unit_test(test_monitor_work_allowed),
		cmocka_unit_test(test_capabilities_dropped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
