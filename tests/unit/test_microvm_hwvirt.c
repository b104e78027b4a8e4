/* microvm/hwvirt.c: a microvm needs VT-x/AMD-V under /dev/kvm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "microvm/hwvirt.h"
#include "vm/vm.h"

static char dir[64], cpuinfo[128], kvm[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vessel-unit-hwvirt.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(cpuinfo, sizeof(cpuinfo), "%s/cpuinfo", dir);
	snprintf(kvm, sizeof(kvm), "%s/kvm", dir);
	FILE *f = fopen(kvm, "w");
	assert_non_null(f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(cpuinfo);
	unlink(kvm);
	return rmdir(dir);
}

static void write_cpuinfo(const char *flags)
{
	FILE *f = fopen(cpuinfo, "w");
	assert_non_null(f);
	fprintf(f,
		"processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: %s\nbugs\t\t: vmx\n\n"
		"processor\t: 1\nflags\t\t: %s\n",
		flags, flags);
	fclose(f);
}

static void test_flags(void **state)
{
	(void)state;
	write_cpuinfo("fpu vme de pse tsc msr vmx sse2");
	assert_null(vs_hwvirt_missing(cpuinfo, kvm, false));
	write_cpuinfo("fpu svm lm");
	assert_null(vs_hwvirt_missing(cpuinfo, kvm, false));
	/* Only whole flags count (vmx_ept-like names, "bugs" lines do not). */
	write_cpuinfo("fpu vmxx xsvm sse2");
	const char *why = vs_hwvirt_missing(cpuinfo, kvm, false);
	assert_non_null(why);
	assert_non_null(strstr(why, "VT-x/AMD-V"));
	write_cpuinfo("fpu sse2");
	assert_non_null(vs_hwvirt_missing(cpuinfo, kvm, false));
}

static void test_emulated_kvm(void **state)
{
	(void)state;
	write_cpuinfo("fpu vmx sse2");
	const char *why = vs_hwvirt_missing(cpuinfo, kvm, true);
	assert_non_null(why);
	assert_non_null(strstr(why, "emulates"));
}

static void test_no_kvm_or_cpuinfo(void **state)
{
	(void)state;
	write_cpuinfo("vmx");
	char missing[160];
	snprintf(missing, sizeof(missing), "%s/none", dir);
	assert_non_null(strstr(vs_hwvirt_missing(cpuinfo, missing, false), "/dev/kvm"));
	assert_non_null(vs_hwvirt_missing(missing, kvm, false));
}

/* This host's answer through the public check, and the override. */
static void test_check_and_override(void **state)
{
	(void)state;
	vs_err err = { 0 };
	json_object *a = json_tokener_parse("{\"io.vessel.vm.allow-emulated\":\"true\"}");
	assert_int_equal(vs_hwvirt_check(a, &err), 0);
	json_object_put(a);
	int rc = vs_hwvirt_check(NULL, &err);
	bool missing = vs_hwvirt_missing("/proc/cpuinfo", "/dev/kvm", vs_kvm_is_emulated());
	assert_int_equal(rc, missing ? -1 : 0);
	if (missing) {
		assert_non_null(strstr(err.msg, "io.vessel.vm.allow-emulated=true"));
		assert_non_null(strstr(err.msg, "VT-x") ? err.msg : strstr(err.msg, "kvm"));
	}
	a = json_tokener_parse("{\"io.vessel.vm.allow-emulated\":\"yes\"}");
	assert_int_equal(vs_hwvirt_check(a, &err), -1);
	assert_non_null(strstr(err.msg, "annotation io.vessel.vm.allow-emulated"));
	json_object_put(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_emulated_kvm),
		cmocka_unit_test(test_no_kvm_or_cpuinfo),
		cmocka_unit_test(test_check_and_override),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
