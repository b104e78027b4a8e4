/* The cgroup v2 writer against a fake cgroup2 tree: which file each OCI
 * resource lands in, the v1 -> v2 conversions on the way, errors that name
 * controller and file, freezing and statistics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cgroup/convert.h"
#include "cgroup/freeze.h"
#include "cgroup/resources.h"
#include "cgroup/stats.h"
#include "cgroup_fake.h"

typedef struct fx {
	fake_tree t;
	vs_cgroup *cg;
	char dir[PATH_MAX];
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	fake_v2(&f->t);
	vs_cgroup_host h;
	vs_err err = { 0 };
	if (vs_cgroup_detect_at(&h, f->t.mountinfo, f->t.self_cgroup, &err) < 0)
		return -1;
	f->cg = vs_cgroup_open(&h, "/vessel/c1", &err);
	snprintf(f->dir, sizeof(f->dir), "%s", fake_path(&f->t, "v2/vessel/c1"));
	fake_v2_container(f->dir);
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

static const char *file(fx *f, const char *name)
{
	char p[PATH_MAX];
	fake_fmt(p, sizeof(p), "%s/%s", f->dir, name);
	const char *s = fake_read(p);
	return s ? s : "(absent)";
}

static int apply(fx *f, const char *json, vs_err *err)
{
	vs_resources r;
	json_object *o = json_tokener_parse(json);
	assert_non_null(o);
	int rc = vs_resources_parse(o, "linux.resources", &r, err);
	json_object_put(o);
	if (rc < 0)
		return -1;
	rc = vs_cgroup_apply(f->cg, &r, false, err);
	vs_resources_clear(&r);
	return rc;
}

static void apply_ok(fx *f, const char *json)
{
	vs_err err = { 0 };
	int rc = apply(f, json, &err);
	if (rc)
		print_error("%s\n", err.msg);
	assert_int_equal(rc, 0);
}

static void apply_bad(fx *f, const char *json, const char *frag1, const char *frag2)
{
	vs_err err = { 0 };
	assert_int_equal(apply(f, json, &err), -1);
	if (!strstr(err.msg, frag1) || (frag2 && !strstr(err.msg, frag2)))
		print_error("message \"%s\" lacks \"%s\" / \"%s\"\n", err.msg, frag1,
			    frag2 ? frag2 : "");
	assert_non_null(strstr(err.msg, frag1));
	if (frag2)
		assert_non_null(strstr(err.msg, frag2));
}

static void test_memory(void **state)
{
	fx *f = *state;
	apply_ok(f,
		 "{\"memory\":{\"limit\":104857600,\"swap\":314572800,\"reservation\":52428800}}");
	assert_string_equal(file(f, "memory.max"), "104857600");
	/* OCI swap is memory+swap; memory.swap.max is swap alone */
	assert_string_equal(file(f, "memory.swap.max"), "209715200");
	assert_string_equal(file(f, "memory.low"), "52428800");
	apply_ok(f, "{\"memory\":{\"limit\":-1}}");
	assert_string_equal(file(f, "memory.max"), "max");
	assert_string_equal(file(f, "memory.swap.max"), "max");
	/* update --memory-swap alone: relative to the live memory.max */
	fake_write(fake_path(&f->t, "v2/vessel/c1/memory.max"), "1000\n");
	apply_ok(f, "{\"memory\":{\"swap\":3000}}");
	assert_string_equal(file(f, "memory.swap.max"), "2000");
	/* checkBeforeUpdate: v1 semantics (refuse a limit below usage) on v2 */
	apply_bad(f, "{\"memory\":{\"limit\":4096,\"checkBeforeUpdate\":true}}", "cgroup memory",
		  "current usage");
	apply_ok(f, "{\"memory\":{\"limit\":8192,\"checkBeforeUpdate\":true}}");
}

static void test_memory_v1_only(void **state)
{
	fx *f = *state;
	apply_bad(f, "{\"memory\":{\"swappiness\":10}}", "cgroup memory",
		  "memory.swappiness has no cgroup v2");
	apply_bad(f, "{\"memory\":{\"disableOOMKiller\":true}}", "cgroup memory",
		  "disableOOMKiller");
	apply_bad(f, "{\"memory\":{\"kernelTCP\":1000}}", "cgroup memory", "kernelTCP");
	/* harmless values pass */
	apply_ok(f,
		 "{\"memory\":{\"disableOOMKiller\":false,\"useHierarchy\":true,\"kernel\":-1}}");
}

static void test_cpu(void **state)
{
	fx *f = *state;
	apply_ok(f, "{\"cpu\":{\"shares\":1024,\"quota\":50000,\"period\":200000,\"burst\":1000,"
		    "\"idle\":0,"
		    "\"cpus\":\"1\",\"mems\":\"0\"}}");
	assert_string_equal(file(f, "cpu.weight"), "100");
	assert_string_equal(file(f, "cpu.max"), "50000 200000");
	assert_string_equal(file(f, "cpu.max.burst"), "1000");
	assert_string_equal(file(f, "cpu.idle"), "0");
	assert_string_equal(file(f, "cpuset.cpus"), "1");
	assert_string_equal(file(f, "cpuset.mems"), "0");
	/* period alone keeps the quota in force */
	apply_ok(f, "{\"cpu\":{\"period\":100000}}");
	assert_string_equal(file(f, "cpu.max"), "50000 100000");
	/* quota alone is one number: the kernel keeps the period */
	apply_ok(f, "{\"cpu\":{\"quota\":-1}}");
	assert_string_equal(file(f, "cpu.max"), "max");
	char want[32];
	snprintf(want, sizeof(want), "%llu", (unsigned long long)vs_cgroup_shares_to_weight(512));
	apply_ok(f, "{\"cpu\":{\"shares\":512}}");
	assert_string_equal(file(f, "cpu.weight"), want);
	apply_bad(f, "{\"cpu\":{\"realtimeRuntime\":100}}", "cgroup cpu", "realtime");
}

static void test_pids_io_hugetlb_rdma(void **state)
{
	fx *f = *state;
	apply_ok(f, "{\"pids\":{\"limit\":42}}");
	assert_string_equal(file(f, "pids.max"), "42");
	apply_ok(f, "{\"pids\":{\"limit\":-1}}");
	assert_string_equal(file(f, "pids.max"), "max");
	apply_ok(f, "{\"blockIO\":{\"weight\":1000}}");
	assert_string_equal(file(f, "io.weight"), "default 10000");
	apply_ok(f, "{\"blockIO\":{\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":10}]}}");
	assert_string_equal(file(f, "io.weight"), "8:0 1");
	apply_ok(f, "{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":"
		    "1048576}],"
		    "\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":16,\"rate\":300}]}}");
	assert_string_equal(file(f, "io.max"), "8:0 rbps=1048576\n8:16 wiops=300");
	/* BFQ takes the v1 value unconverted */
	fake_write(fake_path(&f->t, "v2/vessel/c1/io.bfq.weight"), "100\n");
	apply_ok(f, "{\"blockIO\":{\"weight\":500}}");
	assert_string_equal(file(f, "io.bfq.weight"), "500");
	apply_bad(f, "{\"blockIO\":{\"leafWeight\":500}}", "cgroup io", "leafWeight");
	apply_ok(f, "{\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}]}");
	assert_string_equal(file(f, "hugetlb.2MB.max"), "4194304");
	assert_string_equal(file(f, "hugetlb.2MB.rsvd.max"), "4194304");
	apply_bad(f, "{\"hugepageLimits\":[{\"pageSize\":\"16GB\",\"limit\":1}]}", "cgroup hugetlb",
		  "hugetlb.16GB.max does not exist");
	apply_ok(f, "{\"rdma\":{\"mlx5_1\":{\"hcaHandles\":3}}}");
	assert_string_equal(file(f, "rdma.max"), "mlx5_1 hca_handle=3 hca_object=max");
}

static void test_unified(void **state)
{
	fx *f = *state;
	fake_write(fake_path(&f->t, "v2/vessel/c1/memory.high"), "max\n");
	apply_ok(f, "{\"memory\":{\"limit\":1000},\"unified\":{\"memory.high\":\"900\",\"memory."
		    "max\":\"2000\","
		    "\"io.max\":\"8:0 rbps=1\\n8:16 wbps=2\"}}");
	assert_string_equal(file(f, "memory.high"), "900");
	/* unified is applied last and wins over the converted value */
	assert_string_equal(file(f, "memory.max"), "2000");
	assert_string_equal(file(f, "io.max"), "8:0 rbps=1\n8:16 wbps=2");
	/* unknown keys are written as is (the spec), if the file exists */
	apply_bad(f, "{\"unified\":{\"memory.nosuch\":\"1\"}}", "cgroup memory",
		  "memory.nosuch does not exist");
	apply_bad(f, "{\"unified\":{\"misc.max\":\"x 1\"}}", "cgroup misc", "not available");
}

static void test_controller_not_enabled(void **state)
{
	fx *f = *state;
	fake_write(fake_path(&f->t, "v2/vessel/c1/cgroup.controllers"), "cpu io\n");
	apply_bad(f, "{\"memory\":{\"limit\":1000}}", "cgroup memory", "not enabled");
	apply_bad(f, "{\"network\":{\"classID\":1}}", "cgroup net_cls", "no net_cls controller");
	/* a file the kernel lacks: named with its controller */
	unlink(fake_path(&f->t, "v2/vessel/c1/cpu.max.burst"));
	apply_bad(f, "{\"cpu\":{\"burst\":10}}", "cgroup cpu", "cpu.max.burst does not exist");
}

static void test_freeze(void **state)
{
	fx *f = *state;
	vs_err err = { 0 };
	bool frozen = true;
	assert_int_equal(vs_cgroup_is_frozen(f->cg, &frozen, &err), 0);
	assert_false(frozen);
	/* the kernel reports "frozen 1" in cgroup.events once done */
	fake_write(fake_path(&f->t, "v2/vessel/c1/cgroup.events"), "populated 1\nfrozen 1\n");
	assert_int_equal(vs_cgroup_freeze(f->cg, true, &err), 0);
	assert_string_equal(file(f, "cgroup.freeze"), "1");
	assert_int_equal(vs_cgroup_is_frozen(f->cg, &frozen, &err), 0);
	assert_true(frozen);
	fake_write(fake_path(&f->t, "v2/vessel/c1/cgroup.events"), "populated 1\nfrozen 0\n");
	assert_int_equal(vs_cgroup_freeze(f->cg, false, &err), 0);
	assert_string_equal(file(f, "cgroup.freeze"), "0");
}

static void test_stats(void **state)
{
	fx *f = *state;
	fake_write(fake_path(&f->t, "v2/vessel/c1/memory.max"), "1048576\n");
	vs_err err = { 0 };
	json_object *s = vs_cgroup_stats(f->cg, &err);
	assert_non_null(s);
	json_object *m, *u, *v, *p, *c, *b;
	assert_true(json_object_object_get_ex(s, "memory", &m));
	assert_true(json_object_object_get_ex(m, "usage", &u));
	assert_true(json_object_object_get_ex(u, "usage", &v));
	assert_int_equal(json_object_get_uint64(v), 4096);
	assert_true(json_object_object_get_ex(u, "limit", &v));
	assert_int_equal(json_object_get_uint64(v), 1048576);
	assert_true(json_object_object_get_ex(u, "failcnt", &v)); /* memory.events max */
	assert_int_equal(json_object_get_uint64(v), 2);
	assert_true(json_object_object_get_ex(m, "cache", &v)); /* memory.stat file */
	assert_int_equal(json_object_get_uint64(v), 200);
	/* swap is reported as memory+swap, as on v1 */
	assert_true(json_object_object_get_ex(m, "swap", &u));
	assert_true(json_object_object_get_ex(u, "usage", &v));
	assert_int_equal(json_object_get_uint64(v), 4096);
	assert_true(json_object_object_get_ex(s, "pids", &p));
	assert_true(json_object_object_get_ex(p, "current", &v));
	assert_int_equal(json_object_get_uint64(v), 3);
	assert_false(json_object_object_get_ex(p, "limit", &v)); /* "max" is omitted */
	assert_true(json_object_object_get_ex(s, "cpu", &c));
	assert_true(json_object_object_get_ex(c, "usage", &u));
	assert_true(json_object_object_get_ex(u, "total", &v));
	assert_int_equal(json_object_get_uint64(v), 5000);
	assert_true(json_object_object_get_ex(u, "kernel", &v));
	assert_int_equal(json_object_get_uint64(v), 2000);
	assert_true(json_object_object_get_ex(s, "blkio", &b));
	assert_true(json_object_object_get_ex(b, "ioServiceBytesRecursive", &v));
	assert_int_equal(json_object_array_length(v), 2);
	assert_true(json_object_object_get_ex(s, "cpuset", &c));
	assert_true(json_object_object_get_ex(c, "cpus", &v));
	assert_int_equal(json_object_array_length(v), 2);
	assert_true(json_object_object_get_ex(s, "hugetlb", &v));
	assert_true(json_object_object_get_ex(s, "intel_rdt", &v));
	json_object_put(s);
}

static void test_oom_counter(void **state)
{
	fx *f = *state;
	vs_err err = { 0 };
	vs_cgroup_oom *w = NULL;
	assert_int_equal(vs_cgroup_oom_open(f->cg, &w, &err), 0);
	uint64_t n = 9;
	/* nothing new since open */
	assert_int_equal(vs_cgroup_oom_read(w, &n, &err), 0);
	assert_int_equal(n, 0);
	fake_write(fake_path(&f->t, "v2/vessel/c1/memory.events"), "oom 3\noom_kill 3\n");
	assert_int_equal(vs_cgroup_oom_read(w, &n, &err), 0);
	assert_int_equal(n, 2);
	unlink(fake_path(&f->t, "v2/vessel/c1/memory.events"));
	assert_int_equal(vs_cgroup_oom_read(w, &n, &err), 1); /* gone */
	vs_cgroup_oom_close(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_v1_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pids_io_hugetlb_rdma, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unified, setup, teardown),
		cmocka_unit_test_setup_teardown(test_controller_not_enabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_freeze, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oom_counter, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
