/* microvm/backend_process.c: an exec'd process (vs_process) written back as
 * the OCI process object the agent parses; parsing it again with vessel's
 * own parser gives the same process, field by field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include "microvm/backend.h"

static void parse(const char *text, vs_process *p)
{
	json_object *o = json_tokener_parse(text);
	assert_non_null(o);
	vs_err err = { 0 };
	memset(p, 0, sizeof(*p));
	if (vs_process_parse(o, "process", p, &err) < 0)
		print_error("%s\n", err.msg);
	assert_int_equal(err.msg[0], 0);
	json_object_put(o);
}

static void roundtrip(const char *text)
{
	vs_process a, b;
	parse(text, &a);
	json_object *j = vs_microvm_process_json(&a);
	vs_err err = { 0 };
	memset(&b, 0, sizeof(b));
	if (vs_process_parse(j, "process", &b, &err) < 0)
		print_error("%s: %s\n", err.msg, json_object_to_json_string(j));
	assert_int_equal(err.msg[0], 0);
	assert_int_equal(a.terminal, b.terminal);
	for (size_t i = 0; a.args[i] || b.args[i]; i++)
		assert_string_equal(a.args[i], b.args[i]);
	for (size_t i = 0; a.env && (a.env[i] || b.env[i]); i++)
		assert_string_equal(a.env[i], b.env[i]);
	assert_string_equal(a.cwd, b.cwd);
	assert_int_equal(a.uid, b.uid);
	assert_int_equal(a.gid, b.gid);
	assert_int_equal(a.has_umask, b.has_umask);
	assert_int_equal(a.umask, b.umask);
	assert_int_equal(a.n_additional_gids, b.n_additional_gids);
	for (size_t i = 0; i < a.n_additional_gids; i++)
		assert_int_equal(a.additional_gids[i], b.additional_gids[i]);
	assert_int_equal(a.n_rlimits, b.n_rlimits);
	for (size_t i = 0; i < a.n_rlimits; i++) {
		assert_int_equal(a.rlimits[i].resource, b.rlimits[i].resource);
		assert_true(a.rlimits[i].soft == b.rlimits[i].soft);
		assert_true(a.rlimits[i].hard == b.rlimits[i].hard);
	}
	assert_int_equal(a.has_caps, b.has_caps);
	for (int s = 0; s < VS_CAP_SETS; s++)
		assert_true(a.caps[s] == b.caps[s]);
	assert_int_equal(a.no_new_privileges, b.no_new_privileges);
	assert_int_equal(a.has_oom_score_adj, b.has_oom_score_adj);
	assert_int_equal(a.oom_score_adj, b.oom_score_adj);
	assert_int_equal(a.has_console_size, b.has_console_size);
	assert_int_equal(a.console_height, b.console_height);
	assert_int_equal(a.console_width, b.console_width);
	json_object_put(j);
	vs_process_free(&a);
	vs_process_free(&b);
}

static void test_full_process(void **state)
{
	(void)state;
	roundtrip("{\"terminal\":true,\"consoleSize\":{\"height\":40,\"width\":120},"
		  "\"args\":[\"sh\",\"-c\",\"echo a b\"],\"env\":[\"PATH=/bin\",\"X=1\"],"
		  "\"cwd\":\"/srv\",\"user\":{\"uid\":1000,\"gid\":100,\"umask\":63,"
		  "\"additionalGids\":[5,6]},"
		  "\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_NET_RAW\"],"
		  "\"effective\":[\"CAP_KILL\"],\"permitted\":[\"CAP_KILL\",\"CAP_NET_RAW\"],"
		  "\"inheritable\":[\"CAP_KILL\"],\"ambient\":[\"CAP_KILL\"]},"
		  "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":20},"
		  "{\"type\":\"RLIMIT_CORE\",\"soft\":0,\"hard\":18446744073709551615}],"
		  "\"noNewPrivileges\":true,\"oomScoreAdj\":-500}");
}

static void test_minimal_process(void **state)
{
	(void)state;
	/* No capabilities object stays none (not an empty one), no umask stays unset. */
	roundtrip("{\"args\":[\"true\"],\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0}}");
}

static void test_every_capability(void **state)
{
	(void)state;
	vs_process a;
	parse("{\"args\":[\"true\"],\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0}}", &a);
	a.has_caps = true;
	a.caps[VS_CAP_BOUNDING] = (1ULL << (CAP_LAST_CAP + 1)) - 1;
	json_object *j = vs_microvm_process_json(&a);
	json_object *caps, *bounding;
	assert_true(json_object_object_get_ex(j, "capabilities", &caps));
	assert_true(json_object_object_get_ex(caps, "bounding", &bounding));
	assert_true(json_object_array_length(bounding) > 0);
	vs_process b;
	vs_err err = { 0 };
	memset(&b, 0, sizeof(b));
	assert_int_equal(vs_process_parse(j, "process", &b, &err), 0);
	/* Every capability this kernel knows, by name, and none it does not. */
	unsigned n = cap_max_bits();
	uint64_t known = n >= 64 ? ~0ULL : (1ULL << n) - 1;
	assert_true(b.caps[VS_CAP_BOUNDING] == (a.caps[VS_CAP_BOUNDING] & known));
	assert_int_equal(json_object_array_length(bounding),
			 __builtin_popcountll(b.caps[VS_CAP_BOUNDING]));
	json_object_put(j);
	vs_process_free(&a);
	vs_process_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_process),
		cmocka_unit_test(test_minimal_process),
		cmocka_unit_test(test_every_capability),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
