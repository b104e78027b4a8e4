/* lifecycle/container.c through a fake backend: the status rules of
 * create/start/kill/delete, the state directory (nothing left after a failed
 * create), duplicate ids, and the lock that serialises commands on one id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/proc.h"
#include "lifecycle/container.h"

/* ---- the fake backend: a status the test sets, and a record of calls ---- */

static struct {
	vs_status status;
	bool fail_create;
	int creates, starts, kills, destroys;
	int last_sig;
	bool last_all;
} fake;

static int fake_create(vs_container *c, const vs_config *cfg, const vs_create_opts *opts,
		       vs_err *err)
{
	(void)cfg;
	(void)opts;
	fake.creates++;
	if (fake.fail_create)
		return vs_fail(err, EIO, "fake create failed");
	/* Not our child: the lifecycle's waitpid calls find nothing to reap.
	 * With its real start time, as a backend records it (state checks). */
	c->state.pid = 1;
	vs_proc_stat(1, &c->state.start_time, NULL);
	fake.status = VS_STATUS_CREATED;
	return 0;
}

static int fake_start(vs_container *c, vs_err *err)
{
	(void)c;
	(void)err;
	fake.starts++;
	fake.status = VS_STATUS_RUNNING;
	return 0;
}

static vs_status fake_status(vs_container *c)
{
	(void)c;
	return fake.status;
}

static int fake_kill(vs_container *c, int sig, bool all, vs_err *err)
{
	(void)c;
	(void)err;
	fake.kills++;
	fake.last_sig = sig;
	fake.last_all = all;
	if (sig == SIGKILL)
		fake.status = VS_STATUS_STOPPED;
	return 0;
}

static int fake_destroy(vs_container *c, vs_err *err)
{
	(void)c;
	(void)err;
	fake.destroys++;
	return 0;
}

static const vs_backend_ops fake_ops = {
	.name = "fake",
	.create = fake_create,
	.start = fake_start,
	.status = fake_status,
	.kill = fake_kill,
	.destroy = fake_destroy,
};

/* ---- fixture: a bundle selecting the fake backend and a temp --root ---- */

typedef struct fixture {
	char dir[64];
	char bundle[128];
	char root[128];
	vs_runtime rt;
	vs_create_opts opts;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/vessel-lifecycle-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->bundle, sizeof(f->bundle), "%s/bundle", f->dir);
	snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
	char path[256];
	snprintf(path, sizeof(path), "%s/rootfs", f->bundle);
	vs_err err = { 0 };
	if (vs_mkdir_p(path, 0755, &err) < 0)
		return -1;
	static const char cfg[] = "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
				  "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
				  "\"annotations\":{\"io.vessel.backend\":\"fake\"}}";
	snprintf(path, sizeof(path), "%s/config.json", f->bundle);
	if (vs_write_file(path, cfg, sizeof(cfg) - 1, 0644, &err) < 0)
		return -1;
	f->rt = (vs_runtime){ .root = f->root };
	f->opts = (vs_create_opts){ .bundle = f->bundle };
	memset(&fake, 0, sizeof(fake));
	vs_backend_register_extra(&fake_ops);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	vs_err err = { 0 };
	vs_remove_tree(f->dir, &err);
	vs_backend_register_extra(NULL);
	free(f);
	return 0;
}

static bool state_dir_exists(fixture *f, const char *id)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", f->root, id);
	struct stat st;
	return stat(path, &st) == 0;
}

static vs_container *create_ok(fixture *f, const char *id)
{
	vs_container *c = NULL;
	vs_err err = { 0 };
	if (vs_container_create(&f->rt, id, &f->opts, &c, &err) < 0)
		print_error("create: %s\n", err.msg);
	assert_non_null(c);
	return c;
}

static vs_container *open_ok(fixture *f, const char *id)
{
	vs_container *c = NULL;
	vs_err err = { 0 };
	if (vs_container_open(&f->rt, id, true, &c, &err) < 0)
		print_error("open: %s\n", err.msg);
	assert_non_null(c);
	return c;
}

static void assert_fails_with(int rc, const vs_err *err, const char *fragment)
{
	assert_int_equal(rc, -1);
	if (!strstr(err->msg, fragment))
		print_error("message \"%s\" lacks \"%s\"\n", err->msg, fragment);
	assert_non_null(strstr(err->msg, fragment));
}

/* ---- tests ---- */

static void test_create_records_state(void **state)
{
	fixture *f = *state;
	vs_container *c = create_ok(f, "a");
	assert_int_equal(fake.creates, 1);
	assert_ptr_equal(c->ops, &fake_ops);
	vs_container_close(c);
	/* A later command finds it created, with the backend it was made by. */
	c = open_ok(f, "a");
	assert_int_equal(c->state.status, VS_STATUS_CREATED);
	assert_string_equal(c->state.backend, "fake");
	assert_int_equal(vs_container_status(c), VS_STATUS_CREATED);
	vs_container_close(c);
}

static void test_second_create_of_an_id_fails(void **state)
{
	fixture *f = *state;
	vs_container *c = create_ok(f, "dup");
	vs_container_close(c);
	vs_err err = { 0 };
	c = NULL;
	assert_fails_with(vs_container_create(&f->rt, "dup", &f->opts, &c, &err), &err,
			  "container \"dup\" already exists");
	assert_null(c);
	/* The backend was not asked, and the first one is untouched. */
	assert_int_equal(fake.creates, 1);
	assert_int_equal(fake.destroys, 0);
	assert_true(state_dir_exists(f, "dup"));
}

static void test_failed_backend_create_leaves_nothing(void **state)
{
	fixture *f = *state;
	fake.fail_create = true;
	vs_container *c = NULL;
	vs_err err = { 0 };
	assert_fails_with(vs_container_create(&f->rt, "broken", &f->opts, &c, &err), &err,
			  "create broken: fake create failed");
	assert_null(c);
	assert_int_equal(fake.destroys, 1); /* the backend cleaned up its part */
	assert_false(state_dir_exists(f, "broken"));
	/* The id is free again. */
	fake.fail_create = false;
	vs_container_close(create_ok(f, "broken"));
}

static void test_invalid_id_and_missing_container(void **state)
{
	fixture *f = *state;
	vs_container *c = NULL;
	vs_err err = { 0 };
	assert_int_equal(vs_container_create(&f->rt, "../escape", &f->opts, &c, &err), -1);
	assert_int_equal(fake.creates, 0);
	vs_err_clear(&err);
	assert_fails_with(vs_container_open(&f->rt, "nope", true, &c, &err), &err,
			  "container \"nope\" does not exist");
	assert_int_equal(err.errnum, ENOENT);
}

static void test_start_only_when_created(void **state)
{
	fixture *f = *state;
	vs_container *c = create_ok(f, "s");
	vs_err err = { 0 };
	assert_int_equal(vs_container_start(c, &err), 0);
	assert_int_equal(fake.starts, 1);
	assert_int_equal(c->state.status, VS_STATUS_RUNNING);
	assert_fails_with(vs_container_start(c, &err), &err,
			  "cannot start container \"s\": it is running, not created");
	fake.status = VS_STATUS_STOPPED;
	assert_fails_with(vs_container_start(c, &err), &err, "it is stopped, not created");
	assert_int_equal(fake.starts, 1);
	vs_container_close(c);
}

static void test_kill_rules(void **state)
{
	fixture *f = *state;
	vs_container *c = create_ok(f, "k");
	vs_err err = { 0 };
	/* A created container may be signalled (runc allows it too). */
	assert_int_equal(vs_container_kill(c, SIGTERM, false, &err), 0);
	assert_int_equal(fake.last_sig, SIGTERM);
	fake.status = VS_STATUS_STOPPED;
	assert_fails_with(vs_container_kill(c, SIGTERM, false, &err), &err,
			  "cannot kill container \"k\": it is not running");
	assert_int_equal(fake.kills, 1);
	/* --all still reaches leftovers of a stopped container. */
	assert_int_equal(vs_container_kill(c, SIGKILL, true, &err), 0);
	assert_true(fake.last_all);
	fake.status = VS_STATUS_CREATING;
	assert_fails_with(vs_container_kill(c, SIGKILL, false, &err), &err,
			  "it is still being created");
	vs_container_close(c);
}

static void test_delete_rules(void **state)
{
	fixture *f = *state;
	vs_err err = { 0 };
	vs_container *c = create_ok(f, "d");
	vs_container_start(c, &err);
	assert_fails_with(vs_container_delete(c, false, &err), &err,
			  "cannot delete container \"d\": it is running (stop it or use --force)");
	fake.status = VS_STATUS_PAUSED;
	assert_fails_with(vs_container_delete(c, false, &err), &err, "it is paused");
	assert_int_equal(fake.destroys, 0);
	assert_true(state_dir_exists(f, "d"));
	/* --force: SIGKILL to everything, then teardown and the state dir. */
	fake.status = VS_STATUS_RUNNING;
	assert_int_equal(vs_container_delete(c, true, &err), 0);
	assert_int_equal(fake.last_sig, SIGKILL);
	assert_true(fake.last_all);
	assert_int_equal(fake.destroys, 1);
	assert_false(state_dir_exists(f, "d"));
	vs_container_close(c);

	/* A created (never started) one is deleted without --force. */
	c = create_ok(f, "d2");
	assert_int_equal(vs_container_delete(c, false, &err), 0);
	assert_false(state_dir_exists(f, "d2"));
	vs_container_close(c);
}

static void test_delete_cleans_up_a_half_made_container(void **state)
{
	fixture *f = *state;
	vs_err err = { 0 };
	vs_container *c = create_ok(f, "half");
	/* As if create had died before the backend recorded a pid. */
	c->state.status = VS_STATUS_CREATING;
	c->state.pid = 0;
	assert_int_equal(vs_state_save(c->dir, &c->state, &err), 0);
	vs_container_close(c);
	fake.status = VS_STATUS_CREATING;
	c = open_ok(f, "half");
	c->state.pid = 0;
	assert_int_equal(vs_container_delete(c, false, &err), 0);
	assert_int_equal(fake.kills, 0);
	assert_false(state_dir_exists(f, "half"));
	vs_container_close(c);
}

/* A second command on the same id waits for the lock; if the holder deleted
 * the container meanwhile, the waiter finds it gone. */
static void test_lock_serialises_and_sees_delete(void **state)
{
	fixture *f = *state;
	vs_container *c = create_ok(f, "l"); /* create returns it locked */
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Our copy of the locked fd shares its lock: drop it, as another
		 * vessel process would not have it. */
		close(c->lock_fd);
		close(p[0]);
		alarm(10);
		vs_container *c2 = NULL;
		vs_err err = { 0 };
		int rc = vs_container_open(&f->rt, "l", true, &c2, &err);
		char r = rc == 0 ? 'o' : err.errnum == ENOENT ? 'g' : 'e';
		_exit(write(p[1], &r, 1) == 1 ? 0 : 1);
	}
	close(p[1]);
	struct pollfd pfd = { .fd = p[0], .events = POLLIN };
	/* The child blocks on the lock while we hold it. */
	assert_int_equal(poll(&pfd, 1, 200), 0);
	vs_err err = { 0 };
	assert_int_equal(vs_container_delete(c, true, &err), 0);
	vs_container_close(c); /* releases the lock */
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	char r = 0;
	assert_int_equal(read(p[0], &r, 1), 1);
	assert_int_equal(r, 'g');
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(p[0]);
}

static void test_unlocked_open_does_not_wait(void **state)
{
	fixture *f = *state;
	vs_container *c = create_ok(f, "u");
	vs_container *c2 = NULL;
	vs_err err = { 0 };
	/* state/list read without the lock, so they never wait behind a command. */
	assert_int_equal(vs_container_open(&f->rt, "u", false, &c2, &err), 0);
	assert_int_equal(c2->lock_fd, -1);
	vs_container_close(c2);
	vs_container_close(c);
	char **ids = NULL;
	assert_int_equal(vs_container_list_ids(&f->rt, &ids, &err), 0);
	assert_string_equal(ids[0], "u");
	assert_null(ids[1]);
	for (char **p = ids; *p; p++)
		free(*p);
	free(ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_records_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_create_of_an_id_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_backend_create_leaves_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_invalid_id_and_missing_container, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_start_only_when_created, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_cleans_up_a_half_made_container, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lock_serialises_and_sees_delete, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unlocked_open_does_not_wait, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
