/* microvm/sizing.c: guest RAM and vCPUs from linux.resources and the
 * io.vessel.vm.* overrides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "microvm/sizing.h"
#include "vm/vm.h"

#define MIB (1LL << 20)

/* Size for resources JSON and annotations JSON (either may be NULL). */
static int size(const char *res, const char *ann, vs_microvm_size *out, vs_err *err)
{
	json_object *r = res ? json_tokener_parse(res) : NULL;
	json_object *a = ann ? json_tokener_parse(ann) : NULL;
	assert_true(!res || r);
	assert_true(!ann || a);
	vs_resources parsed = { 0 };
	assert_int_equal(vs_resources_parse(r, "linux.resources", &parsed, err), 0);
	int rc = vs_microvm_sizing(&parsed, a, out, err);
	vs_resources_clear(&parsed);
	json_object_put(r);
	json_object_put(a);
	return rc;
}

static vs_microvm_size ok(const char *res, const char *ann)
{
	vs_microvm_size s = { 0 };
	vs_err err = { 0 };
	if (size(res, ann, &s, &err) < 0)
		fail_msg("%s", err.msg);
	return s;
}

static void bad(const char *res, const char *ann, const char *needle)
{
	vs_microvm_size s = { 0 };
	vs_err err = { 0 };
	assert_int_equal(size(res, ann, &s, &err), -1);
	if (!strstr(err.msg, needle))
		fail_msg("\"%s\" not in \"%s\"", needle, err.msg);
}

static void test_defaults(void **state)
{
	(void)state;
	vs_microvm_size s = ok(NULL, NULL);
	assert_int_equal(s.memory_mib, VS_MICROVM_DEFAULT_GUEST_MIB);
	assert_int_equal(s.cpus, 1);
	s = ok("{\"memory\":{\"limit\":-1}}", NULL);
	assert_int_equal(s.memory_mib, VS_MICROVM_DEFAULT_GUEST_MIB);
	vs_microvm_size none = { 0 };
	vs_err err = { 0 };
	assert_int_equal(vs_microvm_sizing(NULL, NULL, &none, &err), 0);
	assert_int_equal(none.memory_mib, VS_MICROVM_DEFAULT_GUEST_MIB);
}

static void test_memory_limit(void **state)
{
	(void)state;
	char res[128];
	snprintf(res, sizeof(res), "{\"memory\":{\"limit\":%lld}}", 512 * MIB);
	assert_int_equal(ok(res, NULL).memory_mib, 512 - VS_MICROVM_OVERHEAD_MIB);
	/* Partial MiB round down: the guest never gets more than the limit. */
	snprintf(res, sizeof(res), "{\"memory\":{\"limit\":%lld}}", 512 * MIB + MIB - 1);
	assert_int_equal(ok(res, NULL).memory_mib, 512 - VS_MICROVM_OVERHEAD_MIB);
	/* The smallest limit that works, and one byte less. */
	long long min = (VS_MICROVM_MIN_GUEST_MIB + VS_MICROVM_OVERHEAD_MIB) * MIB;
	snprintf(res, sizeof(res), "{\"memory\":{\"limit\":%lld}}", min);
	assert_int_equal(ok(res, NULL).memory_mib, VS_MICROVM_MIN_GUEST_MIB);
	snprintf(res, sizeof(res), "{\"memory\":{\"limit\":%lld}}", min - 1);
	bad(res, NULL, "linux.resources.memory.limit");
	bad("{\"memory\":{\"limit\":1048576}}", NULL, "too small for a microvm");
}

static void test_memory_override(void **state)
{
	(void)state;
	static const struct {
		const char *v;
		uint64_t mib;
	} cases[] = { { "512", 512 }, { "512M", 512 },	{ "512MiB", 512 }, { "512MB", 512 },
		      { "2G", 2048 }, { "2GiB", 2048 }, { "64", 64 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char ann[96];
		snprintf(ann, sizeof(ann), "{\"io.vessel.vm.memory\":\"%s\"}", cases[i].v);
		assert_int_equal(ok(NULL, ann).memory_mib, cases[i].mib);
	}
	static const char *const bads[] = { "",	       "-1", "1.5G", "512K",
					    "12x",     "G",  " 512", "99999999999999999999",
					    "4194305G" };
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		char ann[96];
		snprintf(ann, sizeof(ann), "{\"io.vessel.vm.memory\":\"%s\"}", bads[i]);
		bad(NULL, ann, "annotation io.vessel.vm.memory");
	}
	bad(NULL, "{\"io.vessel.vm.memory\":\"63\"}", "below the minimum");
	bad(NULL, "{\"io.vessel.vm.memory\":512}", "io.vessel.vm.memory: must be a string");
	/* Within the limit less the monitor's reserve, and not beyond it. */
	char res[128];
	snprintf(res, sizeof(res), "{\"memory\":{\"limit\":%lld}}", 1024 * MIB);
	assert_int_equal(ok(res, "{\"io.vessel.vm.memory\":\"256\"}").memory_mib, 256);
	assert_int_equal(ok(res, "{\"io.vessel.vm.memory\":\"1016\"}").memory_mib, 1016);
	bad(res, "{\"io.vessel.vm.memory\":\"1G\"}", "does not fit linux.resources.memory.limit");
}

static void test_cpus(void **state)
{
	(void)state;
	assert_int_equal(ok("{\"cpu\":{\"quota\":100000,\"period\":100000}}", NULL).cpus, 1);
	assert_int_equal(ok("{\"cpu\":{\"quota\":150000,\"period\":100000}}", NULL).cpus, 2);
	assert_int_equal(ok("{\"cpu\":{\"quota\":50000,\"period\":100000}}", NULL).cpus, 1);
	assert_int_equal(ok("{\"cpu\":{\"quota\":400000}}", NULL).cpus, 4); /* default period */
	assert_int_equal(ok("{\"cpu\":{\"quota\":-1,\"period\":100000}}", NULL).cpus, 1);
	assert_int_equal(ok("{\"cpu\":{\"cpus\":\"0-3\"}}", NULL).cpus, 4);
	assert_int_equal(ok("{\"cpu\":{\"cpus\":\"0,2,4-5\"}}", NULL).cpus, 4);
	/* Both: the smaller. */
	assert_int_equal(
		ok("{\"cpu\":{\"cpus\":\"0-7\",\"quota\":200000,\"period\":100000}}", NULL).cpus,
		2);
	assert_int_equal(
		ok("{\"cpu\":{\"cpus\":\"1\",\"quota\":800000,\"period\":100000}}", NULL).cpus, 1);
	/* Capped at the monitor's maximum. */
	assert_int_equal(ok("{\"cpu\":{\"quota\":100000000,\"period\":1000}}", NULL).cpus,
			 VS_VM_MAX_CPUS);
	assert_int_equal(ok("{\"cpu\":{\"cpus\":\"0-200\"}}", NULL).cpus, VS_VM_MAX_CPUS);
}

static void test_cpus_override(void **state)
{
	(void)state;
	assert_int_equal(ok("{\"cpu\":{\"cpus\":\"0-3\"}}", "{\"io.vessel.vm.cpus\":\"2\"}").cpus,
			 2);
	assert_int_equal(ok(NULL, "{\"io.vessel.vm.cpus\":\"64\"}").cpus, 64);
	static const char *const bads[] = { "0", "65", "-1", "", "2x", " 2", "1.5", "+2" };
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		char ann[96];
		snprintf(ann, sizeof(ann), "{\"io.vessel.vm.cpus\":\"%s\"}", bads[i]);
		bad(NULL, ann, "annotation io.vessel.vm.cpus");
	}
}

static void test_bad_cpuset(void **state)
{
	(void)state;
	/* The cpuset list is not range-checked by the parser; sizing reads it. */
	static const char *const bads[] = { "3-1", "a", "1,", "1--2", "-1", "1-" };
	size_t reached = 0;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		char res[96];
		snprintf(res, sizeof(res), "{\"cpu\":{\"cpus\":\"%s\"}}", bads[i]);
		vs_microvm_size s = { 0 };
		vs_err err = { 0 };
		json_object *r = json_tokener_parse(res);
		vs_resources parsed = { 0 };
		if (vs_resources_parse(r, "linux.resources", &parsed, &err) == 0) {
			assert_int_equal(vs_microvm_sizing(&parsed, NULL, &s, &err), -1);
			assert_non_null(strstr(err.msg, "linux.resources.cpu.cpus"));
			reached++;
		}
		vs_resources_clear(&parsed);
		json_object_put(r);
	}
	assert_int_equal(reached, 5); /* all but "a" */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),	cmocka_unit_test(test_memory_limit),
		cmocka_unit_test(test_memory_override), cmocka_unit_test(test_cpus),
		cmocka_unit_test(test_cpus_override),	cmocka_unit_test(test_bad_cpuset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
