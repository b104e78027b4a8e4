/* core/json: each typed getter on a present, absent, null, wrongly typed and
 * out of range member, and the key paths its messages carry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/strv.h"

#define W "config.json: linux.x"

static json_object *doc(const char *text)
{
	json_object *o = json_tokener_parse(text);
	assert_non_null(o);
	return o;
}

static void assert_msg(const vs_err *err, const char *want)
{
	if (strcmp(err->msg, want))
		print_error("got \"%s\", want \"%s\"\n", err->msg, want);
	assert_string_equal(err->msg, want);
}

static void test_path_joining(void **state)
{
	(void)state;
	char buf[64];
	assert_string_equal(vs_json_path(buf, sizeof(buf), "config.json:", "process"),
			    "config.json: process");
	assert_string_equal(vs_json_path(buf, sizeof(buf), "config.json: process", "cwd"),
			    "config.json: process.cwd");
	assert_string_equal(vs_json_path(buf, sizeof(buf), "", "cwd"), "cwd");
	assert_string_equal(vs_json_index(buf, sizeof(buf), "config.json: mounts", 3),
			    "config.json: mounts[3]");
	/* Truncation stays terminated. */
	char small[8];
	vs_json_path(small, sizeof(small), "config.json: process", "cwd");
	assert_int_equal(strlen(small), sizeof(small) - 1);

	vs_err err = { 0 };
	assert_int_equal(vs_json_fail(&err, W, "k", "bad %d", 7), -1);
	assert_msg(&err, W ".k: bad 7");
	assert_int_equal(vs_json_fail(&err, W "[2]", NULL, "no"), -1);
	assert_msg(&err, W "[2]: no");
}

static void test_string(void **state)
{
	(void)state;
	json_object *o = doc("{\"s\":\"v\",\"n\":null,\"i\":1}");
	vs_err err = { 0 };
	char *s = NULL;
	assert_int_equal(vs_json_get_string(o, W, "s", &s, &err), 1);
	assert_string_equal(s, "v");
	free(s);
	s = NULL;
	assert_int_equal(vs_json_get_string(o, W, "absent", &s, &err), 0);
	assert_int_equal(vs_json_get_string(o, W, "n", &s, &err), 0);
	assert_int_equal(vs_json_get_string(NULL, W, "s", &s, &err), 0);
	assert_null(s);
	assert_int_equal(vs_json_get_string(o, W, "i", &s, &err), -1);
	assert_msg(&err, W ".i: expected a string");
	assert_null(s);
	const char *c = NULL;
	assert_int_equal(vs_json_get_cstr(o, W, "s", &c, &err), 1);
	assert_string_equal(c, "v");
	json_object_put(o);
}

static void test_bool(void **state)
{
	(void)state;
	json_object *o = doc("{\"t\":true,\"n\":null,\"s\":\"true\",\"i\":1}");
	vs_err err = { 0 };
	bool b = false;
	assert_int_equal(vs_json_get_bool(o, W, "t", &b, &err), 1);
	assert_true(b);
	b = false;
	assert_int_equal(vs_json_get_bool(o, W, "absent", &b, &err), 0);
	assert_int_equal(vs_json_get_bool(o, W, "n", &b, &err), 0);
	assert_false(b);
	assert_int_equal(vs_json_get_bool(o, W, "s", &b, &err), -1);
	assert_msg(&err, W ".s: expected a boolean");
	assert_int_equal(vs_json_get_bool(o, W, "i", &b, &err), -1);
	json_object_put(o);
}

static void test_int(void **state)
{
	(void)state;
	json_object *o = doc("{\"a\":5,\"neg\":-3,\"n\":null,\"s\":\"5\",\"f\":1.5,"
			     "\"big\":18446744073709551615,\"min\":-9223372036854775808}");
	vs_err err = { 0 };
	int64_t x = 42;
	assert_int_equal(vs_json_get_int(o, W, "a", 0, 10, &x, &err), 1);
	assert_int_equal(x, 5);
	x = 42;
	assert_int_equal(vs_json_get_int(o, W, "absent", 0, 10, &x, &err), 0);
	assert_int_equal(vs_json_get_int(o, W, "n", 0, 10, &x, &err), 0);
	assert_int_equal(x, 42);
	assert_int_equal(vs_json_get_int(o, W, "s", 0, 10, &x, &err), -1);
	assert_msg(&err, W ".s: expected an integer");
	assert_int_equal(vs_json_get_int(o, W, "f", 0, 10, &x, &err), -1);
	assert_msg(&err, W ".f: expected an integer");
	assert_int_equal(vs_json_get_int(o, W, "a", 0, 4, &x, &err), -1);
	assert_msg(&err, W ".a: 5 is out of range [0, 4]");
	assert_int_equal(vs_json_get_int(o, W, "neg", 0, 4, &x, &err), -1);
	assert_msg(&err, W ".neg: -3 is out of range [0, 4]");
	assert_int_equal(x, 42);
	/* Above INT64_MAX: json-c clamps get_int64, the getter must not. */
	assert_int_equal(vs_json_get_int(o, W, "big", INT64_MIN, INT64_MAX, &x, &err), -1);
	assert_msg(&err, W ".big: 18446744073709551615 is out of range "
			   "[-9223372036854775808, 9223372036854775807]");
	assert_int_equal(vs_json_get_int(o, W, "min", INT64_MIN, INT64_MAX, &x, &err), 1);
	assert_true(x == INT64_MIN);
	json_object_put(o);
}

static void test_u64(void **state)
{
	(void)state;
	json_object *o = doc("{\"a\":7,\"neg\":-1,\"n\":null,\"b\":false,"
			     "\"big\":18446744073709551615,\"mid\":9223372036854775808}");
	vs_err err = { 0 };
	uint64_t x = 42;
	assert_int_equal(vs_json_get_u64(o, W, "a", 10, &x, &err), 1);
	assert_int_equal(x, 7);
	x = 42;
	assert_int_equal(vs_json_get_u64(o, W, "absent", 10, &x, &err), 0);
	assert_int_equal(vs_json_get_u64(o, W, "n", 10, &x, &err), 0);
	assert_int_equal(x, 42);
	assert_int_equal(vs_json_get_u64(o, W, "b", 10, &x, &err), -1);
	assert_msg(&err, W ".b: expected an integer");
	assert_int_equal(vs_json_get_u64(o, W, "neg", 10, &x, &err), -1);
	assert_msg(&err, W ".neg: must not be negative");
	assert_int_equal(vs_json_get_u64(o, W, "a", 6, &x, &err), -1);
	assert_msg(&err, W ".a: must be at most 6");
	/* Values above INT64_MAX are kept whole, not clamped or negative. */
	assert_int_equal(vs_json_get_u64(o, W, "big", UINT64_MAX, &x, &err), 1);
	assert_true(x == UINT64_MAX);
	assert_int_equal(vs_json_get_u64(o, W, "mid", UINT64_MAX, &x, &err), 1);
	assert_true(x == (uint64_t)INT64_MAX + 1);
	assert_int_equal(vs_json_get_u64(o, W, "mid", (uint64_t)INT64_MAX, &x, &err), -1);
	assert_msg(&err, W ".mid: must be at most 9223372036854775807");
	json_object_put(o);
}

static void test_object_and_array(void **state)
{
	(void)state;
	json_object *o = doc("{\"o\":{},\"a\":[],\"n\":null}");
	vs_err err = { 0 };
	json_object *v = (json_object *)1;
	assert_int_equal(vs_json_get_object(o, W, "o", &v, &err), 1);
	assert_true(json_object_is_type(v, json_type_object));
	assert_int_equal(vs_json_get_object(o, W, "absent", &v, &err), 0);
	assert_null(v);
	assert_int_equal(vs_json_get_object(o, W, "n", &v, &err), 0);
	assert_null(v);
	assert_int_equal(vs_json_get_object(o, W, "a", &v, &err), -1);
	assert_msg(&err, W ".a: expected an object");
	assert_int_equal(vs_json_get_array(o, W, "a", &v, &err), 1);
	assert_true(json_object_is_type(v, json_type_array));
	assert_int_equal(vs_json_get_array(o, W, "n", &v, &err), 0);
	assert_int_equal(vs_json_get_array(o, W, "o", &v, &err), -1);
	assert_msg(&err, W ".o: expected an array");
	json_object_put(o);
}

static void test_strv(void **state)
{
	(void)state;
	json_object *o = doc("{\"v\":[\"a\",\"b\"],\"e\":[],\"n\":null,\"bad\":[\"a\",1],"
			     "\"s\":\"a\"}");
	vs_err err = { 0 };
	char **v = NULL;
	size_t n = 99;
	assert_int_equal(vs_json_get_strv(o, W, "v", &v, &n, &err), 1);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	assert_null(v[2]);
	vs_strv_free(v);
	v = NULL;
	assert_int_equal(vs_json_get_strv(o, W, "e", &v, &n, &err), 1);
	assert_int_equal(n, 0);
	assert_null(v[0]);
	vs_strv_free(v);
	v = NULL;
	assert_int_equal(vs_json_get_strv(o, W, "n", &v, &n, &err), 0);
	assert_int_equal(vs_json_get_strv(o, W, "absent", &v, NULL, &err), 0);
	assert_null(v);
	/* A bad element: the whole vector is freed (ASan checks), out untouched. */
	assert_int_equal(vs_json_get_strv(o, W, "bad", &v, &n, &err), -1);
	assert_msg(&err, W ".bad[1]: expected a string");
	assert_null(v);
	assert_int_equal(vs_json_get_strv(o, W, "s", &v, &n, &err), -1);
	assert_msg(&err, W ".s: expected an array");
	json_object_put(o);
}

static void test_bare_values(void **state)
{
	(void)state;
	json_object *o = doc("[3,-1,\"x\"]");
	vs_err err = { 0 };
	int64_t i;
	uint64_t u;
	assert_int_equal(vs_json_as_int(json_object_array_get_idx(o, 0), W "[0]", 0, 5, &i, &err),
			 1);
	assert_int_equal(i, 3);
	assert_int_equal(vs_json_as_int(json_object_array_get_idx(o, 1), W "[1]", 0, 5, &i, &err),
			 -1);
	assert_msg(&err, W "[1]: -1 is out of range [0, 5]");
	assert_int_equal(vs_json_as_u64(json_object_array_get_idx(o, 2), W "[2]", 5, &u, &err), -1);
	assert_msg(&err, W "[2]: expected an integer");
	assert_int_equal(vs_json_as_u64(json_object_array_get_idx(o, 1), W "[1]", 5, &u, &err), -1);
	assert_msg(&err, W "[1]: must not be negative");
	json_object_put(o);
}

static void test_enum(void **state)
{
	(void)state;
	static const vs_json_enum names[] = { { "ONE", 1 }, { "TWO", 2 }, { NULL, 0 } };
	json_object *o = doc("{\"a\":\"TWO\",\"b\":\"THREE\",\"c\":2,\"n\":null}");
	vs_err err = { 0 };
	int64_t x = 0;
	assert_int_equal(vs_json_get_enum(o, W, "a", names, "number", &x, &err), 1);
	assert_int_equal(x, 2);
	x = 0;
	assert_int_equal(vs_json_get_enum(o, W, "n", names, "number", &x, &err), 0);
	assert_int_equal(vs_json_get_enum(o, W, "absent", names, "number", &x, &err), 0);
	assert_int_equal(x, 0);
	assert_int_equal(vs_json_get_enum(o, W, "b", names, "number", &x, &err), -1);
	assert_msg(&err, W ".b: unknown number \"THREE\"");
	assert_int_equal(vs_json_get_enum(o, W, "c", names, "number", &x, &err), -1);
	assert_msg(&err, W ".c: expected a string");
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_joining), cmocka_unit_test(test_string),
		cmocka_unit_test(test_bool),	     cmocka_unit_test(test_int),
		cmocka_unit_test(test_u64),	     cmocka_unit_test(test_object_and_array),
		cmocka_unit_test(test_strv),	     cmocka_unit_test(test_bare_values),
		cmocka_unit_test(test_enum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
