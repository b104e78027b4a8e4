/* v1 <-> v2 conversions: cpu shares/weight, blkio/io weight, memory+swap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cgroup/convert.h"

static void test_shares_to_weight(void **state)
{
	(void)state;
	assert_int_equal(vs_cgroup_shares_to_weight(0), 0); /* unset stays unset */
	assert_int_equal(vs_cgroup_shares_to_weight(1), 1);
	assert_int_equal(vs_cgroup_shares_to_weight(2), 1);
	/* The point of the quadratic fit: the defaults map onto each other. */
	assert_int_equal(vs_cgroup_shares_to_weight(1024), 100);
	assert_int_equal(vs_cgroup_shares_to_weight(262144), 10000);
	assert_int_equal(vs_cgroup_shares_to_weight(1000000), 10000);
	/* Values runc/crun (opencontainers/cgroups) produce. */
	assert_int_equal(vs_cgroup_shares_to_weight(512), 59);
	assert_int_equal(vs_cgroup_shares_to_weight(2048), 174);
	assert_int_equal(vs_cgroup_shares_to_weight(10000), 627);
	uint64_t prev = 0;
	for (uint64_t s = 2; s <= 262144; s += 97) {
		uint64_t w = vs_cgroup_shares_to_weight(s);
		assert_true(w >= prev);
		assert_true(w >= 1 && w <= 10000);
		prev = w;
	}
}

static void test_weight_to_shares(void **state)
{
	(void)state;
	assert_int_equal(vs_cgroup_weight_to_shares(0), 0);
	assert_int_equal(vs_cgroup_weight_to_shares(1), 2);
	assert_int_equal(vs_cgroup_weight_to_shares(100), 1024);
	assert_int_equal(vs_cgroup_weight_to_shares(10000), 262144);
	/* Round trip: weight -> shares -> the same weight. */
	for (uint64_t w = 1; w <= 10000; w++)
		assert_int_equal(vs_cgroup_shares_to_weight(vs_cgroup_weight_to_shares(w)), w);
}

static void test_blkio_weight(void **state)
{
	(void)state;
	assert_int_equal(vs_cgroup_blkio_to_io_weight(0), 0);
	assert_int_equal(vs_cgroup_blkio_to_io_weight(10), 1);
	assert_int_equal(vs_cgroup_blkio_to_io_weight(1000), 10000);
	assert_int_equal(vs_cgroup_blkio_to_io_weight(500), 1 + 490 * 9999 / 990);
	assert_int_equal(vs_cgroup_blkio_to_io_weight(5), 1); /* clamped to the v1 range */
}

static void swap_ok(bool sset, int64_t swap, bool lset, int64_t limit, bool want_set, int64_t want)
{
	bool set;
	int64_t out;
	vs_err err = { 0 };
	assert_int_equal(vs_cgroup_swap_to_v2(sset, swap, lset, limit, &set, &out, &err), 0);
	assert_int_equal(set, want_set);
	if (want_set)
		assert_int_equal(out, want);
}

static void test_swap(void **state)
{
	(void)state;
	/* memory+swap 300M with memory 100M is 200M of swap alone */
	swap_ok(true, 300 << 20, true, 100 << 20, true, 200 << 20);
	swap_ok(true, 100 << 20, true, 100 << 20, true, 0); /* no swap at all */
	swap_ok(true, -1, true, 100 << 20, true, -1);	    /* unlimited */
	swap_ok(true, 0, true, 100 << 20, false, 0);	    /* 0 is unset (runc) */
	swap_ok(false, 0, true, 100 << 20, false, 0);
	swap_ok(false, 0, true, -1, true, -1); /* unlimited memory lifts swap too */
	bool set;
	int64_t out;
	vs_err err = { 0 };
	assert_int_equal(vs_cgroup_swap_to_v2(true, 50, true, 100, &set, &out, &err), -1);
	assert_non_null(strstr(err.msg, "memory.swap"));
	assert_int_equal(vs_cgroup_swap_to_v2(true, 50, false, 0, &set, &out, &err), -1);
	assert_non_null(strstr(err.msg, "needs memory.limit"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shares_to_weight),
		cmocka_unit_test(test_weight_to_shares),
		cmocka_unit_test(test_blkio_weight),
		cmocka_unit_test(test_swap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
