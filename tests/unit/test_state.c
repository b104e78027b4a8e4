/* oci/state.c: id validation, state round trip, the OCI state document. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/proc.h"
#include "oci/state.h"

static void test_ids(void **state)
{
	(void)state;
	vs_err err = { 0 };
	assert_int_equal(vs_validate_id("abc-DEF_1.2+3", &err), 0);
	assert_int_equal(vs_validate_id("", &err), -1);
	assert_int_equal(vs_validate_id(".", &err), -1);
	assert_int_equal(vs_validate_id("..", &err), -1);
	assert_int_equal(vs_validate_id("a/b", &err), -1);
	assert_non_null(strstr(err.msg, "a/b"));
	assert_int_equal(vs_validate_id("a b", &err), -1);
	char long_id[VS_ID_MAX + 2];
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	assert_int_equal(vs_validate_id(long_id, &err), -1);
	long_id[VS_ID_MAX] = '\0';
	assert_int_equal(vs_validate_id(long_id, &err), 0);
}

static void test_round_trip(void **state)
{
	(void)state;
	char dir[] = "/tmp/vessel-unit-state.XXXXXX";
	assert_non_null(mkdtemp(dir));
	vs_state st = {
		.id = strdup("c1"),
		.bundle = strdup("/b"),
		.rootfs = strdup("/b/rootfs"),
		.backend = strdup("container"),
		.created = strdup("2026-01-01T00:00:00Z"),
		.pid = 1234,
		.start_time = 99,
		.status = VS_STATUS_CREATED,
		.annotations = json_tokener_parse("{\"k\":\"v\"}"),
	};
	vs_err err = { 0 };
	assert_int_equal(vs_state_save(dir, &st, &err), 0);
	vs_state back;
	assert_int_equal(vs_state_load(dir, &back, &err), 0);
	assert_string_equal(back.id, "c1");
	assert_string_equal(back.bundle, "/b");
	assert_int_equal(back.pid, 1234);
	assert_int_equal(back.start_time, 99);
	assert_int_equal(back.status, VS_STATUS_CREATED);
	json_object *o = vs_state_to_oci_json(&back, VS_STATUS_RUNNING);
	json_object *v;
	assert_true(json_object_object_get_ex(o, "status", &v));
	assert_string_equal(json_object_get_string(v), "running");
	assert_true(json_object_object_get_ex(o, "annotations", &v));
	assert_true(json_object_object_get_ex(v, "k", &v));
	assert_string_equal(json_object_get_string(v), "v");
	json_object_put(o);
	/* a stopped container reports pid 0 */
	o = vs_state_to_oci_json(&back, VS_STATUS_STOPPED);
	assert_true(json_object_object_get_ex(o, "pid", &v));
	assert_int_equal(json_object_get_int(v), 0);
	json_object_put(o);
	vs_state_clear(&st);
	vs_state_clear(&back);
	assert_int_equal(vs_remove_tree(dir, &err), 0);
}

static void test_corrupt_state(void **state)
{
	(void)state;
	char dir[] = "/tmp/vessel-unit-state.XXXXXX", p[PATH_MAX];
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/state.json", dir);
	vs_err err = { 0 };
	assert_int_equal(vs_write_file(p, "{not json", 9, 0600, &err), 0);
	vs_state st;
	assert_int_equal(vs_state_load(dir, &st, &err), -1);
	assert_non_null(strstr(err.msg, "corrupt"));
	assert_int_equal(vs_write_file(p, "{\"id\":\"x\"}", 10, 0600, &err), 0);
	assert_int_equal(vs_state_load(dir, &st, &err), -1);
	assert_int_equal(vs_remove_tree(dir, &err), 0);
}

static void test_proc_identity(void **state)
{
	(void)state;
	uint64_t st;
	char s;
	assert_int_equal(vs_proc_stat(getpid(), &st, &s), 0);
	assert_true(vs_proc_alive(getpid(), st));
	assert_false(vs_proc_alive(getpid(), st + 1)); /* a recycled pid */
	assert_false(vs_proc_alive(-5, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_corrupt_state),
		cmocka_unit_test(test_proc_identity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
