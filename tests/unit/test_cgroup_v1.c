/* The cgroup v1 writer against a fake v1 tree: each resource's file, the
 * device rule order, aliases (BFQ), errors naming controller and file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cgroup/freeze.h"
#include "cgroup/resources.h"
#include "cgroup/stats.h"
#include "cgroup_fake.h"

typedef struct fx {
	fake_tree t;
	vs_cgroup *cg;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	fake_v1(&f->t);
	vs_cgroup_host h;
	vs_err err = { 0 };
	if (vs_cgroup_detect_at(&h, f->t.mountinfo, f->t.self_cgroup, &err) < 0)
		return -1;
	f->cg = vs_cgroup_open(&h, "/vessel/c1", &err);
	fake_files(fake_path(&f->t, "v1/memory/vessel/c1"),
		   (const char *const[]){
			   "memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
			   "memory.soft_limit_in_bytes", "memory.kmem.tcp.limit_in_bytes",
			   "memory.swappiness", "memory.oom_control", "memory.use_hierarchy",
			   "memory.usage_in_bytes=8192\n", "memory.max_usage_in_bytes=9000\n",
			   "memory.failcnt=1\n", "memory.stat=cache 300\nrss 100\n", NULL });
	fake_files(fake_path(&f->t, "v1/cpu,cpuacct/vessel/c1"),
		   (const char *const[]){
			   "cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us",
			   "cpu.cfs_burst_us", "cpu.rt_period_us", "cpu.rt_runtime_us", "cpu.idle",
			   "cpuacct.usage=123456\n", "cpuacct.usage_percpu=100000 23456\n",
			   "cpuacct.stat=user 10\nsystem 5\n",
			   "cpu.stat=nr_periods 4\nnr_throttled 1\nthrottled_time 77\n", NULL });
	fake_files(fake_path(&f->t, "v1/cpuset/vessel/c1"),
		   (const char *const[]){ "cpuset.cpus", "cpuset.mems", NULL });
	fake_files(fake_path(&f->t, "v1/pids/vessel/c1"),
		   (const char *const[]){ "pids.max", "pids.current=2\n", NULL });
	fake_files(fake_path(&f->t, "v1/devices/vessel/c1"),
		   (const char *const[]){ "devices.allow", "devices.deny", NULL });
	fake_files(fake_path(&f->t, "v1/freezer/vessel/c1"),
		   (const char *const[]){ "freezer.state=THAWED\n", NULL });
	fake_files(fake_path(&f->t, "v1/blkio/vessel/c1"),
		   (const char *const[]){ "blkio.bfq.weight", "blkio.bfq.weight_device",
					  "blkio.throttle.read_bps_device",
					  "blkio.throttle.write_iops_device",
					  "blkio.throttle.io_service_bytes_recursive=8:0 Read "
					  "4096\n8:0 Write 0\nTotal 4096\n",
					  NULL });
	fake_files(fake_path(&f->t, "v1/hugetlb/vessel/c1"),
		   (const char *const[]){ "hugetlb.2MB.limit_in_bytes", NULL });
	fake_files(fake_path(&f->t, "v1/net_cls/vessel/c1"),
		   (const char *const[]){ "net_cls.classid", NULL });
	fake_files(fake_path(&f->t, "v1/net_prio/vessel/c1"),
		   (const char *const[]){ "net_prio.ifpriomap", NULL });
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	vs_cgroup_free(f->cg);
	fake_cleanup(&f->t);
	free(f);
	return 0;
}

static const char *file(fx *f, const char *hier, const char *name)
{
	const char *s = fake_read(fake_path(&f->t, "v1/%s/vessel/c1/%s", hier, name));
	return s ? s : "(absent)";
}

static int apply(fx *f, const char *json, bool devices, vs_err *err)
{
	vs_resources r;
	json_object *o = json_tokener_parse(json);
	assert_non_null(o);
	int rc = vs_resources_parse(o, "linux.resources", &r, err);
	json_object_put(o);
	if (rc == 0 && devices)
		rc = vs_resources_container_devices(&r, NULL, 0, err);
	if (rc == 0)
		rc = vs_cgroup_apply(f->cg, &r, devices, err);
	vs_resources_clear(&r);
	return rc;
}

static void apply_ok(fx *f, const char *json, bool devices)
{
	vs_err err = { 0 };
	int rc = apply(f, json, devices, &err);
	if (rc)
		print_error("%s\n", err.msg);
	assert_int_equal(rc, 0);
}

static void apply_bad(fx *f, const char *json, const char *frag1, const char *frag2)
{
	vs_err err = { 0 };
	assert_int_equal(apply(f, json, false, &err), -1);
	if (!strstr(err.msg, frag1) || (frag2 && !strstr(err.msg, frag2)))
		print_error("message \"%s\" lacks \"%s\" / \"%s\"\n", err.msg, frag1,
			    frag2 ? frag2 : "");
	assert_non_null(strstr(err.msg, frag1));
	if (frag2)
		assert_non_null(strstr(err.msg, frag2));
}

static void test_memory_cpu_pids(void **state)
{
	fx *f = *state;
	apply_ok(f,
		 "{\"memory\":{\"limit\":104857600,\"swap\":209715200,\"reservation\":1000,"
		 "\"kernelTCP\":2000,"
		 "\"swappiness\":30,\"disableOOMKiller\":true,\"useHierarchy\":true},"
		 "\"cpu\":{\"shares\":512,\"quota\":20000,\"period\":100000,\"burst\":500,"
		 "\"realtimePeriod\":1000000,"
		 "\"realtimeRuntime\":950000,\"idle\":1,\"cpus\":\"0-1\",\"mems\":\"0\"},\"pids\":{"
		 "\"limit\":64}}",
		 false);
	assert_string_equal(file(f, "memory", "memory.limit_in_bytes"), "104857600");
	/* v1 keeps the OCI meaning: memory+swap */
	assert_string_equal(file(f, "memory", "memory.memsw.limit_in_bytes"), "209715200");
	assert_string_equal(file(f, "memory", "memory.soft_limit_in_bytes"), "1000");
	assert_string_equal(file(f, "memory", "memory.kmem.tcp.limit_in_bytes"), "2000");
	assert_string_equal(file(f, "memory", "memory.swappiness"), "30");
	assert_string_equal(file(f, "memory", "memory.oom_control"), "1");
	assert_string_equal(file(f, "memory", "memory.use_hierarchy"), "1");
	assert_string_equal(file(f, "cpu,cpuacct", "cpu.shares"), "512");
	assert_string_equal(file(f, "cpu,cpuacct", "cpu.cfs_quota_us"), "20000");
	assert_string_equal(file(f, "cpu,cpuacct", "cpu.cfs_period_us"), "100000");
	assert_string_equal(file(f, "cpu,cpuacct", "cpu.cfs_burst_us"), "500");
	assert_string_equal(file(f, "cpu,cpuacct", "cpu.rt_period_us"), "1000000");
	assert_string_equal(file(f, "cpu,cpuacct", "cpu.rt_runtime_us"), "950000");
	assert_string_equal(file(f, "cpu,cpuacct", "cpu.idle"), "1");
	assert_string_equal(file(f, "cpuset", "cpuset.cpus"), "0-1");
	assert_string_equal(file(f, "cpuset", "cpuset.mems"), "0");
	assert_string_equal(file(f, "pids", "pids.max"), "64");
	/* unlimited memory also lifts memory+swap */
	apply_ok(f, "{\"memory\":{\"limit\":-1}}", false);
	assert_string_equal(file(f, "memory", "memory.limit_in_bytes"), "-1");
	assert_string_equal(file(f, "memory", "memory.memsw.limit_in_bytes"), "-1");
}

static void test_blkio_hugetlb_network(void **state)
{
	fx *f = *state;
	apply_ok(f,
		 "{\"blockIO\":{\"weight\":300,\"weightDevice\":[{\"major\":8,\"minor\":0,"
		 "\"weight\":200}],"
		 "\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1000},{\"major\":8,"
		 "\"minor\":16,\"rate\":2000}],"
		 "\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":0,\"rate\":30}]},"
		 "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":2097152}],"
		 "\"network\":{\"classID\":1048577,\"priorities\":[{\"name\":\"lo\",\"priority\":1}"
		 ",{\"name\":\"eth0\",\"priority\":5}]}}",
		 false);
	/* no CFQ blkio.weight here: the BFQ files take it */
	assert_string_equal(file(f, "blkio", "blkio.bfq.weight"), "300");
	assert_string_equal(file(f, "blkio", "blkio.bfq.weight_device"), "8:0 200");
	assert_string_equal(file(f, "blkio", "blkio.throttle.read_bps_device"),
			    "8:0 1000\n8:16 2000");
	assert_string_equal(file(f, "blkio", "blkio.throttle.write_iops_device"), "8:0 30");
	assert_string_equal(file(f, "hugetlb", "hugetlb.2MB.limit_in_bytes"), "2097152");
	assert_string_equal(file(f, "net_cls", "net_cls.classid"), "1048577");
	assert_string_equal(file(f, "net_prio", "net_prio.ifpriomap"), "lo 1\neth0 5");
	apply_bad(f, "{\"blockIO\":{\"leafWeight\":300}}", "cgroup blkio",
		  "blkio.leaf_weight does not exist");
}

static void test_devices_in_order(void **state)
{
	fx *f = *state;
	apply_ok(f,
		 "{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,\"type\":"
		 "\"c\",\"major\":10,"
		 "\"minor\":229,\"access\":\"rw\"},{\"allow\":false,\"type\":\"c\",\"major\":1,"
		 "\"minor\":3,\"access\":\"w\"}]}",
		 true);
	/* deny-all first (ours, then the spec's), the spec's allow, then the defaults */
	assert_string_equal(file(f, "devices", "devices.deny"), "a\na\nc 1:3 w");
	const char *allow = file(f, "devices", "devices.allow");
	const char *want = "c 10:229 rw\nc *:* m\nb *:* m\nc 1:3 rwm\n";
	assert_int_equal(strncmp(allow, want, strlen(want)), 0);
	assert_non_null(strstr(allow, "c 136:* rwm"));
}

static void test_missing_and_v2_only(void **state)
{
	fx *f = *state;
	apply_bad(f, "{\"rdma\":{\"mlx5_1\":{\"hcaHandles\":3}}}", "cgroup rdma",
		  "no rdma controller");
	apply_bad(f, "{\"unified\":{\"memory.high\":\"1\"}}", "unified", "no cgroup v2");
	/* a file the kernel lacks, named with its controller */
	unlink(fake_path(&f->t, "v1/cpu,cpuacct/vessel/c1/cpu.idle"));
	apply_bad(f, "{\"cpu\":{\"idle\":1}}", "cgroup cpu", "cpu.idle does not exist");
	apply_bad(f, "{\"hugepageLimits\":[{\"pageSize\":\"1GB\",\"limit\":1}]}", "cgroup hugetlb",
		  "1GB");
}

static void test_freeze_and_stats(void **state)
{
	fx *f = *state;
	vs_err err = { 0 };
	assert_int_equal(vs_cgroup_freeze(f->cg, true, &err), 0);
	assert_string_equal(file(f, "freezer", "freezer.state"), "FROZEN");
	bool frozen = false;
	assert_int_equal(vs_cgroup_is_frozen(f->cg, &frozen, &err), 0);
	assert_true(frozen);
	assert_int_equal(vs_cgroup_freeze(f->cg, false, &err), 0);
	assert_string_equal(file(f, "freezer", "freezer.state"), "THAWED");

	json_object *s = vs_cgroup_stats(f->cg, &err), *c, *u, *v, *m;
	assert_non_null(s);
	assert_true(json_object_object_get_ex(s, "cpu", &c));
	assert_true(json_object_object_get_ex(c, "usage", &u));
	assert_true(json_object_object_get_ex(u, "total", &v));
	assert_int_equal(json_object_get_uint64(v), 123456);
	assert_true(json_object_object_get_ex(u, "percpu", &v));
	assert_int_equal(json_object_array_length(v), 2);
	assert_true(json_object_object_get_ex(u, "user", &v)); /* ticks -> ns */
	assert_int_equal(json_object_get_uint64(v),
			 10 * 1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK));
	assert_true(json_object_object_get_ex(c, "throttling", &u));
	assert_true(json_object_object_get_ex(u, "throttledTime", &v));
	assert_int_equal(json_object_get_uint64(v), 77);
	assert_true(json_object_object_get_ex(s, "memory", &m));
	assert_true(json_object_object_get_ex(m, "cache", &v));
	assert_int_equal(json_object_get_uint64(v), 300);
	assert_true(json_object_object_get_ex(m, "usage", &u));
	assert_true(json_object_object_get_ex(u, "max", &v));
	assert_int_equal(json_object_get_uint64(v), 9000);
	assert_true(json_object_object_get_ex(m, "raw", &u));
	assert_true(json_object_object_get_ex(u, "rss", &v));
	assert_true(json_object_object_get_ex(s, "blkio", &c));
	assert_true(json_object_object_get_ex(c, "ioServiceBytesRecursive", &v));
	assert_int_equal(json_object_array_length(v), 2); /* "Total" summary line skipped */
	assert_true(json_object_object_get_ex(s, "pids", &c));
	assert_true(json_object_object_get_ex(c, "current", &v));
	assert_int_equal(json_object_get_uint64(v), 2);
	json_object_put(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_memory_cpu_pids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blkio_hugetlb_network, setup, teardown),
		cmocka_unit_test_setup_teardown(test_devices_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_v2_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_freeze_and_stats, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
