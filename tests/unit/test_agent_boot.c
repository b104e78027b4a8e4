/* agent/boot: the kernel command line's vessel.root= and
 * /vessel/modules.list, as the guest agent reads them as PID 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/module.h>
#include <stdio.h>
#include <string.h>

#include "agent/boot.h"
#include "core/strv.h"

static void root_ok(const char *cmdline, enum vs_boot_root_kind kind, const char *source)
{
	vs_boot_root r;
	vs_err err = { 0 };
	if (vs_boot_parse_cmdline(cmdline, &r, &err) < 0)
		print_error("%s: %s\n", cmdline, err.msg);
	assert_int_equal(vs_boot_parse_cmdline(cmdline, &r, &err), 0);
	assert_int_equal(r.kind, kind);
	assert_string_equal(r.source, source);
}

static void root_bad(const char *cmdline, const char *want)
{
	vs_boot_root r;
	vs_err err = { 0 };
	assert_int_equal(vs_boot_parse_cmdline(cmdline, &r, &err), -1);
	if (!strstr(err.msg, want))
		print_error("got \"%s\", want \"%s\"\n", err.msg, want);
	assert_non_null(strstr(err.msg, want));
}

static void test_cmdline_root(void **state)
{
	(void)state;
	root_ok("console=ttyS0 vessel.root=virtiofs:rootfs quiet\n", VS_ROOT_VIRTIOFS, "rootfs");
	root_ok("vessel.root=blk:/dev/vda", VS_ROOT_BLK, "/dev/vda");
	root_ok("vessel.root=\"virtiofs:my tag\" ro", VS_ROOT_VIRTIOFS, "my tag");
	/* The last one wins, as for the kernel's own options. */
	root_ok("vessel.root=blk:/dev/vda vessel.root=virtiofs:b", VS_ROOT_VIRTIOFS, "b");
	/* A longer option with the same prefix is not ours. */
	root_ok("vessel.rootx=blk:/dev/x vessel.root=virtiofs:t", VS_ROOT_VIRTIOFS, "t");
}

static void test_cmdline_root_errors(void **state)
{
	(void)state;
	root_bad("console=ttyS0 quiet", "vessel.root: required");
	root_bad("", "vessel.root: required");
	root_bad("vessel.root=", "vessel.root: required");
	root_bad("vessel.root=nfs:server", "is not virtiofs:TAG or blk:/dev/NAME");
	root_bad("vessel.root=virtiofs:", "is not virtiofs:TAG");
	root_bad("vessel.root=blk:vda", "is not a /dev path");
	root_bad("vessel.root=blk:/dev/../etc/shadow", "is not a /dev path");
	char big[600];
	snprintf(big, sizeof(big), "vessel.root=virtiofs:%0500d", 0);
	root_bad(big, "too long");
}

static void test_modules_list(void **state)
{
	(void)state;
	const char *text = "# virtio first\n"
			   "lib/modules/6.1/kernel/drivers/virtio/virtio_mmio.ko\n"
			   "\n"
			   "  /lib/modules/6.1/vsock.ko  \r\n"
			   "lib/modules/6.1/overlay.ko";
	char **m = NULL;
	size_t n = 0;
	vs_err err = { 0 };
	assert_int_equal(vs_boot_parse_modules(text, &m, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(m[0], "/lib/modules/6.1/kernel/drivers/virtio/virtio_mmio.ko");
	assert_string_equal(m[1], "/lib/modules/6.1/vsock.ko");
	assert_string_equal(m[2], "/lib/modules/6.1/overlay.ko");
	assert_null(m[3]);
	vs_strv_free(m);

	assert_int_equal(vs_boot_parse_modules("", &m, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(m[0]);
	vs_strv_free(m);
}

static void modules_bad(const char *text, const char *want)
{
	char **m = NULL;
	vs_err err = { 0 };
	assert_int_equal(vs_boot_parse_modules(text, &m, NULL, &err), -1);
	assert_null(m);
	if (!strstr(err.msg, want))
		print_error("got \"%s\", want \"%s\"\n", err.msg, want);
	assert_non_null(strstr(err.msg, want));
}

static void test_modules_list_errors(void **state)
{
	(void)state;
	modules_bad("a.ko\n../etc/x.ko\n", "modules.list:2: \"/../etc/x.ko\" leaves /");
	modules_bad("lib/../../x.ko", "leaves /");
	modules_bad("lib/..", "leaves /");
	modules_bad("ok.ko\n///\n", "modules.list:2: not a module path");
}

static void test_module_params(void **state)
{
	(void)state;
	const char *cmdline = "console=hvc0 virtio_mmio.device=4K@0xd0000000:5 "
			      "virtio-mmio.device=4K@0xd0001000:6 vessel.root=virtiofs:r "
			      "virtio_mmio_x.device=bad virtio_mmio.flag virtio_mmio.=x "
			      "overlay.redirect_dir=\"on off\"\n";
	char out[256];
	assert_int_equal(vs_boot_module_params(cmdline, "/lib/modules/6.1/kernel/virtio_mmio.ko",
					       out, sizeof(out)),
			 0);
	assert_string_equal(out, "device=4K@0xd0000000:5 device=4K@0xd0001000:6");
	/* A compressed module, and a hyphen in the file name. */
	assert_int_equal(vs_boot_module_params(cmdline, "/x/virtio-mmio.ko.xz", out, sizeof(out)),
			 0);
	assert_string_equal(out, "device=4K@0xd0000000:5 device=4K@0xd0001000:6");
	assert_int_equal(vs_boot_module_params(cmdline, "/x/overlay.ko", out, sizeof(out)), 0);
	assert_string_equal(out, "redirect_dir=\"on off\"");
	assert_int_equal(vs_boot_module_params(cmdline, "/x/vsock.ko", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(vs_boot_module_params(cmdline, "/x/virtio_mmio.ko", out, 10), -1);
}

static void test_module_flags(void **state)
{
	(void)state;
	assert_int_equal(vs_boot_module_flags("/a/b.ko"), 0);
	assert_int_equal(vs_boot_module_flags("/a/b.ko.xz"), MODULE_INIT_COMPRESSED_FILE);
	assert_int_equal(vs_boot_module_flags("/a/b.ko.zst"), MODULE_INIT_COMPRESSED_FILE);
	assert_int_equal(vs_boot_module_flags("/a/b.ko.gz"), MODULE_INIT_COMPRESSED_FILE);
	assert_int_equal(vs_boot_module_flags("/a/b.xz"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmdline_root),  cmocka_unit_test(test_cmdline_root_errors),
		cmocka_unit_test(test_modules_list),  cmocka_unit_test(test_modules_list_errors),
		cmocka_unit_test(test_module_params), cmocka_unit_test(test_module_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
