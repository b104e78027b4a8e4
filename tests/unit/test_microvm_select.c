/* microvm/select.c: which backend runs a workload, rule by rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "microvm/select.h"

/* The backend for annotations (JSON text, or NULL) and vm_default. */
static const char *pick(const char *json, bool vm_default)
{
	json_object *a = json ? json_tokener_parse(json) : NULL;
	const char *name = NULL;
	vs_err err = { 0 };
	static char out[32];
	assert_int_equal(vs_backend_select(a, vm_default, &name, &err), 0);
	/* The name may be borrowed from the annotations. */
	snprintf(out, sizeof(out), "%s", name);
	json_object_put(a);
	return out;
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
	/* An explicit container wins under vessel-vm. */
	assert_string_equal(pick("{\"io.vessel.backend\":\"container\"}", true), "container");
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

static void expect_error(const char *json, const char *needle)
{
	json_object *a = json_tokener_parse(json);
	const char *name = NULL;
	vs_err err = { 0 };
	assert_int_equal(vs_backend_select(a, true, &name, &err), -1);
	json_object_put(a);
	assert_non_null(strstr(err.msg, needle));
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
		cmocka_unit_test(test_sandbox_stays_container),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_argv0),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
