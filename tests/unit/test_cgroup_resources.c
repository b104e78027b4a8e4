/* linux.resources parsing: every section, and rejection naming the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cgroup/resources.h"

static void parse_ok(const char *json, vs_resources *r)
{
	json_object *o = json_tokener_parse(json);
	assert_non_null(o);
	vs_err err = { 0 };
	int rc = vs_resources_parse(o, "linux.resources", r, &err);
	if (rc)
		print_error("%s\n", err.msg);
	assert_int_equal(rc, 0);
	json_object_put(o);
}

static void parse_bad(const char *json, const char *fragment)
{
	json_object *o = json_tokener_parse(json);
	assert_non_null(o);
	vs_resources r;
	vs_err err = { 0 };
	assert_int_equal(vs_resources_parse(o, "linux.resources", &r, &err), -1);
	if (!strstr(err.msg, fragment))
		print_error("message \"%s\" lacks \"%s\"\n", err.msg, fragment);
	assert_non_null(strstr(err.msg, fragment));
	json_object_put(o);
}

static void test_full(void **state)
{
	(void)state;
	vs_resources r;
	parse_ok("{\"memory\":{\"limit\":536870912,\"reservation\":268435456,\"swap\":-1,"
		 "\"kernelTCP\":-1,"
		 "\"swappiness\":0,\"disableOOMKiller\":true},"
		 "\"cpu\":{\"shares\":1024,\"quota\":50000,\"burst\":1000,\"period\":100000,"
		 "\"realtimeRuntime\":950,\"realtimePeriod\":1000,\"cpus\":\"0-1\",\"mems\":\"0\","
		 "\"idle\":1},"
		 "\"pids\":{\"limit\":32},"
		 "\"blockIO\":{\"weight\":500,\"leafWeight\":300,\"weightDevice\":[{\"major\":8,"
		 "\"minor\":0,\"weight\":400}],"
		 "\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1048576}],"
		 "\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":16,\"rate\":300}]},"
		 "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":209715200}],"
		 "\"network\":{\"classID\":1048577,\"priorities\":[{\"name\":\"eth0\",\"priority\":"
		 "500}]},"
		 "\"rdma\":{\"mlx5_1\":{\"hcaHandles\":3}},"
		 "\"unified\":{\"memory.high\":\"1G\",\"io.max\":\"8:0 rbps=1\\n8:16 wbps=2\"},"
		 "\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\","
		 "\"major\":10,"
		 "\"minor\":229,\"access\":\"wr\"}]}",
		 &r);
	assert_true(r.memory.limit.set);
	assert_int_equal(r.memory.limit.v, 536870912);
	assert_int_equal(r.memory.swap.v, -1);
	assert_true(r.memory.swappiness.set);
	assert_int_equal(r.memory.swappiness.v, 0);
	assert_true(r.memory.disable_oom_killer.v);
	assert_false(r.memory.kernel.set);
	assert_int_equal(r.cpu.shares.v, 1024);
	assert_int_equal(r.cpu.quota.v, 50000);
	assert_string_equal(r.cpu.cpus, "0-1");
	assert_int_equal(r.cpu.idle.v, 1);
	assert_int_equal(r.pids.limit.v, 32);
	assert_int_equal(r.blkio.n_weight_devices, 1);
	assert_int_equal(r.blkio.weight_devices[0].weight.v, 400);
	assert_false(r.blkio.weight_devices[0].leaf_weight.set);
	assert_int_equal(r.blkio.n_throttle[VS_THROTTLE_READ_BPS], 1);
	assert_int_equal(r.blkio.throttle[VS_THROTTLE_WRITE_IOPS][0].minor, 16);
	assert_int_equal(r.n_hugepages, 1);
	assert_string_equal(r.hugepages[0].page_size, "2MB");
	assert_int_equal(r.network.class_id.v, 1048577);
	assert_string_equal(r.network.priorities[0].name, "eth0");
	assert_int_equal(r.n_rdma, 1);
	assert_false(r.rdma[0].hca_objects.set);
	assert_int_equal(r.n_unified, 2);
	assert_true(r.has_devices);
	assert_int_equal(r.n_devices, 2);
	assert_int_equal(r.devices[0].type, 'a');
	assert_int_equal(r.devices[0].major, -1);
	assert_string_equal(r.devices[1].access, "rw"); /* normalised order */
	vs_resources_clear(&r);
}

static void test_empty_and_null(void **state)
{
	(void)state;
	vs_resources r;
	vs_err err = { 0 };
	assert_int_equal(vs_resources_parse(NULL, "linux.resources", &r, &err), 0);
	assert_false(r.has_devices);
	parse_ok("{}", &r);
	assert_false(r.memory.limit.set);
	vs_resources_clear(&r);
}

static void test_rejects(void **state)
{
	(void)state;
	parse_bad("{\"memory\":{\"limit\":\"1G\"}}",
		  "linux.resources.memory.limit: expected an integer");
	parse_bad("{\"memory\":{\"limit\":-5}}", "memory.limit");
	parse_bad("{\"memory\":{\"limit\":200,\"swap\":100}}", "memory.swap");
	parse_bad("{\"memory\":{\"swappiness\":101}}", "memory.swappiness: must be at most 100");
	parse_bad("{\"cpu\":{\"shares\":-1}}", "cpu.shares: must not be negative");
	parse_bad("{\"cpu\":{\"cpus\":\"0;1\"}}", "cpu.cpus");
	parse_bad("{\"cpu\":{\"idle\":2}}", "cpu.idle");
	parse_bad("{\"cpu\":{\"quota\":100,\"burst\":200}}", "cpu.burst");
	parse_bad("{\"pids\":{\"limit\":true}}", "pids.limit");
	parse_bad("{\"blockIO\":{\"weightDevice\":[{\"major\":8,\"weight\":1}]}}",
		  "blockIO.weightDevice[0]");
	parse_bad("{\"blockIO\":{\"weightDevice\":[{\"major\":8,\"minor\":0}]}}",
		  "weight or leafWeight");
	parse_bad("{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0}]}}",
		  "rate is required");
	parse_bad("{\"hugepageLimits\":[{\"pageSize\":\"2M\",\"limit\":1}]}", "hugepageLimits[0]");
	parse_bad("{\"hugepageLimits\":[{\"pageSize\":\"2MB\"}]}", "limit is required");
	parse_bad("{\"network\":{\"priorities\":[{\"name\":\"a b\",\"priority\":1}]}}",
		  "network.priorities[0]");
	parse_bad("{\"unified\":{\"../memory.max\":\"1\"}}", "unified.../memory.max");
	parse_bad("{\"unified\":{\"nodot\":\"1\"}}", "CONTROLLER.KEY");
	parse_bad("{\"unified\":{\"memory.max\":1}}", "expected a string");
	parse_bad("{\"devices\":[{\"access\":\"r\"}]}", "devices[0]: allow is required");
	parse_bad("{\"devices\":[{\"allow\":true,\"type\":\"x\"}]}", "devices[0].type");
	parse_bad("{\"devices\":[{\"allow\":true,\"access\":\"rx\"}]}", "devices[0].access");
	parse_bad("{\"rdma\":{\"d\":{}}}", "rdma.d");
	parse_bad("{\"memory\":[]}", "memory: expected an object");
}

static void test_container_devices(void **state)
{
	(void)state;
	vs_resources r;
	parse_ok("{\"devices\":[{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":1,\"access\":"
		 "\"r\"}]}",
		 &r);
	vs_res_device_node extra[] = { { 'b', 7, 0 }, { 'u', 4, 64 }, { 'p', 0, 0 } };
	vs_err err = { 0 };
	assert_int_equal(vs_resources_container_devices(&r, extra, 3, &err), 0);
	/* deny-all, the spec's rule, two linux.devices (the fifo has none), 12 defaults */
	assert_int_equal(r.n_devices, 1 + 1 + 2 + 12);
	assert_false(r.devices[0].allow);
	assert_int_equal(r.devices[0].type, 'a');
	assert_int_equal(r.devices[1].major, 1);
	assert_int_equal(r.devices[2].type, 'b');
	assert_int_equal(r.devices[3].type, 'c'); /* 'u' is a character device */
	assert_int_equal(r.devices[r.n_devices - 1].major, 10);
	vs_resources_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_empty_and_null),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_container_devices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
