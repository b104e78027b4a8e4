/* container/home_env.c: HOME from the image's /etc/passwd, which is hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/home_env.h"
#include "core/fs.h"
#include "core/strv.h"

static char root[64];
static int root_fd = -1;

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/vessel-unit-home.XXXXXX");
	assert_non_null(mkdtemp(root));
	char etc[128];
	snprintf(etc, sizeof(etc), "%s/etc", root);
	assert_int_equal(mkdir(etc, 0755), 0);
	root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return root_fd < 0;
}

static int teardown(void **state)
{
	(void)state;
	close(root_fd);
	vs_err err = { 0 };
	return vs_remove_tree(root, &err);
}

static void passwd(const char *text)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/etc/passwd", root);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void expect_home(uid_t uid, const char *want)
{
	char home[256];
	vs_err err = { 0 };
	assert_int_equal(vs_home_of_uid(root_fd, uid, home, sizeof(home), &err), 0);
	assert_string_equal(home, want);
}

static void test_entries(void **state)
{
	(void)state;
	passwd("root:x:0:0:root:/root:/bin/sh\n"
	       "# comment\n"
	       "short:x:7\n"
	       "neg:x:-5:0::/neg:/bin/sh\n"
	       "big:x:4294967301:0::/wraps:/bin/sh\n"
	       "nohome:x:9:9:::/bin/sh\n"
	       "svc:x:1000:1000:gecos, with: colon?:/home/svc:/bin/sh\n"
	       "last:x:2000:2000::/home/last");
	expect_home(0, "/root");
	expect_home(7, "/");		 /* too few fields */
	expect_home((uid_t)-5, "/");	 /* negative is no uid */
	expect_home(5, "/");		 /* 4294967301 must not wrap to 5 */
	expect_home(9, "/");		 /* empty home */
	expect_home(2000, "/home/last"); /* no final newline */
	expect_home(4242, "/");
}

static void test_env(void **state)
{
	(void)state;
	passwd("root:x:0:0:root:/root:/bin/sh\n");
	char *with[] = { "PATH=/bin", "HOME=/mine", NULL };
	char *without[] = { "PATH=/bin", NULL };
	char **out = NULL;
	vs_err err = { 0 };
	assert_int_equal(vs_env_with_home(with, root_fd, 0, &out, &err), 0);
	assert_null(out);
	assert_int_equal(vs_env_with_home(without, root_fd, 0, &out, &err), 0);
	assert_non_null(out);
	assert_string_equal(out[0], "PATH=/bin");
	assert_string_equal(out[1], "HOME=/root");
	assert_null(out[2]);
	vs_strv_free(out);
	assert_int_equal(vs_env_with_home(NULL, root_fd, 0, &out, &err), 0);
	assert_string_equal(out[0], "HOME=/root");
	vs_strv_free(out);
}

static void test_not_a_regular_file(void **state)
{
	(void)state;
	char p[128];
	snprintf(p, sizeof(p), "%s/etc/passwd", root);
	unlink(p);
	assert_int_equal(mkfifo(p, 0644), 0);
	char home[64];
	vs_err err = { 0 };
	assert_int_equal(vs_home_of_uid(root_fd, 0, home, sizeof(home), &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file"));
	unlink(p);
	expect_home(0, "/"); /* missing: "/" */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_not_a_regular_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
