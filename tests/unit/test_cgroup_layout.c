/* cgroup layout detection, controller lookup, cgroupsPath resolution
 * (cgroupfs and systemd forms), per-hierarchy directories, the state
 * record, and create/destroy on a fake tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cgroup/cgroup.h"
#include "cgroup_fake.h"

static void test_detect_v1(void **state)
{
	(void)state;
	fake_tree t;
	fake_v1(&t);
	vs_cgroup_host h;
	vs_err err = { 0 };
	assert_int_equal(vs_cgroup_detect_at(&h, t.mountinfo, t.self_cgroup, &err), 0);
	assert_int_equal(h.layout, VS_CGROUP_V1);
	assert_int_equal(h.n_hier, 11);
	int cpu = vs_cgroup_host_find(&h, "cpu"), acct = vs_cgroup_host_find(&h, "cpuacct");
	assert_true(cpu >= 0);
	assert_int_equal(cpu, acct);
	assert_string_equal(h.hier[cpu].controllers, "cpu,cpuacct");
	/* "cpu" must not match "cpuset" */
	assert_int_not_equal(vs_cgroup_host_find(&h, "cpuset"), cpu);
	assert_true(vs_cgroup_host_find(&h, "name=systemd") >= 0);
	assert_int_equal(vs_cgroup_host_find(&h, "rdma"), -1);
	/* no cgroup2: no v2 freezer or devices fallback */
	assert_int_equal(vs_cgroup_host_find(&h, "io"), -1);
	int mem = vs_cgroup_host_find(&h, "memory");
	assert_string_equal(h.hier[mem].own, "/job");
	assert_string_equal(h.hier[cpu].own, "/user.slice");
	fake_cleanup(&t);
}

static void test_detect_v2_and_hybrid(void **state)
{
	(void)state;
	fake_tree t;
	fake_v2(&t);
	vs_cgroup_host h;
	vs_err err = { 0 };
	assert_int_equal(vs_cgroup_detect_at(&h, t.mountinfo, t.self_cgroup, &err), 0);
	assert_int_equal(h.layout, VS_CGROUP_V2);
	assert_int_equal(h.n_hier, 1);
	assert_true(h.hier[0].v2);
	assert_string_equal(h.hier[0].controllers, "cpuset,cpu,io,memory,hugetlb,pids,rdma");
	assert_string_equal(h.hier[0].own, "/user.slice/s.scope");
	assert_int_equal(vs_cgroup_host_find(&h, "memory"), 0);
	/* freezer and devices need no controller on cgroup2 */
	assert_int_equal(vs_cgroup_host_find(&h, "freezer"), 0);
	assert_int_equal(vs_cgroup_host_find(&h, "devices"), 0);
	assert_int_equal(vs_cgroup_host_find(&h, "net_cls"), -1);
	fake_cleanup(&t);

	/* Hybrid: v1 controllers plus a cgroup2 mount with only hugetlb. */
	fake_init(&t);
	char mi[4096];
	snprintf(mi, sizeof(mi),
		 "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
		 "35 31 0:32 / %s/memory rw,relatime - cgroup cgroup rw,memory\n"
		 "36 31 0:33 / %s/devices rw,relatime - cgroup cgroup rw,devices\n"
		 "37 31 0:34 / %s/freezer rw,relatime - cgroup cgroup rw,freezer\n"
		 "41 31 0:38 / %s/unified rw,relatime - cgroup2 cgroup2 rw\n"
		 "42 31 0:38 / %s/unified2 rw,relatime - cgroup2 cgroup2 rw\n",
		 t.root, t.root, t.root, t.root, t.root);
	fake_write(t.mountinfo, mi);
	fake_write(t.self_cgroup, "4:memory:/a\n3:devices:/\n2:freezer:/\n0::/\n");
	fake_files(fake_path(&t, "unified"),
		   (const char *const[]){ "cgroup.controllers=hugetlb\n", NULL });
	assert_int_equal(vs_cgroup_detect_at(&h, t.mountinfo, t.self_cgroup, &err), 0);
	assert_int_equal(h.layout, VS_CGROUP_HYBRID);
	assert_int_equal(h.n_hier, 4); /* the second cgroup2 mount is the same hierarchy */
	int u = vs_cgroup_host_find(&h, "hugetlb");
	assert_true(u >= 0 && h.hier[u].v2);
	/* v1 wins where both could serve */
	assert_false(h.hier[vs_cgroup_host_find(&h, "freezer")].v2);
	assert_false(h.hier[vs_cgroup_host_find(&h, "devices")].v2);
	assert_int_equal(vs_cgroup_host_find(&h, "cpu"), -1);
	assert_string_equal(h.hier[vs_cgroup_host_find(&h, "memory")].own, "/a");
	fake_cleanup(&t);
}

static void test_no_cgroup(void **state)
{
	(void)state;
	fake_tree t;
	fake_init(&t);
	fake_write(t.mountinfo, "22 1 0:20 / /sys rw - sysfs sysfs rw\n");
	vs_cgroup_host h;
	vs_err err = { 0 };
	assert_int_equal(vs_cgroup_detect_at(&h, t.mountinfo, t.self_cgroup, &err), -1);
	assert_non_null(strstr(err.msg, "no cgroup filesystem"));
	fake_cleanup(&t);
}

static void resolve_ok(const char *in, const char *want)
{
	char out[PATH_MAX];
	vs_err err = { 0 };
	int rc = vs_cgroup_resolve_path(in, "ctr", out, sizeof(out), &err);
	if (rc)
		print_error("%s: %s\n", in ? in : "(null)", err.msg);
	assert_int_equal(rc, 0);
	assert_string_equal(out, want);
}

static void test_resolve_path(void **state)
{
	(void)state;
	resolve_ok(NULL, "/vessel/ctr");
	resolve_ok("", "/vessel/ctr");
	resolve_ok("/a/b", "/a/b");
	resolve_ok("//a//./b/", "/a/b");
	/* runc's CleanPath: ".." cannot climb above the root */
	resolve_ok("/a/../../../b", "/b");
	resolve_ok("rel/x", "rel/x");
	resolve_ok("../../rel", "rel");
	char out[PATH_MAX];
	vs_err err = { 0 };
	assert_int_equal(vs_cgroup_resolve_path("/", "ctr", out, sizeof(out), &err), -1);
	assert_non_null(strstr(err.msg, "linux.cgroupsPath"));
	assert_int_equal(vs_cgroup_resolve_path("/a/..", "ctr", out, sizeof(out), &err), -1);
	assert_int_equal(vs_cgroup_resolve_path("..", "ctr", out, sizeof(out), &err), -1);
}

static void systemd_ok(const char *in, const char *want)
{
	char out[PATH_MAX];
	vs_err err = { 0 };
	int rc = vs_cgroup_resolve_systemd(in, "ctr", out, sizeof(out), &err);
	if (rc)
		print_error("%s: %s\n", in ? in : "(null)", err.msg);
	assert_int_equal(rc, 0);
	assert_string_equal(out, want);
}

static void test_resolve_systemd(void **state)
{
	(void)state;
	systemd_ok(NULL, "/system.slice/vessel-ctr.scope");
	systemd_ok("system.slice:docker:abc", "/system.slice/docker-abc.scope");
	systemd_ok("user-1000.slice:podman:x", "/user.slice/user-1000.slice/podman-x.scope");
	systemd_ok("a-b-c.slice:p:n", "/a.slice/a-b.slice/a-b-c.slice/p-n.scope");
	systemd_ok("-:p:n", "/p-n.scope");
	systemd_ok(":p:n", "/system.slice/p-n.scope");
	systemd_ok("machine.slice:ignored:pod.slice", "/machine.slice/pod.slice");
	systemd_ok("system.slice::n", "/system.slice/n.scope");
	char out[PATH_MAX];
	vs_err err = { 0 };
	assert_int_equal(vs_cgroup_resolve_systemd("/a/b", "ctr", out, sizeof(out), &err), -1);
	assert_non_null(strstr(err.msg, "slice:prefix:name"));
	assert_int_equal(vs_cgroup_resolve_systemd("a/b.slice:p:n", "ctr", out, sizeof(out), &err),
			 -1);
	assert_int_equal(vs_cgroup_resolve_systemd("nota-slice:p:n", "ctr", out, sizeof(out), &err),
			 -1);
	assert_int_equal(vs_cgroup_resolve_systemd("a--b.slice:p:n", "ctr", out, sizeof(out), &err),
			 -1);
	assert_int_equal(vs_cgroup_resolve_systemd("s.slice:p:", "ctr", out, sizeof(out), &err),
			 -1);
}

static void test_dirs_absolute_and_relative(void **state)
{
	(void)state;
	fake_tree t;
	fake_v1(&t);
	vs_cgroup_host h;
	vs_err err = { 0 };
	assert_int_equal(vs_cgroup_detect_at(&h, t.mountinfo, t.self_cgroup, &err), 0);
	vs_cgroup *cg = vs_cgroup_open(&h, "/vessel/c1", &err);
	assert_non_null(cg);
	bool v2 = true;
	assert_string_equal(vs_cgroup_dir_of(cg, "memory", &v2),
			    fake_path(&t, "v1/memory/vessel/c1"));
	assert_false(v2);
	assert_string_equal(vs_cgroup_dir_of(cg, "cpuacct", NULL),
			    fake_path(&t, "v1/cpu,cpuacct/vessel/c1"));
	assert_null(vs_cgroup_dir_of(cg, "rdma", NULL));
	assert_null(vs_cgroup_v2_dir(cg));
	vs_cgroup_free(cg);

	/* Relative: below our own cgroup, which differs per hierarchy. */
	cg = vs_cgroup_open(&h, "rel/c1", &err);
	assert_non_null(cg);
	assert_string_equal(vs_cgroup_dir_of(cg, "memory", NULL),
			    fake_path(&t, "v1/memory/job/rel/c1"));
	assert_string_equal(vs_cgroup_dir_of(cg, "pids", NULL),
			    fake_path(&t, "v1/pids/user.slice/rel/c1"));

	/* The record reloads to the same directories. */
	char rec[PATH_MAX];
	snprintf(rec, sizeof(rec), "%s", fake_path(&t, "cgroup.json"));
	assert_int_equal(vs_cgroup_save(cg, rec, &err), 0);
	vs_cgroup *back = vs_cgroup_load(rec, &err);
	assert_non_null(back);
	assert_int_equal(back->n, cg->n);
	assert_int_equal(back->layout, VS_CGROUP_V1);
	assert_string_equal(back->path, "rel/c1");
	for (int i = 0; i < cg->n; i++) {
		assert_string_equal(back->d[i].dir, cg->d[i].dir);
		assert_string_equal(back->d[i].controllers, cg->d[i].controllers);
	}
	vs_cgroup_free(back);
	vs_cgroup_free(cg);
	fake_write(rec, "{\"layout\":1}");
	assert_null(vs_cgroup_load(rec, &err));
	assert_non_null(strstr(err.msg, "not a cgroup record"));
	fake_cleanup(&t);

	/* cgroup2, relative: below the parent of our own cgroup. */
	fake_v2(&t);
	assert_int_equal(vs_cgroup_detect_at(&h, t.mountinfo, t.self_cgroup, &err), 0);
	cg = vs_cgroup_open(&h, "c2", &err);
	assert_string_equal(vs_cgroup_v2_dir(cg), fake_path(&t, "v2/user.slice/c2"));
	assert_string_equal(vs_cgroup_dir_of(cg, "freezer", &v2),
			    fake_path(&t, "v2/user.slice/c2"));
	assert_true(v2);
	assert_null(vs_cgroup_dir_of(cg, "net_prio", NULL));
	vs_cgroup_free(cg);
	fake_cleanup(&t);
}

static void test_create_destroy_exactly_ours(void **state)
{
	(void)state;
	fake_tree t;
	fake_v2(&t);
	vs_cgroup_host h;
	vs_err err = { 0 };
	assert_int_equal(vs_cgroup_detect_at(&h, t.mountinfo, t.self_cgroup, &err), 0);
	/* /shared exists before us and must survive; /shared/a/b are ours. */
	fake_mkdirs(fake_path(&t, "v2/shared"));
	vs_cgroup *cg = vs_cgroup_open(&h, "/shared/a/b", &err);
	char rec[PATH_MAX];
	snprintf(rec, sizeof(rec), "%s", fake_path(&t, "created"));
	assert_int_equal(vs_cgroup_create(cg, rec, &err), 0);
	struct stat st;
	assert_int_equal(stat(fake_path(&t, "v2/shared/a/b"), &st), 0);
	const char *list = fake_read(rec);
	assert_non_null(strstr(list, "/v2/shared/a\n"));
	assert_null(strstr(list, "/v2/shared\n"));
	/* A second create of the same path records nothing new. */
	assert_int_equal(vs_cgroup_create(cg, rec, &err), 0);
	/* Cgroups the workload made inside ours go with it. */
	fake_mkdirs(fake_path(&t, "v2/shared/a/b/inner/deeper"));
	assert_int_equal(vs_cgroup_destroy(cg, rec, &err), 0);
	assert_int_equal(stat(fake_path(&t, "v2/shared/a"), &st), -1);
	assert_int_equal(stat(fake_path(&t, "v2/shared"), &st), 0);
	vs_cgroup_free(cg);
	fake_cleanup(&t);
}

static void test_pids_union_and_recursive(void **state)
{
	(void)state;
	fake_tree t;
	fake_v1(&t);
	vs_cgroup_host h;
	vs_err err = { 0 };
	assert_int_equal(vs_cgroup_detect_at(&h, t.mountinfo, t.self_cgroup, &err), 0);
	vs_cgroup *cg = vs_cgroup_open(&h, "/vessel/c1", &err);
	fake_files(fake_path(&t, "v1/memory/vessel/c1"),
		   (const char *const[]){ "cgroup.procs=30\n10\n", NULL });
	fake_files(fake_path(&t, "v1/pids/vessel/c1"),
		   (const char *const[]){ "cgroup.procs=10\n", NULL });
	/* A member in a child cgroup of the container's, in one hierarchy only. */
	fake_files(fake_path(&t, "v1/pids/vessel/c1/sub"),
		   (const char *const[]){ "cgroup.procs=20\n", NULL });
	pid_t *pids = NULL;
	size_t n = 0;
	assert_int_equal(vs_cgroup_pids(cg, &pids, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(pids[0], 10);
	assert_int_equal(pids[1], 20);
	assert_int_equal(pids[2], 30);
	free(pids);
	vs_cgroup_free(cg);
	fake_cleanup(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect_v1),
		cmocka_unit_test(test_detect_v2_and_hybrid),
		cmocka_unit_test(test_no_cgroup),
		cmocka_unit_test(test_resolve_path),
		cmocka_unit_test(test_resolve_systemd),
		cmocka_unit_test(test_dirs_absolute_and_relative),
		cmocka_unit_test(test_create_destroy_exactly_ours),
		cmocka_unit_test(test_pids_union_and_recursive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
