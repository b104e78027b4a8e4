/* oci/process_attrs: the values the init hands to the kernel (personality,
 * sched_attr, ioprio, mempolicy mode and node mask) from config.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/personality.h>

#include "oci/process_attrs.h"

static vs_process_attrs parse(const char *process, const char *linux_)
{
	json_object *p = process ? json_tokener_parse(process) : NULL;
	json_object *l = linux_ ? json_tokener_parse(linux_) : NULL;
	vs_process_attrs a;
	memset(&a, 0xff, sizeof(a)); /* parse must set every field */
	vs_err err = { 0 };
	int rc = vs_process_attrs_parse(p, l, &a, &err);
	if (rc)
		print_error("unexpected error: %s\n", err.msg);
	assert_int_equal(rc, 0);
	json_object_put(p);
	json_object_put(l);
	return a;
}

static void test_nothing_set(void **state)
{
	(void)state;
	vs_process_attrs a = parse("{}", "{}");
	assert_false(a.has_personality || a.has_scheduler || a.has_io_priority || a.has_mem_policy);
	a = parse(NULL, NULL);
	assert_false(a.has_personality || a.has_scheduler || a.has_io_priority || a.has_mem_policy);
	assert_false(vs_process_attrs_need_limits_first(&a));
}

static void test_personality(void **state)
{
	(void)state;
	vs_process_attrs a = parse(NULL, "{\"personality\":{\"domain\":\"LINUX32\"}}");
	assert_true(a.has_personality);
	assert_int_equal(a.personality, PER_LINUX32);
	a = parse(NULL, "{\"personality\":{\"domain\":\"LINUX\",\"flags\":[]}}");
	assert_int_equal(a.personality, PER_LINUX);
}

static void test_scheduler(void **state)
{
	(void)state;
	vs_process_attrs a =
		parse("{\"scheduler\":{\"policy\":\"SCHED_RR\",\"priority\":42,\"flags\":["
		      "\"SCHED_FLAG_RESET_ON_FORK\",\"SCHED_FLAG_KEEP_PARAMS\"]}}",
		      NULL);
	assert_true(a.has_scheduler);
	assert_int_equal(a.sched_policy, 2);
	assert_int_equal(a.sched_priority, 42);
	assert_int_equal(a.sched_flags, 0x11);
	assert_true(vs_process_attrs_need_limits_first(&a));
	a = parse("{\"scheduler\":{\"policy\":\"SCHED_DEADLINE\",\"runtime\":2000,"
		  "\"deadline\":3000,\"period\":4000,\"flags\":[\"SCHED_FLAG_DL_OVERRUN\"]}}",
		  NULL);
	assert_int_equal(a.sched_policy, 6);
	assert_int_equal(a.sched_runtime, 2000);
	assert_int_equal(a.sched_deadline, 3000);
	assert_int_equal(a.sched_period, 4000);
	assert_int_equal(a.sched_flags, 0x04);
	assert_false(vs_process_attrs_need_limits_first(&a));
	a = parse("{\"scheduler\":{\"policy\":\"SCHED_IDLE\",\"nice\":-20}}", NULL);
	assert_int_equal(a.sched_policy, 5);
	assert_int_equal(a.sched_nice, -20);
	assert_int_equal(a.sched_priority, 0);
}

static void test_io_priority(void **state)
{
	(void)state;
	/* IOPRIO_PRIO_VALUE(class, level) = class << 13 | level */
	vs_process_attrs a =
		parse("{\"ioPriority\":{\"class\":\"IOPRIO_CLASS_BE\",\"priority\":5}}", NULL);
	assert_true(a.has_io_priority);
	assert_int_equal(a.ioprio, (2 << 13) | 5);
	a = parse("{\"ioPriority\":{\"class\":\"IOPRIO_CLASS_IDLE\"}}", NULL);
	assert_int_equal(a.ioprio, 3 << 13);
}

static void test_memory_policy_nodes(void **state)
{
	(void)state;
	vs_process_attrs a = parse(NULL, "{\"memoryPolicy\":{\"mode\":\"MPOL_BIND\",\"nodes\":"
					 "\"0-3,5,64,1023\",\"flags\":[\"MPOL_F_STATIC_NODES\"]}}");
	assert_true(a.has_mem_policy);
	assert_true(a.mpol_has_nodes);
	assert_int_equal(a.mpol_mode, 2 | (1 << 15));
	assert_int_equal(a.mpol_nodes[0], 0x2f);
	assert_int_equal(a.mpol_nodes[1], 1);
	assert_int_equal(a.mpol_nodes[15], 1UL << 63);
	for (int i = 2; i < 15; i++)
		assert_int_equal(a.mpol_nodes[i], 0);
	a = parse(NULL, "{\"memoryPolicy\":{\"mode\":\"MPOL_PREFERRED\"}}");
	assert_int_equal(a.mpol_mode, 1);
	assert_false(a.mpol_has_nodes);
	a = parse(NULL,
		  "{\"memoryPolicy\":{\"mode\":\"MPOL_WEIGHTED_INTERLEAVE\",\"nodes\":\"0\"}}");
	assert_int_equal(a.mpol_mode, 6);
}

static void test_errors_leave_out_untouched(void **state)
{
	(void)state;
	json_object *l = json_tokener_parse("{\"personality\":{\"domain\":\"LINUX32\"},"
					    "\"memoryPolicy\":{\"mode\":\"MPOL_BIND\"}}");
	vs_process_attrs a = { 0 };
	vs_err err = { 0 };
	assert_int_equal(vs_process_attrs_parse(NULL, l, &a, &err), -1);
	assert_string_equal(err.msg, "config.json: linux.memoryPolicy.nodes: MPOL_BIND needs at "
				     "least one node");
	assert_false(a.has_personality);
	json_object_put(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_set),
		cmocka_unit_test(test_personality),
		cmocka_unit_test(test_scheduler),
		cmocka_unit_test(test_io_priority),
		cmocka_unit_test(test_memory_policy_nodes),
		cmocka_unit_test(test_errors_leave_out_untouched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
