/* microvm/vmm_seccomp.c's jail and its kill/tgkill rules, as an attacker
 * inside a confined monitor running as root would try them: each child
 * confines itself (vs_vmm_confine_opts) and then tries one thing; its exit
 * code says what happened. Needs root (skipped otherwise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "microvm/vmm_seccomp.h"
#include "vm/vhost_user/virtiofsd.h"

static char top[64], jail_dir[96], outside[128], tmpdir[96];
static int outside_fd = -1, inside_fd = -1, abstract_fd = -1;
static struct sockaddr_un abstract_sa;
static pid_t sibling, other; /* other: the one signal_pid names */

typedef int (*attempt)(void);

static int listen_at(const struct sockaddr_un *sa, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (const struct sockaddr *)sa, len), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

static int listen_path(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = listen_at(&sa, sizeof(sa));
	assert_int_equal(chmod(path, 0600), 0); /* root's, like containerd.sock */
	return fd;
}

static pid_t start_sibling(void)
{
	pid_t p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* gone with a failed test too */
		for (;;)
			pause();
	}
	return p;
}

static bool alive(pid_t p)
{
	int st;
	return waitpid(p, &st, WNOHANG) == 0;
}

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	strcpy(top, "/tmp/vessel-jail-test-XXXXXX");
	assert_non_null(mkdtemp(top));
	snprintf(jail_dir, sizeof(jail_dir), "%s/jail", top);
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", top);
	snprintf(outside, sizeof(outside), "%s/outside.sock", top);
	assert_int_equal(mkdir(jail_dir, 0700), 0);
	assert_int_equal(mkdir(tmpdir, 0700), 0);
	outside_fd = listen_path(outside);
	char inside[160];
	snprintf(inside, sizeof(inside), "%s/v.sock_5", jail_dir);
	inside_fd = listen_path(inside);
	abstract_sa.sun_family = AF_UNIX;
	int n = snprintf(abstract_sa.sun_path + 1, sizeof(abstract_sa.sun_path) - 1,
			 "vessel-jail-test-%d", (int)getpid());
	abstract_fd = listen_at(
		&abstract_sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n));
	sibling = start_sibling();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	/* Killed even when a test failed half-way: no process is left. */
	for (pid_t *p = (pid_t[]){ sibling, other }, *end = p + 2; p < end; p++)
		if (*p > 0) {
			kill(*p, SIGKILL);
			waitpid(*p, NULL, 0);
		}
	close(outside_fd);
	close(inside_fd);
	close(abstract_fd);
	char p[160];
	snprintf(p, sizeof(p), "%s/v.sock_5", jail_dir);
	unlink(p);
	unlink(outside);
	rmdir(jail_dir);
	rmdir(tmpdir);
	rmdir(top);
	return 0;
}

/* The child's wait status after it confined itself with o and ran fn. */
static int confined(const vs_vmm_confinement *o, attempt fn)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		vs_err err = { 0 };
		if ((o ? vs_vmm_confine_opts(o, &err) : vs_vmm_confine(&err)) < 0)
			_exit(100);
		_exit(fn()); /* _exit: no atexit handlers (LeakSanitizer forks) */
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void expect_exit(const vs_vmm_confinement *o, attempt fn, int code)
{
	int st = confined(o, fn);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), code);
}

static int try_connect(const struct sockaddr_un *sa, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -2;
	int rc = connect(fd, (const struct sockaddr *)sa, len);
	int e = errno;
	close(fd);
	return rc == 0 ? 0 : e;
}

static int connect_path(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -3;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	return try_connect(&sa, sizeof(sa));
}

/* 0: refused as it must be; 1: reached the socket outside the jail. */
static int connect_outside(void)
{
	return connect_path(outside) == 0 ? 1 : 0;
}

/* 0: the vsock's PATH_<port>, named from the jail's root, is reached. */
static int connect_inside(void)
{
	return connect_path("/v.sock_5") == 0 ? 0 : 2;
}

static int connect_inside_by_host_path(void)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/v.sock_5", jail_dir);
	return connect_path(p) == 0 ? 3 : 0;
}

static int connect_abstract(void)
{
	size_t len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(abstract_sa.sun_path + 1);
	return try_connect(&abstract_sa, (socklen_t)len) == 0 ? 4 : 0;
}

/* 0: kill(sibling) refused with EPERM. */
static int kill_sibling(void)
{
	if (kill(sibling, SIGKILL) == 0)
		return 5;
	return errno == EPERM ? 0 : 6;
}

static int kill_sibling_works(void)
{
	return kill(sibling, 0) == 0 ? 0 : 7;
}

/* Killed (SIGSYS) by the filter: another process's thread group. */
static int tgkill_sibling(void)
{
	syscall(SYS_tgkill, sibling, sibling, SIGKILL);
	return 8;
}

static int tkill_sibling(void)
{
	syscall(SYS_tkill, sibling, SIGKILL);
	return 9;
}

/* Its own threads still: raise() is tgkill(own tgid, own tid). */
static int tgkill_self(void)
{
	signal(SIGUSR1, SIG_IGN);
	return raise(SIGUSR1) == 0 ? 0 : 10;
}

static void test_jail_in_vsock_dir(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	vs_vmm_confinement o = { .jail = true, .root = jail_dir };
	expect_exit(&o, connect_outside, 0);
	expect_exit(&o, connect_inside, 0);
	expect_exit(&o, connect_inside_by_host_path, 0);
	expect_exit(&o, connect_abstract, 0);
	/* Unjailed, each of those reaches its socket: the test can fail. */
	vs_vmm_confinement none = { 0 };
	expect_exit(&none, connect_outside, 1);
	expect_exit(&none, connect_abstract, 4);
}

static void test_empty_jail(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	setenv("TMPDIR", tmpdir, 1);
	vs_vmm_confinement o = { .jail = true };
	expect_exit(&o, connect_outside, 0);
	expect_exit(&o, connect_inside, 2);
	expect_exit(&o, connect_abstract, 0);
	unsetenv("TMPDIR");
	/* The empty directory was removed once entered. */
	DIR *d = opendir(tmpdir);
	assert_non_null(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	assert_int_equal(n, 0);
}

static void test_jail_root_refused(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	vs_vmm_confinement o = { .jail = true, .root = "/" };
	expect_exit(&o, connect_inside, 100);
	vs_vmm_confinement missing = { .jail = true, .root = "/nonexistent-vessel-jail" };
	expect_exit(&missing, connect_inside, 100);
}

static void test_kill_only_signal_pid(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	vs_vmm_confinement o = { 0 };
	expect_exit(&o, kill_sibling, 0);
	assert_true(alive(sibling));
	expect_exit(NULL, kill_sibling, 0); /* vs_vmm_confine: nobody either */
	assert_true(alive(sibling));
	other = start_sibling();
	vs_vmm_confinement just_other = { .signal_pid = other };
	expect_exit(&just_other, kill_sibling, 0);
	assert_true(alive(sibling));
	vs_vmm_confinement just_sibling = { .signal_pid = sibling };
	expect_exit(&just_sibling, kill_sibling_works, 0);
}

static void expect_killed(attempt fn)
{
	vs_vmm_confinement o = { 0 };
	int st = confined(&o, fn);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

static void test_tgkill_own_threads_only(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	expect_killed(tgkill_sibling);
	expect_killed(tkill_sibling);
	assert_true(alive(sibling));
	vs_vmm_confinement o = { 0 };
	expect_exit(&o, tgkill_self, 0);
}

/* A virtiofsd that ignores the closed connection, under a monitor that
 * may not signal it: vs_virtiofsd_stop gives up (no wait without end) and
 * the death signal ends it when the monitor exits. */
static void test_virtiofsd_stop_confined_does_not_hang(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	pid_t monitor = fork();
	assert_true(monitor >= 0);
	if (monitor == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* gone if the hang guard fires */
		close(p[0]);
		pid_t daemon = fork();
		if (daemon == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
		if (write(p[1], &daemon, sizeof(daemon)) != sizeof(daemon))
			_exit(101);
		vs_err err = { 0 };
		if (vs_vmm_confine(&err) < 0)
			_exit(100);
		vs_virtiofsd v = { .pid = daemon };
		vs_virtiofsd_stop(&v);
		_exit(v.pid == 0 ? 0 : 102);
	}
	close(p[1]);
	pid_t daemon = 0;
	assert_int_equal(read(p[0], &daemon, sizeof(daemon)), sizeof(daemon));
	close(p[0]);
	alarm(60); /* a hang guard: the old stop blocked in waitpid for ever */
	int st;
	assert_int_equal(waitpid(monitor, &st, 0), monitor);
	alarm(0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* The death signal took the daemon with the monitor (reparented to
	 * us, the subreaper). */
	assert_int_equal(waitpid(daemon, &st, 0), daemon);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	prctl(PR_SET_CHILD_SUBREAPER, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jail_in_vsock_dir),
		cmocka_unit_test(test_empty_jail),
		cmocka_unit_test(test_jail_root_refused),
		cmocka_unit_test(test_kill_only_signal_pid),
		cmocka_unit_test(test_tgkill_own_threads_only),
		cmocka_unit_test(test_virtiofsd_stop_confined_does_not_hang),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
