/* microvm/rootimg.c: the erofs image's size limit from
 * io.vessel.vm.rootfs-image-max. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "microvm/rootimg.h"

/* The limit for the annotation's value (NULL: no annotations). */
static int max_of(const char *value, uint64_t *out, vs_err *err)
{
	json_object *a = NULL;
	if (value) {
		a = json_object_new_object();
		json_object_object_add(a, VS_ANN_VM_ROOTFS_IMAGE_MAX,
				       json_object_new_string(value));
	}
	int rc = vs_microvm_root_image_max(a, out, err);
	json_object_put(a);
	return rc;
}

static void test_default_and_sizes(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		uint64_t want;
	} cases[] = {
		{ NULL, 4ULL << 30 },	{ "8388608", 8388608 }, { "8M", 8ULL << 20 },
		{ "8MiB", 8ULL << 20 }, { "8MB", 8ULL << 20 },	{ "512k", 512ULL << 10 },
		{ "4G", 4ULL << 30 },	{ "1TiB", 1ULL << 40 }, { "16777215T", 16777215ULL << 40 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0;
		vs_err err = { 0 };
		if (max_of(cases[i].in, &v, &err) < 0)
			fail_msg("%s: %s", cases[i].in, err.msg);
		assert_true(v == cases[i].want);
	}
}

static void test_bad_values_name_the_annotation(void **state)
{
	(void)state;
	static const char *const bad[] = { "",
					   "0",
					   "-1",
					   "M",
					   "8X",
					   "8 M",
					   " 8",
					   "8Mi",
					   "8MiBs",
					   "16777216T",
					   "99999999999999999999",
					   "0x10" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 0;
		vs_err err = { 0 };
		assert_int_equal(max_of(bad[i], &v, &err), -1);
		assert_non_null(strstr(err.msg, VS_ANN_VM_ROOTFS_IMAGE_MAX));
	}
	/* Not a string. */
	json_object *a = json_object_new_object();
	json_object_object_add(a, VS_ANN_VM_ROOTFS_IMAGE_MAX, json_object_new_int(8));
	uint64_t v = 0;
	vs_err err = { 0 };
	assert_int_equal(vs_microvm_root_image_max(a, &v, &err), -1);
	json_object_put(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_and_sizes),
		cmocka_unit_test(test_bad_values_name_the_annotation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
