/* oci/netdev.c: linux.netDevices parsing and interface name rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "oci/netdev.h"

static void test_names(void **state)
{
	(void)state;
	assert_true(vs_netdev_name_ok("eth0"));
	assert_true(vs_netdev_name_ok("a23456789012345")); /* 15: IFNAMSIZ - 1 */
	static const char *const bad[] = {
		"", "a234567890123456", ".", "..", "a/b", "a:b", "a b", "a\tb", NULL
	};
	for (int i = 0; bad[i]; i++)
		if (vs_netdev_name_ok(bad[i]))
			fail_msg("\"%s\" accepted", bad[i]);
}

static int parse(const char *doc, bool new_netns, vs_netdevs *d, vs_err *err)
{
	json_object *o = json_tokener_parse(doc);
	assert_non_null(o);
	int rc = vs_netdevs_parse(o, new_netns, d, err);
	json_object_put(o);
	return rc;
}

static void test_parse(void **state)
{
	(void)state;
	vs_netdevs d;
	vs_err err = { 0 };
	assert_int_equal(
		parse("{\"netDevices\":{\"eth1\":{\"name\":\"c0\"},\"eth2\":{}}}", true, &d, &err),
		0);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.v[0].host_name, "eth1");
	assert_string_equal(d.v[0].name, "c0");
	assert_string_equal(d.v[1].name, "eth2"); /* keeps its name */
	vs_netdevs_free(&d);
	assert_int_equal(parse("{}", false, &d, &err), 0);
	assert_int_equal(d.n, 0);
	vs_netdevs_free(&d);
	assert_int_equal(parse("{\"netDevices\":{\"eth1\":{}}}", false, &d, &err), -1);
	assert_non_null(strstr(err.msg, "needs a new network namespace"));
	vs_netdevs_free(&d);
	assert_int_equal(parse("{\"netDevices\":[]}", true, &d, &err), -1);
	assert_non_null(strstr(err.msg, "config.json: linux.netDevices"));
	vs_netdevs_free(&d);
	assert_int_equal(parse("{\"netDevices\":{\"eth1\":{\"name\":\"x/y\"}}}", true, &d, &err),
			 -1);
	assert_non_null(strstr(err.msg, "config.json: linux.netDevices.eth1.name"));
	vs_netdevs_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
