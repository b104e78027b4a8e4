/* Records not written by create: oci/state.c's pid/startTime rules,
 * cgroup/verify.c's path and directory rules, core/proc.c's pidfd signal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "core/fs.h"
#include "core/proc.h"
#include "oci/state.h"

/* Load a state.json with the given pid/startTime members; returns the
 * reason it is not believed ("" when it is). */
static const char *load_with(const char *dir, const char *members, vs_state *st)
{
	char p[PATH_MAX], doc[512];
	snprintf(p, sizeof(p), "%s/state.json", dir);
	int n = snprintf(doc, sizeof(doc), "{\"id\":\"x\",\"bundle\":\"/b\"%s%s}",
			 members[0] ? "," : "", members);
	vs_err err = { 0 };
	assert_int_equal(vs_write_file(p, doc, (size_t)n, 0600, &err), 0);
	assert_int_equal(vs_state_load(dir, st, &err), 0);
	return st->untrusted;
}

static void test_pid_rules(void **state)
{
	(void)state;
	char dir[] = "/tmp/vessel-unit-trust.XXXXXX";
	assert_non_null(mkdtemp(dir));
	vs_state st;
	assert_string_equal(load_with(dir, "\"pid\":42,\"startTime\":7", &st), "");
	assert_int_equal(st.pid, 42);
	vs_state_clear(&st);
	/* No process yet (create before clone) is fine. */
	assert_string_equal(load_with(dir, "\"pid\":0,\"startTime\":0", &st), "");
	vs_state_clear(&st);
	assert_string_equal(load_with(dir, "", &st), "");
	vs_state_clear(&st);
	static const struct {
		const char *members, *field;
	} bad[] = {
		{ "\"pid\":42", "startTime: missing" },
		{ "\"pid\":42,\"startTime\":0", "startTime: not a positive" },
		{ "\"pid\":42,\"startTime\":-3", "startTime: not a positive" },
		{ "\"pid\":42,\"startTime\":\"7\"", "startTime: not an integer" },
		{ "\"pid\":\"42\",\"startTime\":7", "pid: not an integer" },
		{ "\"pid\":42.0,\"startTime\":7", "pid: not an integer" },
		{ "\"pid\":-42,\"startTime\":7", "pid: -42" },
		{ "\"pid\":4294967338,\"startTime\":7", "pid: 4294967338" },
		{ "\"pid\":42,\"startTime\":7,\"cgroupPath\":5", "cgroupPath: not a string" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = load_with(dir, bad[i].members, &st);
		if (!strstr(why, bad[i].field))
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].members, why, bad[i].field);
		/* A record not believed names no process at all. */
		assert_int_equal(st.pid, 0);
		vs_state_clear(&st);
	}
	vs_err err = { 0 };
	assert_int_equal(vs_remove_tree(dir, &err), 0);
}

static void test_clean_paths(void **state)
{
	(void)state;
	assert_true(vs_cgroup_path_is_clean("/vessel/x"));
	assert_true(vs_cgroup_path_is_clean("a/b"));
	static const char *const bad[] = { "/",	       "",   "/vessel/../x", "/vessel/./x", "/a//b",
					   "/vessel/", "..", "a/..",	     NULL };
	for (int i = 0; bad[i]; i++)
		if (vs_cgroup_path_is_clean(bad[i]))
			fail_msg("\"%s\" passed as clean", bad[i]);
	assert_false(vs_cgroup_path_is_clean(NULL));
}

/* A fake host with one v1 hierarchy mounted at a temporary directory. */
static void test_verify_dirs(void **state)
{
	(void)state;
	char mnt[] = "/tmp/vessel-unit-cgmnt.XXXXXX", sub[PATH_MAX], link[PATH_MAX];
	assert_non_null(mkdtemp(mnt));
	snprintf(sub, sizeof(sub), "%s/vessel", mnt);
	assert_int_equal(mkdir(sub, 0755), 0);
	vs_cgroup_host host = { .layout = VS_CGROUP_V1, .n_hier = 1 };
	snprintf(host.hier[0].mount, sizeof(host.hier[0].mount), "%s", mnt);
	snprintf(host.hier[0].root, sizeof(host.hier[0].root), "/");
	snprintf(host.hier[0].own, sizeof(host.hier[0].own), "/");
	snprintf(host.hier[0].controllers, sizeof(host.hier[0].controllers), "freezer");
	vs_err err = { 0 };
	vs_cgroup *cg = vs_cgroup_open(&host, "/vessel/x", &err);
	assert_non_null(cg);
	assert_int_equal(vs_cgroup_verify(cg, &host, &err), 0);
	/* Another cgroup's directory for the same path. */
	snprintf(cg->d[0].dir, sizeof(cg->d[0].dir), "%s/other/x", mnt);
	assert_int_equal(vs_cgroup_verify(cg, &host, &err), -1);
	assert_non_null(strstr(err.msg, "hierarchies[0].dir"));
	/* A symlink on the way. */
	snprintf(link, sizeof(link), "%s/vessel/x", mnt);
	assert_int_equal(symlink("/tmp", link), 0);
	snprintf(cg->d[0].dir, sizeof(cg->d[0].dir), "%s/vessel/x", mnt);
	assert_int_equal(vs_cgroup_verify(cg, &host, &err), -1);
	assert_non_null(strstr(err.msg, "goes through a symlink"));
	unlink(link);
	/* Not a mount of this host. */
	snprintf(cg->d[0].mount, sizeof(cg->d[0].mount), "/tmp");
	assert_int_equal(vs_cgroup_verify(cg, &host, &err), -1);
	assert_non_null(strstr(err.msg, "hierarchies[0].mount"));
	/* Lines of cgroups.created removal acts on: its dirs and their parents. */
	snprintf(cg->d[0].mount, sizeof(cg->d[0].mount), "%s", mnt);
	char line[PATH_MAX];
	snprintf(line, sizeof(line), "%s/vessel", mnt);
	assert_true(vs_cgroup_owns(cg, line));
	assert_true(vs_cgroup_owns(cg, cg->d[0].dir));
	static const char *const not_ours[] = { "",	  "/vessel/x/y",      "/vessel/xy",
						"/other", "/vessel/../other", NULL };
	for (int i = 0; not_ours[i]; i++) {
		snprintf(line, sizeof(line), "%s%s", mnt, not_ours[i]);
		if (vs_cgroup_owns(cg, line))
			fail_msg("%s owned", line);
	}
	assert_false(vs_cgroup_owns(cg, "/tmp"));
	vs_cgroup_free(cg);
	/* Relative paths: only the tail is fixed. */
	cg = vs_cgroup_open(&host, "vessel/x", &err);
	assert_non_null(cg);
	assert_int_equal(vs_cgroup_verify(cg, &host, &err), 0);
	snprintf(cg->path, sizeof(cg->path), "vessel/../x");
	assert_int_equal(vs_cgroup_verify(cg, &host, &err), -1);
	assert_non_null(strstr(err.msg, "cgroup.json: path"));
	vs_cgroup_free(cg);
	assert_int_equal(vs_remove_tree(mnt, &err), 0);
}

static void test_signal_checks_identity(void **state)
{
	(void)state;
	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	uint64_t start;
	assert_int_equal(vs_proc_stat(child, &start, NULL), 0);
	vs_err err = { 0 };
	/* Wrong or missing start time: nothing is sent. */
	assert_int_equal(vs_proc_signal(child, start + 1, SIGKILL, &err), -1);
	assert_int_equal(err.errnum, ESRCH);
	assert_int_equal(vs_proc_signal(child, 0, SIGKILL, &err), -1);
	assert_int_equal(vs_proc_signal(-child, start, SIGKILL, &err), -1);
	assert_true(vs_proc_alive(child, start));
	assert_false(vs_proc_alive(child, 0));
	assert_int_equal(vs_proc_signal(child, start, SIGKILL, &err), 0);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pid_rules),
		cmocka_unit_test(test_clean_paths),
		cmocka_unit_test(test_verify_dirs),
		cmocka_unit_test(test_signal_checks_identity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
