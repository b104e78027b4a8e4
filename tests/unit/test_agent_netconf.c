/* agent/netconf: addresses, MACs and the network request's errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/netconf.h"

static void test_addresses(void **state)
{
	(void)state;
	vs_net_addr a;
	assert_int_equal(vs_net_parse_addr("10.0.0.2/24", false, &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(a.prefix, 24);
	assert_memory_equal(a.addr, "\x0a\x00\x00\x02", 4);
	assert_int_equal(vs_net_parse_addr("fd00::2/64", false, &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(a.prefix, 64);
	assert_int_equal(vs_net_parse_addr("10.0.0.1", true, &a), 0);
	assert_int_equal(a.prefix, 32);
	assert_int_equal(vs_net_parse_addr("10.0.0.1", false, &a), -1);
	assert_int_equal(vs_net_parse_addr("10.0.0.1/33", false, &a), -1);
	assert_int_equal(vs_net_parse_addr("fd00::1/129", false, &a), -1);
	assert_int_equal(vs_net_parse_addr("10.0.0.1/", false, &a), -1);
	assert_int_equal(vs_net_parse_addr("10.0.0.1/2x", false, &a), -1);
	assert_int_equal(vs_net_parse_addr("10.0.0.1/-1", false, &a), -1);
	assert_int_equal(vs_net_parse_addr("10.0.0/8", false, &a), -1);
	assert_int_equal(vs_net_parse_addr("", true, &a), -1);
}

static void test_macs(void **state)
{
	(void)state;
	uint8_t m[6];
	assert_int_equal(vs_net_parse_mac("02:42:AC:11:00:0f", m), 0);
	assert_memory_equal(m, "\x02\x42\xac\x11\x00\x0f", 6);
	assert_int_equal(vs_net_parse_mac("02:42:ac:11:00", m), -1);
	assert_int_equal(vs_net_parse_mac("02-42-ac-11-00-02", m), -1);
	assert_int_equal(vs_net_parse_mac("02:42:ac:11:00:0g", m), -1);
	assert_int_equal(vs_net_parse_mac("02:42:ac:11:00:022", m), -1);
}

static void bad(const char *json, const char *want)
{
	json_object *o = json_tokener_parse(json);
	assert_non_null(o);
	vs_net_config c;
	vs_err err = { 0 };
	assert_int_equal(vs_net_config_parse(o, &c, &err), -1);
	vs_net_config_free(&c);
	json_object_put(o);
	if (!strstr(err.msg, want))
		print_error("got \"%s\", want \"%s\"\n", err.msg, want);
	assert_non_null(strstr(err.msg, want));
}

static void test_request(void **state)
{
	(void)state;
	json_object *o = json_tokener_parse(
		"{\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"02:00:00:00:00:01\",\"mtu\":1400,"
		"\"addresses\":[\"10.0.0.2/24\",\"fd00::2/64\"]}],"
		"\"routes\":[{\"dst\":\"default\",\"gateway\":\"fd00::1\"},"
		"{\"dst\":\"10.1.0.0/16\",\"dev\":\"eth0\"}]}");
	vs_net_config c;
	vs_err err = { 0 };
	assert_int_equal(vs_net_config_parse(o, &c, &err), 0);
	assert_int_equal(c.n_ifaces, 1);
	assert_string_equal(c.ifaces[0].name, "eth0");
	assert_true(c.ifaces[0].has_mac);
	assert_int_equal(c.ifaces[0].mtu, 1400);
	assert_int_equal(c.ifaces[0].n_addrs, 2);
	assert_int_equal(c.n_routes, 2);
	assert_true(c.routes[0].is_default);
	assert_int_equal(c.routes[0].dst.family, AF_INET6);
	assert_false(c.routes[1].has_gateway);
	assert_string_equal(c.routes[1].dev, "eth0");
	vs_net_config_free(&c);
	json_object_put(o);

	bad("{\"interfaces\":{}}", "network: interfaces: expected an array");
	bad("{\"interfaces\":[{}]}", "network: interfaces[0].name: required");
	bad("{\"interfaces\":[{\"name\":\"a-very-long-interface-name\"}]}",
	    "network: interfaces[0].name: \"a-very-long-interface-name\" is not an interface name");
	bad("{\"interfaces\":[{\"name\":\"../x\"}]}", "is not an interface name");
	bad("{\"interfaces\":[{\"name\":\"e\",\"addresses\":[7]}]}",
	    "network: interfaces[0].addresses[0]: expected an address/prefix");
	bad("{\"routes\":[{\"gateway\":\"10.0.0.1\"}]}", "network: routes[0].dst: required");
	bad("{\"routes\":[{\"dst\":\"10.0.0.0/8\"}]}",
	    "network: routes[0]: needs a gateway or a dev");
	bad("{\"routes\":[{\"dst\":\"default\",\"gateway\":\"x\"}]}",
	    "network: routes[0].gateway: \"x\" is not an address");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_macs),
		cmocka_unit_test(test_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
