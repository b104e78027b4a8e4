/* The process `exec` builds from the container's config and the request:
 * runc's defaults and overrides, and --process files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lifecycle/exec.h"

#define CONFIG                                                                                     \
	"{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/\"},\"process\":{"                        \
	"\"args\":[\"sh\"],\"cwd\":\"/srv\",\"env\":[\"PATH=/bin\",\"A=1\"],"                      \
	"\"user\":{\"uid\":5,\"gid\":6,\"umask\":18,\"additionalGids\":[7]},"                      \
	"\"capabilities\":{\"bounding\":[\"CAP_KILL\"],\"effective\":[\"CAP_KILL\"],"              \
	"\"permitted\":[\"CAP_KILL\"],\"inheritable\":[\"CAP_KILL\"]},"                            \
	"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":20}],"                      \
	"\"noNewPrivileges\":false,\"oomScoreAdj\":100}}"

static vs_config *config(void)
{
	vs_config *c = NULL;
	vs_err err = { 0 };
	if (vs_config_parse(CONFIG, "/", &c, &err) < 0)
		print_error("%s\n", err.msg);
	assert_non_null(c);
	return c;
}

static void defaults_come_from_the_config(void **state)
{
	(void)state;
	vs_config *c = config();
	char *args[] = { "ls", "-l", NULL };
	vs_exec_request r = { .args = args };
	vs_exec_process x;
	vs_err err = { 0 };
	assert_int_equal(vs_exec_process_build(c, &r, &x, &err), 0);
	assert_string_equal(x.process.args[0], "ls");
	assert_string_equal(x.process.args[1], "-l");
	assert_string_equal(x.process.cwd, "/srv");
	assert_string_equal(x.process.env[1], "A=1");
	assert_int_equal(x.process.uid, 5);
	assert_int_equal(x.process.gid, 6);
	assert_int_equal(x.process.umask, 18);
	assert_int_equal(x.process.n_additional_gids, 1);
	assert_int_equal(x.process.n_rlimits, 1);
	assert_int_equal(x.process.oom_score_adj, 100);
	assert_false(x.process.terminal);
	vs_exec_process_clear(&x);
	vs_config_free(c);
}

static void overrides_replace_and_add(void **state)
{
	(void)state;
	vs_config *c = config();
	char *args[] = { "id", NULL };
	char *env[] = { "A=2", "B=3", NULL };
	char *caps[] = { "CAP_NET_ADMIN", NULL };
	gid_t gids[] = { 8, 9 };
	vs_exec_request r = { .args = args,
			      .cwd = "/tmp",
			      .env = env,
			      .has_user = true,
			      .uid = 1000,
			      .caps = caps,
			      .has_additional_gids = true,
			      .additional_gids = gids,
			      .n_additional_gids = 2,
			      .no_new_privs = true,
			      .tty = true };
	vs_exec_process x;
	vs_err err = { 0 };
	assert_int_equal(vs_exec_process_build(c, &r, &x, &err), 0);
	assert_string_equal(x.process.cwd, "/tmp");
	/* A replaced in place (runc keeps the last value), B appended. */
	assert_string_equal(x.process.env[0], "PATH=/bin");
	assert_string_equal(x.process.env[1], "A=2");
	assert_string_equal(x.process.env[2], "B=3");
	assert_null(x.process.env[3]);
	assert_int_equal(x.process.uid, 1000);
	assert_int_equal(x.process.gid, 6); /* --user without :GID keeps the gid */
	assert_int_equal(x.process.n_additional_gids, 2);
	assert_int_equal(x.process.additional_gids[1], 9);
	uint64_t kill = 1ULL << 5, net_admin = 1ULL << 12;
	assert_int_equal(x.process.caps[VS_CAP_BOUNDING], kill | net_admin);
	assert_int_equal(x.process.caps[VS_CAP_EFFECTIVE], kill | net_admin);
	assert_int_equal(x.process.caps[VS_CAP_PERMITTED], kill | net_admin);
	assert_int_equal(x.process.caps[VS_CAP_INHERITABLE], kill); /* --cap leaves it */
	/* ambient gets it because the config has inheritable caps (runc's rule) */
	assert_int_equal(x.process.caps[VS_CAP_AMBIENT], net_admin);
	assert_true(x.process.no_new_privileges);
	assert_true(x.process.terminal);
	vs_exec_process_clear(&x);
	vs_config_free(c);
}

static void expect_build_error(vs_exec_request *r, const char *fragment)
{
	vs_config *c = config();
	vs_exec_process x;
	vs_err err = { 0 };
	assert_int_equal(vs_exec_process_build(c, r, &x, &err), -1);
	if (!strstr(err.msg, fragment))
		print_error("message \"%s\" lacks \"%s\"\n", err.msg, fragment);
	assert_non_null(strstr(err.msg, fragment));
	vs_config_free(c);
}

static void bad_requests_are_refused(void **state)
{
	(void)state;
	char *none[] = { NULL };
	char *args[] = { "true", NULL };
	char *env[] = { "NOEQUALS", NULL };
	char *caps[] = { "CAP_BOGUS", NULL };
	expect_build_error(&(vs_exec_request){ .args = none }, "a program to run");
	expect_build_error(&(vs_exec_request){ .args = args, .cwd = "rel" }, "--cwd");
	expect_build_error(&(vs_exec_request){ .args = args, .env = env }, "--env");
	expect_build_error(&(vs_exec_request){ .args = args, .caps = caps }, "CAP_BOGUS");
}

static char *write_tmp(const char *text)
{
	static char path[] = "/tmp/vessel-exec-process-XXXXXX";
	strcpy(path, "/tmp/vessel-exec-process-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void process_file_falls_back_for_caps_and_rlimits(void **state)
{
	(void)state;
	vs_config *c = config();
	char *f = write_tmp("{\"args\":[\"top\"],\"cwd\":\"/\",\"user\":{\"uid\":1,\"gid\":2}}");
	vs_exec_request r = { .process_file = f };
	vs_exec_process x;
	vs_err err = { 0 };
	assert_int_equal(vs_exec_process_build(c, &r, &x, &err), 0);
	assert_string_equal(x.process.args[0], "top");
	assert_null(x.process.env); /* taken whole: no env from the config */
	assert_int_equal(x.process.uid, 1);
	assert_int_equal(x.process.caps[VS_CAP_BOUNDING], 1ULL << 5);
	assert_int_equal(x.process.n_rlimits, 1);
	vs_exec_process_clear(&x);
	unlink(f);
	vs_config_free(c);
}

static void process_file_errors_name_file_and_key(void **state)
{
	(void)state;
	char *f = write_tmp("{\"args\":[\"x\"],\"cwd\":\"relative\"}");
	char want[128];
	snprintf(want, sizeof(want), "%s: process.cwd", f);
	expect_build_error(&(vs_exec_request){ .process_file = f }, want);
	unlink(f);
	f = write_tmp("{\"args\":[\"x\"],\"cwd\":\"/\",\"selinuxLabel\":\"l\"}");
	expect_build_error(&(vs_exec_request){ .process_file = f }, "selinuxLabel");
	unlink(f);
	f = write_tmp("[1");
	expect_build_error(&(vs_exec_request){ .process_file = f }, "invalid JSON");
	unlink(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_come_from_the_config),
		cmocka_unit_test(overrides_replace_and_add),
		cmocka_unit_test(bad_requests_are_refused),
		cmocka_unit_test(process_file_falls_back_for_caps_and_rlimits),
		cmocka_unit_test(process_file_errors_name_file_and_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
