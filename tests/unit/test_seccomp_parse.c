/* linux.seccomp parsing: good profiles become libseccomp values, every bad
 * profile is refused with the key path, unknown syscalls are skipped with a
 * warning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci/config.h"
#include "oci/seccomp.h"

#define HEAD                                                                                       \
	"{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/\"},\"process\":{\"args\":[\"sh\"],"      \
	"\"cwd\":\"/\"},\"linux\":{\"namespaces\":[{\"type\":\"mount\"}],\"seccomp\":"
#define TAIL "}}"

static vs_config *parse_ok(const char *json)
{
	vs_config *c = NULL;
	vs_err err = { 0 };
	int rc = vs_config_parse(json, "/", &c, &err);
	if (rc != 0)
		print_error("unexpected error: %s\n", err.msg);
	assert_int_equal(rc, 0);
	return c;
}

static void expect_error(const char *json, const char *fragment)
{
	vs_config *c = NULL;
	vs_err err = { 0 };
	assert_int_equal(vs_config_parse(json, "/", &c, &err), -1);
	assert_null(c);
	if (!strstr(err.msg, fragment))
		print_error("message \"%s\" lacks \"%s\"\n", err.msg, fragment);
	assert_non_null(strstr(err.msg, fragment));
}

static void test_absent(void **state)
{
	(void)state;
	vs_config *c = parse_ok(HEAD "null" TAIL);
	assert_null(c->seccomp);
	vs_config_free(c);
}

#define FULL_PROFILE                                                                               \
	HEAD "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"                       \
	     "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_AARCH64\"],"   \
	     "\"flags\":[\"SECCOMP_FILTER_FLAG_TSYNC\",\"SECCOMP_FILTER_FLAG_LOG\","               \
	     "\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"],"                                                \
	     "\"listenerPath\":\"/run/agent.sock\",\"listenerMetadata\":\"m=1\","                  \
	     "\"syscalls\":[{\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"       \
	     "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":28},"              \
	     "{\"names\":[\"chmod\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":1,"        \
	     "\"value\":511,\"valueTwo\":0,\"op\":\"SCMP_CMP_EQ\"},{\"index\":0,\"value\":7,"      \
	     "\"valueTwo\":3,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},"                                    \
	     "{\"names\":[\"ptrace\"],\"action\":\"SCMP_ACT_TRACE\"},"                             \
	     "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_NOTIFY\"},"                            \
	     "{\"names\":[\"kill\"],\"action\":\"SCMP_ACT_KILL\"},"                                \
	     "{\"names\":[\"tkill\"],\"action\":\"SCMP_ACT_KILL_PROCESS\"},"                       \
	     "{\"names\":[\"uname\"],\"action\":\"SCMP_ACT_LOG\"},"                                \
	     "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_TRAP\"}]}" TAIL

static void test_full_profile(void **state)
{
	(void)state;
	vs_config *c = parse_ok(FULL_PROFILE);
	const vs_seccomp *s = c->seccomp;
	assert_non_null(s);
	assert_int_equal(s->default_action, SCMP_ACT_ERRNO(38));
	assert_int_equal(s->n_archs, 3);
	assert_int_equal(s->archs[0], SCMP_ARCH_X86_64);
	assert_int_equal(s->archs[1], SCMP_ARCH_X86);
	assert_int_equal(s->archs[2], SCMP_ARCH_AARCH64);
	assert_true(s->flag_tsync && s->flag_log && s->flag_spec_allow);
	assert_string_equal(s->listener_path, "/run/agent.sock");
	assert_string_equal(s->listener_metadata, "m=1");
	assert_true(s->has_notify);
	assert_int_equal(s->n_rules, 9);
	assert_int_equal(s->rules[0].n_syscalls, 2);
	assert_int_equal(s->rules[0].syscalls[0], seccomp_syscall_resolve_name("read"));
	assert_int_equal(s->rules[0].syscalls[1], seccomp_syscall_resolve_name("write"));
	assert_int_equal(s->rules[0].action, SCMP_ACT_ALLOW);
	assert_int_equal(s->rules[1].action, SCMP_ACT_ERRNO(28));
	assert_int_equal(s->rules[2].action, SCMP_ACT_ERRNO(EPERM)); /* the default errno */
	assert_int_equal(s->rules[2].n_args, 2);
	assert_int_equal(s->rules[2].args[0].index, 1);
	assert_int_equal(s->rules[2].args[0].value, 511);
	assert_int_equal(s->rules[2].args[0].op, SCMP_CMP_EQ);
	assert_int_equal(s->rules[2].args[1].op, SCMP_CMP_MASKED_EQ);
	assert_int_equal(s->rules[2].args[1].value, 7);
	assert_int_equal(s->rules[2].args[1].value_two, 3);
	assert_int_equal(s->rules[3].action, SCMP_ACT_TRACE(EPERM)); /* EPERM for TRACE, as runc */
	assert_int_equal(s->rules[4].action, SCMP_ACT_NOTIFY);
	assert_int_equal(s->rules[5].action, SCMP_ACT_KILL_THREAD);
	assert_int_equal(s->rules[6].action, SCMP_ACT_KILL_PROCESS);
	assert_int_equal(s->rules[7].action, SCMP_ACT_LOG);
	assert_int_equal(s->rules[8].action, SCMP_ACT_TRAP);
	vs_config_free(c);
}

static void test_every_operator_and_arch(void **state)
{
	(void)state;
	static const int ops[] = { SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE,	SCMP_CMP_EQ,
				   SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ };
	for (size_t i = 0; vs_seccomp_operators[i]; i++) {
		char json[1024];
		snprintf(json, sizeof(json),
			 HEAD "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
			      "[\"chmod\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":5,"
			      "\"value\":18446744073709551615,\"op\":\"%s\"}]}]}" TAIL,
			 vs_seccomp_operators[i]);
		vs_config *c = parse_ok(json);
		assert_int_equal(c->seccomp->rules[0].args[0].op, ops[i]);
		assert_int_equal(c->seccomp->rules[0].args[0].index, 5);
		assert_true(c->seccomp->rules[0].args[0].value == UINT64_MAX);
		vs_config_free(c);
	}
	size_t resolved = 0;
	for (size_t i = 0; vs_seccomp_archs[i]; i++)
		resolved += vs_seccomp_arch_token(vs_seccomp_archs[i]) != 0;
	assert_true(resolved >= 19); /* libseccomp 2.5.4 knows 19 */
	assert_int_equal(vs_seccomp_arch_token("SCMP_ARCH_NATIVE"), 0);
	assert_int_equal(vs_seccomp_arch_token("x86_64"), 0); /* the prefix is required */
}

/* Each bad profile and the exact key path its error must name. */
static void test_bad_profiles(void **state)
{
	(void)state;
	static const struct {
		const char *seccomp, *fragment;
	} cases[] = {
		{ "[]", "config.json: linux.seccomp: expected an object" },
		{ "{}", "config.json: linux.seccomp.defaultAction: required" },
		{ "{\"defaultAction\":5}", "linux.seccomp.defaultAction: expected a string" },
		{ "{\"defaultAction\":\"SCMP_ACT_FOO\"}",
		  "config.json: linux.seccomp.defaultAction: unknown action \"SCMP_ACT_FOO\"" },
		{ "{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}",
		  "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"defaultErrnoRet\":1}",
		  "linux.seccomp.defaultErrnoRet: only applies to SCMP_ACT_ERRNO and "
		  "SCMP_ACT_TRACE" },
		{ "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":-1}",
		  "linux.seccomp.defaultErrnoRet: -1 is out of range" },
		{ "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":4096}",
		  "linux.seccomp.defaultErrnoRet: 4096 is out of range" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":\"SCMP_ARCH_X86\"}",
		  "linux.seccomp.architectures: expected an array" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86\","
		  "\"SCMP_ARCH_VAX\"]}",
		  "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\"" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_NOPE\"]}",
		  "linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_NOPE\"" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\","
		  "\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"]}",
		  "linux.seccomp.flags[1]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not "
		  "supported" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}",
		  "linux.seccomp.syscalls: expected an array" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[3]}",
		  "linux.seccomp.syscalls[0]: expected an object" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"action\":\"SCMP_ACT_"
		  "LOG\"}]}",
		  "linux.seccomp.syscalls[0].names: required" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\",1],"
		  "\"action\":\"SCMP_ACT_LOG\"}]}",
		  "linux.seccomp.syscalls[0].names[1]: expected a string" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"]}]}",
		  "linux.seccomp.syscalls[0].action: required" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
		  "\"action\":\"SCMP_ACT_LOG\"},{\"names\":[\"read\"],\"action\":\"SCMP_ACT_FOO\"}]"
		  "}",
		  "config.json: linux.seccomp.syscalls[1].action: unknown action "
		  "\"SCMP_ACT_FOO\"" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
		  "\"action\":\"SCMP_ACT_LOG\",\"errnoRet\":1}]}",
		  "linux.seccomp.syscalls[0].errnoRet: only applies to SCMP_ACT_ERRNO" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
		  "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":\"1\"}]}",
		  "linux.seccomp.syscalls[0].errnoRet: expected an integer" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
		  "\"action\":\"SCMP_ACT_TRACE\",\"errnoRet\":65536}]}",
		  "linux.seccomp.syscalls[0].errnoRet: 65536 is out of range" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
		  "\"action\":\"SCMP_ACT_ERRNO\",\"args\":{}}]}",
		  "linux.seccomp.syscalls[0].args: expected an array" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
		  "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[7]}]}",
		  "linux.seccomp.syscalls[0].args[0]: expected an object" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
		  "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]"
		  "}",
		  "linux.seccomp.syscalls[0].args[0].index: required" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
		  "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":6,\"value\":1,"
		  "\"op\":\"SCMP_CMP_EQ\"}]}]}",
		  "linux.seccomp.syscalls[0].args[0].index: 6 is out of range [0, 5]" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
		  "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"op\":\"SCMP_CMP_EQ\"}]}]"
		  "}",
		  "linux.seccomp.syscalls[0].args[0].value: required" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
		  "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":-1,"
		  "\"op\":\"SCMP_CMP_EQ\"}]}]}",
		  "linux.seccomp.syscalls[0].args[0].value: must not be negative" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
		  "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"valueTwo\":"
		  "true,"
		  "\"op\":\"SCMP_CMP_EQ\"}]}]}",
		  "linux.seccomp.syscalls[0].args[0].valueTwo: expected an integer" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
		  "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1}]}]}",
		  "linux.seccomp.syscalls[0].args[0].op: required" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
		  "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":1,"
		  "\"value\":1,\"op\":\"SCMP_CMP_SOMETIMES\"}]}]}",
		  "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_SOMETIMES\"" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],"
		  "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
		  "linux.seccomp.listenerPath: required by the SCMP_ACT_NOTIFY rules" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/run/a.sock\"}",
		  "linux.seccomp.listenerPath: set without a SCMP_ACT_NOTIFY rule" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/run/a.sock\","
		  "\"syscalls\":[{\"names\":[\"getpid\",\"write\"],\"action\":\"SCMP_ACT_NOTIFY\"}]"
		  "}",
		  "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY cannot be used for the write "
		  "syscall" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":7}",
		  "linux.seccomp.listenerPath: expected a string" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerMetadata\":[]}",
		  "linux.seccomp.listenerMetadata: expected a string" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"syscalls\":[{\"names\":[\"getpid\"],"
		  "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
		  "linux.seccomp.listenerPath: longer than 107 bytes" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char json[2048];
		snprintf(json, sizeof(json), HEAD "%s" TAIL, cases[i].seccomp);
		expect_error(json, cases[i].fragment);
	}
}

/* Parses json with stderr going to a temporary file; returns what was written. */
static char *capture_stderr(vs_config **c, const char *json)
{
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	*c = parse_ok(json);
	dup2(saved, STDERR_FILENO);
	close(saved);
	static char buf[4096];
	rewind(tmp);
	size_t n = fread(buf, 1, sizeof(buf) - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	return buf;
}

static void test_unknown_syscall_skipped_with_warning(void **state)
{
	(void)state;
	vs_config *c = NULL;
	const char *out = capture_stderr(
		&c,
		HEAD "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\","
		     "\"no_such_syscall_42\",\"rmdir\"],\"action\":\"SCMP_ACT_ERRNO\"}]}" TAIL);
	assert_non_null(strstr(out, "warning: config.json: linux.seccomp.syscalls[0].names[1]: "
				    "unknown syscall \"no_such_syscall_42\", skipped"));
	const vs_seccomp_rule *r = &c->seccomp->rules[0];
	assert_int_equal(r->n_syscalls, 2);
	assert_int_equal(r->syscalls[0], seccomp_syscall_resolve_name("mkdir"));
	assert_int_equal(r->syscalls[1], seccomp_syscall_resolve_name("rmdir"));
	vs_config_free(c);
}

/* A pseudo syscall (socketcall is x86-only) resolves to libseccomp's negative
 * number: it is known, not skipped, so multi-arch profiles keep it. */
static void test_pseudo_syscall_kept(void **state)
{
	(void)state;
	vs_config *c =
		parse_ok(HEAD "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
			      "[\"socketcall\"],\"action\":\"SCMP_ACT_ERRNO\"}]}" TAIL);
	assert_int_equal(c->seccomp->rules[0].n_syscalls, 1);
	assert_true(c->seccomp->rules[0].syscalls[0] < 0);
	vs_config_free(c);
}

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Deterministic mutations of the full profile (bytes from JSON's alphabet,
 * truncations) each parse or fail with a message, never crash: the fuzz
 * target's job, replayed on every run under ASan. */
static void test_mutations_never_crash(void **state)
{
	(void)state;
	static const char alphabet[] = "{}[]\",:0123456789-.eE tfnul\\x_AZ";
	const char *base = FULL_PROFILE;
	size_t len = strlen(base);
	char *buf = malloc(len + 1);
	assert_non_null(buf);
	int saved = dup(STDERR_FILENO), devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, STDERR_FILENO); /* mutated names warn */
	for (int i = 0; i < 4000; i++) {
		memcpy(buf, base, len + 1);
		for (int k = 0; k < 1 + i % 4; k++)
			buf[next_rand() % len] = alphabet[next_rand() % (sizeof(alphabet) - 1)];
		if (i % 5 == 0)
			buf[next_rand() % len] = '\0';
		vs_config *c = NULL;
		vs_err err = { 0 };
		if (vs_config_parse(buf, "/", &c, &err) == 0)
			vs_config_free(c);
		else
			assert_true(err.msg[0] != '\0');
	}
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(devnull);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_full_profile),
		cmocka_unit_test(test_every_operator_and_arch),
		cmocka_unit_test(test_bad_profiles),
		cmocka_unit_test(test_unknown_syscall_skipped_with_warning),
		cmocka_unit_test(test_pseudo_syscall_kept),
		cmocka_unit_test(test_mutations_never_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
