/* microvm/select.c: which backend runs a workload, rule by rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fs.h"
#include "microvm/select.h"

/* The host config file the tests write; none unless a test writes it. */
static char config[64];

static int setup(void **state)
{
	(void)state;
	snprintf(config, sizeof(config), "/tmp/vessel-unit-select.XXXXXX");
	int fd = mkstemp(config);
	assert_true(fd >= 0);
	close(fd);
	unlink(config);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(config);
	return 0;
}

static void write_config(const char *text)
{
	vs_err err = { 0 };
	assert_int_equal(vs_write_file(config, text, strlen(text), 0644, &err), 0);
}

/* The backend for annotations (JSON text, or NULL) and vm_default. */
static const char *pick(const char *json, bool vm_default)
{
	json_object *a = json ? json_tokener_parse(json) : NULL;
	const char *name = NULL;
	vs_err err = { 0 };
	static char out[32];
	if (vs_backend_select(a, vm_default, config, &name, &err) < 0)
		fail_msg("%s", err.msg);
	/* The name may be borrowed from the annotations. */
	snprintf(out, sizeof(out), "%s", name);
	json_object_put(a);
	return out;
}

static void expect_error(const char *json, const char *needle)
{
	json_object *a = json_tokener_parse(json);
	const char *name = NULL;
	vs_err err = { 0 };
	assert_int_equal(vs_backend_select(a, true, config, &name, &err), -1);
	json_object_put(a);
	if (!strstr(err.msg, needle))
		fail_msg("\"%s\" not in \"%s\"", needle, err.msg);
}

static void test_default_is_container(void **state)
{
	(void)state;
	assert_string_equal(pick(NULL, false), "container");
	assert_string_equal(pick("{}", false), "container");
	assert_string_equal(pick("{\"other\":\"microvm\"}", false), "container");
}

static void test_annotation(void **state)
{
	(void)state;
	assert_string_equal(pick("{\"io.vessel.backend\":\"microvm\"}", false), "microvm");
	assert_string_equal(pick("{\"io.vessel.backend\":\"container\"}", false), "container");
	/* Any other name is the registry's to refuse (lifecycle/backend.c). */
	assert_string_equal(pick("{\"io.vessel.backend\":\"qemu\"}", true), "qemu");
}

static void test_vessel_vm_default(void **state)
{
	(void)state;
	assert_string_equal(pick(NULL, true), "microvm");
	assert_string_equal(pick("{}", true), "microvm");
	assert_string_equal(pick("{\"io.vessel.backend\":\"microvm\"}", true), "microvm");
}

/* Review finding 6, the attack: a tenant on a VM RuntimeClass (vessel-vm)
 * annotating its pod io.vessel.backend=container got the host's kernel. */
static void test_vessel_vm_refuses_container(void **state)
{
	(void)state;
	static const char *const configs[] = {
		NULL, /* no config file */
		"{}",
		"{\"vm\":{\"kernel\":\"/vmlinuz\"}}",
		"{\"vm\":{\"allow-container\":false}}",
	};
	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
		if (configs[i])
			write_config(configs[i]);
		expect_error("{\"io.vessel.backend\":\"container\"}",
			     "annotation io.vessel.backend=container: refused under vessel-vm");
		/* Pod annotations reach every container of the pod. */
		expect_error("{\"io.vessel.backend\":\"container\","
			     "\"io.kubernetes.cri.container-type\":\"container\"}",
			     "{\"vm\":{\"allow-container\":true}} in /etc/vessel/config.json");
		unlink(config);
	}
	/* A config the host cannot read right is an error, not a yes. */
	write_config("{\"vm\":{\"allow-container\":\"true\"}}");
	expect_error("{\"io.vessel.backend\":\"container\"}", "allow-container");
	write_config("[");
	expect_error("{\"io.vessel.backend\":\"container\"}", "not a JSON object");
	unlink(config);
	/* Plain vessel: the annotation decides, whatever the config says. */
	assert_string_equal(pick("{\"io.vessel.backend\":\"container\"}", false), "container");
}

static void test_vessel_vm_container_allowed_by_host(void **state)
{
	(void)state;
	write_config("{\"vm\":{\"allow-container\":true}}");
	assert_string_equal(pick("{\"io.vessel.backend\":\"container\"}", true), "container");
	assert_string_equal(pick("{}", true), "microvm");
	unlink(config);
}

static void test_sandbox_stays_container(void **state)
{
	(void)state;
	assert_string_equal(pick("{\"io.kubernetes.cri.container-type\":\"sandbox\"}", true),
			    "container");
	assert_string_equal(pick("{\"io.kubernetes.cri-o.ContainerType\":\"sandbox\"}", true),
			    "container");
	/* Pod annotations reach the sandbox too: they do not make it a VM. */
	assert_string_equal(pick("{\"io.kubernetes.cri.container-type\":\"sandbox\","
				 "\"io.vessel.backend\":\"microvm\"}",
				 false),
			    "container");
	/* The pod's other containers are VMs under vessel-vm. */
	assert_string_equal(pick("{\"io.kubernetes.cri.container-type\":\"container\"}", true),
			    "microvm");
	assert_string_equal(pick("{\"io.kubernetes.cri-o.ContainerType\":\"container\"}", true),
			    "microvm");
}

static void test_bad_values(void **state)
{
	(void)state;
	expect_error("{\"io.vessel.backend\":1}", "io.vessel.backend: must be a string");
	expect_error("{\"io.kubernetes.cri.container-type\":[]}",
		     "io.kubernetes.cri.container-type: must be a string");
}

static void test_argv0(void **state)
{
	(void)state;
	assert_true(vs_invoked_as_vm("vessel-vm"));
	assert_true(vs_invoked_as_vm("/usr/local/bin/vessel-vm"));
	assert_false(vs_invoked_as_vm("/usr/local/bin/vessel"));
	assert_false(vs_invoked_as_vm("/opt/vessel-vm/vessel"));
	assert_false(vs_invoked_as_vm("vessel-vm2"));
	assert_false(vs_invoked_as_vm(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_is_container),
		cmocka_unit_test(test_annotation),
		cmocka_unit_test(test_vessel_vm_default),
		cmocka_unit_test(test_vessel_vm_refuses_container),
		cmocka_unit_test(test_vessel_vm_container_allowed_by_host),
		cmocka_unit_test(test_sandbox_stays_container),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_argv0),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
