/* config.json parsing: types, required fields, mount options, rejection of
 * bad input with a message naming the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <linux/mount.h>

#include "oci/config.h"
#include "oci/consistency.h"

static const char *bundle = "/";

#define BASE_HEAD "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/\"},"
#define BASE_PROC "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"}"

static vs_config *parse_ok(const char *json)
{
	vs_config *c = NULL;
	vs_err err = { 0 };
	int rc = vs_config_parse(json, bundle, &c, &err);
	if (rc != 0)
		print_error("unexpected error: %s\n", err.msg);
	assert_int_equal(rc, 0);
	return c;
}

static void expect_error(const char *json, const char *fragment)
{
	vs_config *c = NULL;
	vs_err err = { 0 };
	assert_int_equal(vs_config_parse(json, bundle, &c, &err), -1);
	assert_null(c);
	if (!strstr(err.msg, fragment))
		print_error("message \"%s\" lacks \"%s\"\n", err.msg, fragment);
	assert_non_null(strstr(err.msg, fragment));
}

static void test_minimal(void **state)
{
	(void)state;
	vs_config *c = parse_ok(BASE_HEAD BASE_PROC "}");
	assert_string_equal(c->process.args[0], "sh");
	assert_null(c->process.args[1]);
	assert_string_equal(c->root_path, "/");
	assert_false(c->ns[VS_NS_PID].present);
	vs_config_free(c);
}

static void test_invalid_json(void **state)
{
	(void)state;
	expect_error("{\"ociVersion\":", "invalid JSON");
	expect_error("[1,2]", "expected a JSON object");
}

static void test_wrong_types(void **state)
{
	(void)state;
	expect_error(BASE_HEAD "\"process\":{\"args\":\"sh\",\"cwd\":\"/\"}}",
		     "process.args: expected an array");
	expect_error(BASE_HEAD "\"process\":{\"args\":[1],\"cwd\":\"/\"}}",
		     "process.args[0]: expected a string");
	expect_error(BASE_HEAD BASE_PROC ",\"hostname\":5}", "hostname: expected a string");
	expect_error(BASE_HEAD "\"process\":{\"args\":[\"sh\"],\"cwd\":\"rel\"}}", "process.cwd");
	expect_error(BASE_HEAD
		     "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"user\":{\"uid\":-1}}}",
		     "process.user.uid");
}

static void test_missing_rootfs(void **state)
{
	(void)state;
	expect_error("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/"
		     "nonexistent-vessel-root\"}," BASE_PROC "}",
		     "root.path");
	expect_error("{\"ociVersion\":\"1.0.2\"," BASE_PROC "}", "root.path: required");
}

static void test_namespaces(void **state)
{
	(void)state;
	vs_config *c = parse_ok(BASE_HEAD BASE_PROC
				",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},"
				"{\"type\":\"network\",\"path\":\"/proc/1/ns/net\"}]}}");
	assert_true(c->ns[VS_NS_PID].present);
	assert_null(c->ns[VS_NS_PID].path);
	assert_string_equal(c->ns[VS_NS_NET].path, "/proc/1/ns/net");
	vs_config_free(c);
	expect_error(BASE_HEAD BASE_PROC
		     ",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}}",
		     "duplicate namespace \"pid\"");
	expect_error(BASE_HEAD BASE_PROC ",\"linux\":{\"namespaces\":[{\"type\":\"bogus\"}]}}",
		     "unknown namespace \"bogus\"");
	expect_error(BASE_HEAD BASE_PROC ",\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}}",
		     "uidMappings/gidMappings: required");
}

static void test_rlimits(void **state)
{
	(void)state;
	vs_config *c =
		parse_ok(BASE_HEAD "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"rlimits\":["
				   "{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":20}]}}");
	assert_int_equal(c->process.n_rlimits, 1);
	assert_int_equal(c->process.rlimits[0].soft, 10);
	assert_int_equal(c->process.rlimits[0].hard, 20);
	vs_config_free(c);
	expect_error(BASE_HEAD "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"rlimits\":["
			       "{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":2},"
			       "{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":2}]}}",
		     "duplicate rlimit RLIMIT_NOFILE");
	expect_error(BASE_HEAD "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"rlimits\":["
			       "{\"type\":\"RLIMIT_BOGUS\",\"soft\":1,\"hard\":2}]}}",
		     "unknown rlimit");
	expect_error(BASE_HEAD "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"rlimits\":["
			       "{\"type\":\"RLIMIT_CORE\",\"soft\":3,\"hard\":2}]}}",
		     "soft limit above hard");
}

static void test_mount_options(void **state)
{
	(void)state;
	vs_config *c = parse_ok(
		BASE_HEAD BASE_PROC
		",\"mounts\":[{\"destination\":\"/x\",\"type\":\"tmpfs\","
		"\"source\":\"tmpfs\",\"options\":[\"ro\",\"nosuid\",\"size=1k\","
		"\"rprivate\",\"rnoexec\",\"mode=755\"]},"
		"{\"destination\":\"/y\",\"source\":\"/tmp\",\"options\":[\"rbind\",\"rw\"]}]}");
	assert_int_equal(c->n_mounts, 2);
	vs_mount *m = &c->mounts[0];
	assert_true(m->flags & MS_RDONLY);
	assert_true(m->flags & MS_NOSUID);
	assert_int_equal(m->propagation, MS_PRIVATE | MS_REC);
	assert_int_equal(m->attr_set, MOUNT_ATTR_NOEXEC);
	assert_string_equal(m->data, "size=1k,mode=755");
	assert_false(m->bind);
	assert_true(c->mounts[1].bind);
	assert_true(c->mounts[1].flags & MS_REC);
	assert_true(c->mounts[1].has_rw);
	vs_config_free(c);
	expect_error(BASE_HEAD BASE_PROC
		     ",\"mounts\":[{\"destination\":\"rel\",\"type\":\"tmpfs\"}]}",
		     "mounts[0].destination");
	expect_error(BASE_HEAD BASE_PROC ",\"mounts\":[{\"destination\":\"/a\"}]}",
		     "mounts[0].type: required");
}

static void test_capabilities(void **state)
{
	(void)state;
	vs_config *c =
		parse_ok(BASE_HEAD "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"capabilities\":{"
				   "\"bounding\":[\"CAP_CHOWN\",\"CAP_NOT_A_REAL_ONE\"],"
				   "\"effective\":[\"CAP_KILL\"]}}}");
	assert_true(c->process.has_caps);
	assert_int_equal(c->process.caps[VS_CAP_BOUNDING], 1ULL << 0);
	assert_int_equal(c->process.caps[VS_CAP_EFFECTIVE], 1ULL << 5);
	vs_config_free(c);
}

static void test_hostname_needs_uts(void **state)
{
	(void)state;
	expect_error(BASE_HEAD BASE_PROC ",\"hostname\":\"h\"}", "hostname: needs a uts namespace");
	expect_error(BASE_HEAD BASE_PROC ",\"domainname\":\"d\"}",
		     "domainname: needs a uts namespace");
	/* A joined one is set inside it (runc, crun). */
	vs_config *c = parse_ok(BASE_HEAD BASE_PROC
				",\"hostname\":\"h\",\"linux\":{"
				"\"namespaces\":[{\"type\":\"uts\",\"path\":\"/proc/1/ns/uts\"},"
				"{\"type\":\"mount\"}]}}");
	assert_string_equal(c->hostname, "h");
	vs_config_free(c);
}

static void test_uts_sysctl_contradiction(void **state)
{
	(void)state;
	expect_error(BASE_HEAD BASE_PROC ",\"hostname\":\"a\",\"linux\":{\"namespaces\":["
					 "{\"type\":\"uts\"},{\"type\":\"mount\"}],"
					 "\"sysctl\":{\"kernel.hostname\":\"b\"}}}",
		     "linux.sysctl.kernel.hostname: \"b\" contradicts hostname \"a\"");
}

static void expect_mount_ns_error(const char *json, const char *fragment)
{
	vs_config *c = parse_ok(json);
	vs_err err = { 0 };
	assert_int_equal(vs_config_check_mount_namespace(c, &err), -1);
	if (!strstr(err.msg, fragment))
		fail_msg("\"%s\" lacks \"%s\"", err.msg, fragment);
	vs_config_free(c);
}

/* The container backend's check: no mount namespace, nothing that mounts. */
static void test_no_mount_namespace_refuses_mounting_fields(void **state)
{
	(void)state;
	expect_mount_ns_error(BASE_HEAD BASE_PROC ",\"mounts\":[{\"destination\":\"/proc\","
						  "\"type\":\"proc\",\"source\":\"proc\"}]}",
			      "mounts[0] (/proc): needs a mount namespace");
	expect_mount_ns_error(BASE_HEAD BASE_PROC ",\"linux\":{\"maskedPaths\":[\"/proc/kcore\"]}}",
			      "linux.maskedPaths: needs a mount namespace");
	expect_mount_ns_error(BASE_HEAD BASE_PROC ",\"linux\":{\"readonlyPaths\":[\"/proc/sys\"]}}",
			      "linux.readonlyPaths: needs a mount namespace");
	expect_mount_ns_error(
		"{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/\",\"readonly\":true}," BASE_PROC
		"}",
		"root.readonly: needs a mount namespace");
	expect_mount_ns_error(BASE_HEAD BASE_PROC ",\"linux\":{\"rootfsPropagation\":\"shared\"}}",
			      "linux.rootfsPropagation: needs a mount namespace");
	vs_config *c = parse_ok(BASE_HEAD BASE_PROC "}");
	vs_err err = { 0 };
	assert_int_equal(vs_config_check_mount_namespace(c, &err), 0);
	vs_config_free(c);
	c = parse_ok(BASE_HEAD BASE_PROC
		     ",\"mounts\":[{\"destination\":\"/proc\",\"type\":"
		     "\"proc\",\"source\":\"proc\"}],\"linux\":{\"namespaces\":[{\"type\":"
		     "\"mount\"}]}}");
	assert_int_equal(vs_config_check_mount_namespace(c, &err), 0);
	vs_config_free(c);
}

static void test_errors_name_the_key(void **state)
{
	(void)state;
	expect_error(BASE_HEAD BASE_PROC
		     ",\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\","
		     "\"major\":\"one\",\"minor\":1}]}}",
		     "linux.devices[0].major: expected an integer");
	expect_error(BASE_HEAD BASE_PROC
		     ",\"linux\":{\"namespaces\":[{\"type\":\"user\"}],"
		     "\"uidMappings\":[{\"containerID\":0,\"hostID\":-5,\"size\":1}]}}",
		     "linux.uidMappings[0].hostID: -5 is out of range [0, 4294967295]");
	expect_error(BASE_HEAD "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"rlimits\":["
			       "{\"type\":\"RLIMIT_NOFILE\",\"soft\":1}]}}",
		     "process.rlimits[0]: soft and hard are required");
	expect_error(BASE_HEAD
		     "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"user\":{\"uid\":1}}}",
		     "process.user: uid and gid are required");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_invalid_json),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_missing_rootfs),
		cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_rlimits),
		cmocka_unit_test(test_mount_options),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_hostname_needs_uts),
		cmocka_unit_test(test_uts_sysctl_contradiction),
		cmocka_unit_test(test_no_mount_namespace_refuses_mounting_fields),
		cmocka_unit_test(test_errors_name_the_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
