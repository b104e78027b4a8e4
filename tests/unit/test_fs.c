/* core/fs.c: secure path joining, atomic writes, mkdir -p, tree removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/resolve.h"
#include <fcntl.h>

static char root[64];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/vessel-unit-fs.XXXXXX");
	assert_non_null(mkdtemp(root));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vs_err err = { 0 };
	return vs_remove_tree(root, &err);
}

/* Where does fd point? Compare its /proc link with root + rel. */
static void assert_fd_at(int fd, const char *rel)
{
	char link[PATH_MAX], want[PATH_MAX + 64];
	ssize_t n = readlink(vs_fd_path_of(fd).path, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	snprintf(want, sizeof(want), "%s%s", root, rel);
	assert_string_equal(link, want);
}

/* Resolve unsafe inside root (creating what is missing) and check where it
 * landed: root + rel. */
static void join_expect(const char *unsafe, const char *rel)
{
	int rfd = open(root, O_PATH | O_DIRECTORY);
	assert_true(rfd >= 0);
	vs_err err = { 0 };
	int fd = vs_open_in_root(rfd, unsafe, VS_CREATE_DIR, &err);
	if (fd < 0)
		print_error("%s: %s\n", unsafe, err.msg);
	assert_true(fd >= 0);
	assert_fd_at(fd, strcmp(rel, "/") ? rel : "");
	close(fd);
	close(rfd);
}

static void test_open_in_root_plain(void **state)
{
	(void)state;
	join_expect("/a/b", "/a/b");
	join_expect("a/./b/", "/a/b");
	join_expect("/", "/");
	join_expect("/../../etc", "/etc");
	join_expect("/a/../../b", "/b");
}

static void test_open_in_root_symlinks_stay_inside(void **state)
{
	(void)state;
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/abs", root);
	assert_int_equal(symlink("/etc", p), 0);
	snprintf(p, sizeof(p), "%s/rel", root);
	assert_int_equal(symlink("../../../../outside", p), 0);
	snprintf(p, sizeof(p), "%s/dir", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/dir/up", root);
	assert_int_equal(symlink("..", p), 0);
	join_expect("/abs/passwd", "/etc/passwd");
	join_expect("/rel/x", "/outside/x");
	join_expect("/dir/up/dir/up/abs/passwd", "/etc/passwd");
	join_expect("/dir/up/up/x", "/up/x"); /* "up" only exists in /dir */
}

static void test_open_in_root_loop(void **state)
{
	(void)state;
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/loop", root);
	assert_int_equal(symlink("loop", p), 0);
	int rfd = open(root, O_PATH | O_DIRECTORY);
	assert_true(rfd >= 0);
	vs_err err = { 0 };
	assert_int_equal(vs_open_in_root(rfd, "/loop/x", VS_CREATE_DIR, &err), -1);
	assert_non_null(strstr(err.msg, "/loop"));
	close(rfd);
}

static void test_atomic_write_and_read(void **state)
{
	(void)state;
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/f.json", root);
	vs_err err = { 0 };
	assert_int_equal(vs_write_file_atomic(p, "one", 3, 0600, &err), 0);
	assert_int_equal(vs_write_file_atomic(p, "two!", 4, 0600, &err), 0);
	char *buf;
	size_t len;
	assert_int_equal(vs_read_file(p, &buf, &len, &err), 0);
	assert_int_equal(len, 4);
	assert_string_equal(buf, "two!");
	free(buf);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_read_missing_names_path(void **state)
{
	(void)state;
	vs_err err = { 0 };
	char *buf;
	assert_int_equal(vs_read_file("/nonexistent/vessel/x", &buf, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/vessel/x"));
	assert_non_null(strstr(err.msg, "No such file"));
}

static void test_mkdir_p_and_remove(void **state)
{
	(void)state;
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/x/y/z", root);
	vs_err err = { 0 };
	assert_int_equal(vs_mkdir_p(p, 0755, &err), 0);
	assert_int_equal(vs_mkdir_p(p, 0755, &err), 0);
	snprintf(p, sizeof(p), "%s/x/y/z/file", root);
	assert_int_equal(vs_write_file(p, "x", 1, 0644, &err), 0);
	snprintf(p, sizeof(p), "%s/x/y/z/file/sub", root);
	assert_int_equal(vs_mkdir_p(p, 0755, &err), -1);
	snprintf(p, sizeof(p), "%s/x", root);
	assert_int_equal(vs_remove_tree(p, &err), 0);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(vs_remove_tree(p, &err), 0); /* missing is fine */
}

static void test_path_join(void **state)
{
	(void)state;
	char out[PATH_MAX];
	vs_err err = { 0 };
	assert_int_equal(vs_path_join(out, sizeof(out), "/a/", "/b", &err), 0);
	assert_string_equal(out, "/a/b");
	assert_int_equal(vs_path_join(out, sizeof(out), "/", "b", &err), 0);
	assert_string_equal(out, "/b");
	char small[4];
	assert_int_equal(vs_path_join(small, sizeof(small), "/abc", "def", &err), -1);
}

static void test_open_in_root_creates_inside(void **state)
{
	(void)state;
	char p[PATH_MAX + 64];
	int rfd = open(root, O_PATH | O_DIRECTORY);
	assert_true(rfd >= 0);
	snprintf(p, sizeof(p), "%s/abs", root);
	assert_int_equal(symlink("/etc/vessel-should-not-exist", p), 0);
	snprintf(p, sizeof(p), "%s/rel", root);
	assert_int_equal(symlink("../../../../tmp-outside", p), 0);
	vs_err err = { 0 };
	int fd = vs_open_in_root(rfd, "/abs/sub", VS_CREATE_DIR, &err);
	assert_true(fd >= 0);
	assert_fd_at(fd, "/etc/vessel-should-not-exist/sub");
	close(fd);
	assert_int_equal(access("/etc/vessel-should-not-exist", F_OK), -1);
	fd = vs_open_in_root(rfd, "rel/x/file", VS_CREATE_FILE, &err);
	assert_true(fd >= 0);
	assert_fd_at(fd, "/tmp-outside/x/file");
	close(fd);
	fd = vs_open_in_root(rfd, "/missing", VS_OPEN_EXISTING, &err);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(err.msg, "/missing"));
	close(rfd);
}

/* A tree read as data: nothing of it may lead elsewhere. */
static void test_read_beneath(void **state)
{
	(void)state;
	char p[PATH_MAX], q[PATH_MAX];
	vs_err err = { 0 };
	snprintf(p, sizeof(p), "%s/tree/sub", root);
	assert_int_equal(vs_mkdir_p(p, 0755, &err), 0);
	snprintf(p, sizeof(p), "%s/tree/sub/ok", root);
	assert_int_equal(vs_write_file(p, "data", 4, 0644, &err), 0);
	snprintf(p, sizeof(p), "%s/secret", root);
	assert_int_equal(vs_write_file(p, "host", 4, 0600, &err), 0);
	snprintf(q, sizeof(q), "%s/tree/out", root);
	assert_int_equal(symlink(p, q), 0);
	snprintf(q, sizeof(q), "%s/tree/in", root);
	assert_int_equal(symlink("sub/ok", q), 0);
	snprintf(q, sizeof(q), "%s/tree/linkdir", root);
	assert_int_equal(symlink("sub", q), 0);
	snprintf(q, sizeof(q), "%s/tree/fifo", root);
	assert_int_equal(mkfifo(q, 0600), 0);
	snprintf(q, sizeof(q), "%s/tree", root);
	int dfd = open(q, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	char *data = NULL;
	size_t len = 0;
	assert_int_equal(vs_read_beneath(dfd, "T", "sub/ok", &data, &len, &err), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(data, "data", 4);
	free(data);
	const char *const bad[] = { "out", "in", "linkdir/ok", "../secret", p, "sub/../../secret" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		data = NULL;
		assert_int_equal(vs_read_beneath(dfd, "T", bad[i], &data, &len, &err), -1);
		assert_null(data);
		assert_non_null(strstr(err.msg, "(beneath, no symlinks)"));
	}
	/* A FIFO would block the read: refused, not waited on. */
	assert_int_equal(vs_read_beneath(dfd, "T", "fifo", &data, &len, &err), -1);
	assert_string_equal(err.msg, "T/fifo: not a regular file: Invalid argument");
	assert_int_equal(vs_read_beneath(dfd, "T", "sub", &data, &len, &err), -1);
	close(dfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_in_root_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_in_root_symlinks_stay_inside, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_in_root_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_write_and_read, setup, teardown),
		cmocka_unit_test(test_read_missing_names_path),
		cmocka_unit_test_setup_teardown(test_mkdir_p_and_remove, setup, teardown),
		cmocka_unit_test(test_path_join),
		cmocka_unit_test_setup_teardown(test_read_beneath, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_in_root_creates_inside, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
