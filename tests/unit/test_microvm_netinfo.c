/* The container interface as the agent's network request (netinfo.h): in a
 * private network namespace with an eth0 (a veth: no dummy module everywhere), its MAC, MTU,
 * address and routes; the kernel's subnet route and link-local addresses are left out; no eth0
 * gives no fields. Needs root (skipped otherwise, saying why). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "microvm/netinfo.h"

static int in_netns(int (*fn)(void))
{
	pid_t c = fork();
	if (c == 0)
		_exit(unshare(CLONE_NEWNET) < 0 ? 99 : fn());
	int st;
	waitpid(c, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 98;
}

static int with_eth0(void)
{
	if (system("ip link add eth0 type veth peer name vpeer0 && ip link set vpeer0 up && ip "
		   "link set eth0 address 02:11:22:33:44:55 mtu "
		   "1400 up && ip addr add 10.77.0.2/24 dev eth0 && ip addr add fd77::2/64 dev "
		   "eth0 "
		   "nodad && ip route add default via 10.77.0.1 && ip route add 10.88.0.0/16 via "
		   "10.77.0.3") != 0)
		return 97;
	json_object *f;
	vs_err err = { 0 };
	if (vs_microvm_netinfo(getpid(), "eth0", &f, &err) < 0 || !f)
		return 1;
	const char *s = json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN);
	fprintf(stderr, "%s\n", s);
	int rc = 0;
	if (!strstr(s, "\"mac\":\"02:11:22:33:44:55\"") || !strstr(s, "\"mtu\":1400"))
		rc = 2;
	else if (!strstr(s, "\"10.77.0.2\\/24\"") || !strstr(s, "\"fd77::2\\/64\""))
		rc = 3;
	else if (strstr(s, "fe80"))
		rc = 4; /* link-local: the guest makes its own */
	else if (!strstr(s, "{\"dst\":\"default\",\"gateway\":\"10.77.0.1\",\"dev\":\"eth0\"}") ||
		 !strstr(s,
			 "{\"dst\":\"10.88.0.0\\/16\",\"gateway\":\"10.77.0.3\",\"dev\":\"eth0\"}"))
		rc = 5;
	else if (strstr(s, "\"10.77.0.0\\/24\""))
		rc = 6; /* the kernel's subnet route */
	json_object_put(f);
	return rc;
}

static int only_lo(void)
{
	json_object *f = (json_object *)1;
	vs_err err = { 0 };
	if (vs_microvm_netinfo(getpid(), "eth0", &f, &err) < 0)
		return 1;
	return f == NULL ? 0 : 2;
}

static void test_eth0(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(in_netns(with_eth0), 0);
}

static void test_no_eth0(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(in_netns(only_lo), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eth0),
		cmocka_unit_test(test_no_eth0),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
