/* microvm/kernel.c and modules.c: which guest kernel a create gets, and
 * the modules' load order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/strv.h"
#include "microvm/kernel.h"
#include "microvm/modules.h"

static char dir[64], cache[128], config[128];

static void put(const char *rel, const char *text)
{
	char p[512], d[512];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	snprintf(d, sizeof(d), "%s", p);
	*strrchr(d, '/') = '\0';
	vs_err err = { 0 };
	assert_int_equal(vs_mkdir_p(d, 0755, &err), 0);
	assert_int_equal(vs_write_file(p, text, strlen(text), 0644, &err), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vessel-unit-kernel.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	snprintf(config, sizeof(config), "%s/config.json", dir);
	put("cache/6.1.0-9-cloud-amd64/vmlinuz", "old");
	put("cache/6.1.0-9-cloud-amd64/modules.dep", "");
	put("cache/6.1.0-10-cloud-amd64/vmlinuz", "new");
	put("cache/6.1.0-10-cloud-amd64/modules.dep", "");
	put("cache/6.1.0-11-cloud-amd64/config", "no vmlinuz: not a kernel");
	put("cache/.fetch-abc/vmlinuz", "a fetch in progress");
	put("other/vmlinuz", "admin's");
	put("elsewhere/secret", "host file");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vs_err err = { 0 };
	return vs_remove_tree(dir, &err);
}

static json_object *ann(const char *kernel)
{
	json_object *a = json_object_new_object();
	json_object_object_add(a, "io.vessel.vm.kernel", json_object_new_string(kernel));
	return a;
}

/* Refused, with the one message that echoes only the annotation. */
static void expect_refused(json_object *a, const char *as_given)
{
	vs_guest_kernel k;
	vs_err err = { 0 };
	char want[512];
	snprintf(want, sizeof(want),
		 "annotation io.vessel.vm.kernel: \"%s\" is not a guest kernel this host "
		 "provides (a version in its kernel cache, or the kernel in "
		 "/etc/vessel/config.json)",
		 as_given);
	assert_int_equal(vs_kernel_lookup(a, config, cache, &k, &err), -1);
	assert_string_equal(err.msg, want);
}

static void test_newest_cached(void **state)
{
	(void)state;
	vs_guest_kernel k;
	vs_err err = { 0 };
	assert_int_equal(vs_kernel_lookup(NULL, config, cache, &k, &err), 0);
	/* Version order, not string order: -10 is newer than -9. */
	assert_string_equal(k.version, "6.1.0-10-cloud-amd64");
	assert_non_null(strstr(k.image, "/cache/6.1.0-10-cloud-amd64/vmlinuz"));
	assert_non_null(strstr(k.modules, "/cache/6.1.0-10-cloud-amd64"));
}

static void test_none(void **state)
{
	(void)state;
	vs_guest_kernel k;
	vs_err err = { 0 };
	char empty[160];
	snprintf(empty, sizeof(empty), "%s/nothing", dir);
	assert_int_equal(vs_kernel_lookup(NULL, config, empty, &k, &err), -1);
	assert_string_equal(
		err.msg,
		"no guest kernel: run `vessel vm fetch-kernel` (or set io.vessel.vm.kernel)");
}

static void test_config_file(void **state)
{
	(void)state;
	char text[256];
	snprintf(text, sizeof(text), "{\"vm\":{\"kernel\":\"%s/other/vmlinuz\"}}", dir);
	put("config.json", text);
	vs_guest_kernel k;
	vs_err err = { 0 };
	assert_int_equal(vs_kernel_lookup(NULL, config, cache, &k, &err), 0);
	assert_non_null(strstr(k.image, "/other/vmlinuz"));
	assert_string_equal(k.modules, ""); /* no modules.dep beside it */
	/* The annotation comes first, and may name the admin's directory. */
	json_object *a = ann("6.1.0-9-cloud-amd64");
	assert_int_equal(vs_kernel_lookup(a, config, cache, &k, &err), 0);
	assert_string_equal(k.version, "6.1.0-9-cloud-amd64");
	json_object_put(a);
	char p[160];
	snprintf(p, sizeof(p), "%s/other/vmlinuz", dir);
	a = ann(p);
	assert_int_equal(vs_kernel_lookup(a, config, cache, &k, &err), 0);
	json_object_put(a);
	put("config.json", "{\"vm\":{\"kernel\":7}}");
	assert_int_equal(vs_kernel_lookup(NULL, config, cache, &k, &err), -1);
	assert_non_null(strstr(err.msg, "vm.kernel"));
	put("config.json", "[");
	assert_int_equal(vs_kernel_lookup(NULL, config, cache, &k, &err), -1);
	assert_non_null(strstr(err.msg, "config.json"));
	unlink(config);
}

/* The attack: a bundle's annotation naming a host file as "kernel" would
 * put it (or its directory's modules) in the guest's reach. */
static void test_annotation_confined(void **state)
{
	(void)state;
	char p[200];
	static const char *const bad[] = { "%s/elsewhere/secret", "%s/cache/../elsewhere/secret",
					   "/etc/passwd" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(p, sizeof(p), bad[i], dir);
		json_object *a = ann(p);
		expect_refused(a, p);
		json_object_put(a);
	}
	/* A symlink in the cache pointing out is judged by its target. */
	snprintf(p, sizeof(p), "%s/cache/evil", dir);
	char target[160];
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	assert_int_equal(symlink(target, p), 0);
	json_object *a = ann("evil");
	expect_refused(a, "evil");
	json_object_put(a);
	unlink(p);
	static const char *const names[] = { "..", ".", "" };
	for (size_t i = 0; i < 3; i++) {
		a = ann(names[i]);
		expect_refused(a, names[i]);
		json_object_put(a);
	}
	a = ann("6.1.0-11-cloud-amd64"); /* in the cache, but no vmlinuz */
	expect_refused(a, "6.1.0-11-cloud-amd64");
	json_object_put(a);
}

/* The attack of review finding 1: vm.kernel "/vmlinuz" made its directory,
 * "/", the allowed one, so an annotation could name any host file as the
 * kernel, or an attacker's directory in the cache layout (its modules.dep
 * and .ko links then went into the guest). Only the configured kernel
 * itself may be named, and the cache's versions. */
static void test_config_kernel_is_not_its_directory(void **state)
{
	(void)state;
	put("config.json", "{\"vm\":{\"kernel\":\"/vmlinuz\"}}");
	put("attacker/6.1.0-57-cloud-amd64/vmlinuz", "junk");
	put("attacker/6.1.0-57-cloud-amd64/modules.dep", "kernel/virtio_mmio.ko:\n");
	char p[200];
	static const char *const bad[] = { "/etc/shadow", "/etc/passwd",
					   "%s/attacker/6.1.0-57-cloud-amd64",
					   "%s/attacker/6.1.0-57-cloud-amd64/vmlinuz" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(p, sizeof(p), bad[i], dir);
		json_object *a = ann(p);
		expect_refused(a, p);
		json_object_put(a);
	}
	/* Nor a fetch in progress, nor a plain file in the cache. */
	put("cache/stray", "not a version directory");
	static const char *const odd[] = { ".fetch-abc", "%s/cache/.fetch-abc/vmlinuz", "stray" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), odd[i], dir);
		json_object *a = ann(p);
		expect_refused(a, p);
		json_object_put(a);
	}
	/* Neither may the cache's own subdirectories, nor the cache itself. */
	static const char *const inner[] = { "%s/cache",
					     "%s/cache/6.1.0-9-cloud-amd64/modules.dep" };
	put("cache/6.1.0-9-cloud-amd64/kernel/vmlinuz", "a file named vmlinuz deeper down");
	static const char *const deeper = "%s/cache/6.1.0-9-cloud-amd64/kernel";
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), i < 2 ? inner[i] : deeper, dir);
		json_object *a = ann(p);
		expect_refused(a, p);
		json_object_put(a);
	}
	/* The cache's versions still are: by name, directory and image. */
	vs_guest_kernel k;
	vs_err err = { 0 };
	static const char *const good[] = { "6.1.0-9-cloud-amd64", "%s/cache/6.1.0-9-cloud-amd64",
					    "%s/cache/6.1.0-9-cloud-amd64/vmlinuz" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), good[i], dir);
		json_object *a = ann(p);
		if (vs_kernel_lookup(a, config, cache, &k, &err) < 0)
			fail_msg("%s: %s", p, err.msg);
		assert_string_equal(k.version, "6.1.0-9-cloud-amd64");
		json_object_put(a);
	}
	unlink(config);
}

/* Finding 4: the refusal must not tell the bundle author what exists on
 * the host (resolved as root), nor print host paths it did not write. */
static void test_refusal_reveals_nothing(void **state)
{
	(void)state;
	char cfgtext[256];
	snprintf(cfgtext, sizeof(cfgtext), "{\"vm\":{\"kernel\":\"%s/other/vmlinuz\"}}", dir);
	put("config.json", cfgtext);
	static const char *const probes[][2] = {
		{ "/etc/shadow", "/etc/nonexistent-xyz" }, /* existing, missing */
		{ "/etc", "/etcnonexistent" },
		{ "6.1.0-11-cloud-amd64", "6.1.0-12-cloud-amd64" }, /* cache: no vmlinuz, none */
	};
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		char msg[2][1024];
		for (int j = 0; j < 2; j++) {
			json_object *a = ann(probes[i][j]);
			vs_guest_kernel k;
			vs_err err = { 0 };
			assert_int_equal(vs_kernel_lookup(a, config, cache, &k, &err), -1);
			json_object_put(a);
			/* The message with the probe taken out. */
			char *at = strstr(err.msg, probes[i][j]);
			assert_non_null(at);
			snprintf(msg[j], sizeof(msg[j]), "%.*s|%s", (int)(at - err.msg), err.msg,
				 at + strlen(probes[i][j]));
			assert_null(strstr(err.msg, dir)); /* no host path it did not write */
		}
		assert_string_equal(msg[0], msg[1]);
	}
	unlink(config);
}

static void resolve(const char *dep, const char *builtin, const char *const *roots,
		    const char *expect)
{
	put("mods/modules.dep", dep);
	char p[160];
	snprintf(p, sizeof(p), "%s/mods/modules.builtin", dir);
	unlink(p);
	if (builtin)
		put("mods/modules.builtin", builtin);
	snprintf(p, sizeof(p), "%s/mods", dir);
	char **paths = NULL;
	vs_err err = { 0 };
	if (vs_modules_resolve(p, roots, &paths, &err) < 0)
		fail_msg("%s", err.msg);
	char got[1024] = "";
	for (size_t i = 0; paths[i]; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "",
			 paths[i]);
	assert_string_equal(got, expect);
	vs_strv_free(paths);
}

static void test_module_order(void **state)
{
	(void)state;
	const char *dep = "k/a.ko: k/b.ko k/c.ko\n"
			  "k/b.ko: k/c.ko\n"
			  "k/c.ko:\n"
			  "k/d-x.ko: k/c.ko\n"
			  "k/e.ko.xz: k/a.ko\n";
	resolve(dep, NULL, (const char *const[]){ "a", NULL }, "k/c.ko k/b.ko k/a.ko");
	/* Each once; '-' and '_' name the same module; compressed names. */
	resolve(dep, NULL, (const char *const[]){ "d_x", "a", "e", NULL },
		"k/c.ko k/d-x.ko k/b.ko k/a.ko k/e.ko.xz");
	/* Built in: skipped. */
	resolve(dep, "kernel/q/virtio_mmio.ko\n", (const char *const[]){ "virtio_mmio", "b", NULL },
		"k/c.ko k/b.ko");
}

static void resolve_fails(const char *dep, const char *const *roots, const char *needle)
{
	put("mods/modules.dep", dep);
	char p[160];
	snprintf(p, sizeof(p), "%s/mods", dir);
	char **paths = NULL;
	vs_err err = { 0 };
	assert_int_equal(vs_modules_resolve(p, roots, &paths, &err), -1);
	if (!strstr(err.msg, needle))
		fail_msg("\"%s\" not in \"%s\"", needle, err.msg);
}

static void test_module_errors(void **state)
{
	(void)state;
	resolve_fails("k/a.ko:\n", (const char *const[]){ "zz", NULL }, "no module zz");
	resolve_fails("k/a.ko: k/b.ko\nk/b.ko: k/a.ko\n", (const char *const[]){ "a", NULL },
		      "cycle");
	resolve_fails("k/a.ko: k/none.ko\n", (const char *const[]){ "a", NULL }, "k/none.ko");
	resolve_fails("k/a.ko k/b.ko\n", (const char *const[]){ "a", NULL }, "no ':'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_newest_cached),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_config_file),
		cmocka_unit_test(test_annotation_confined),
		cmocka_unit_test(test_config_kernel_is_not_its_directory),
		cmocka_unit_test(test_refusal_reveals_nothing),
		cmocka_unit_test(test_module_order),
		cmocka_unit_test(test_module_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
