#include "lifecycle/container.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/fs.h"
#include "core/log.h"
#include "lifecycle/exec.h"

/* errnum ENOENT (so callers can tell "absent" from "broken"), no strerror suffix. */
static int not_found(vs_err *err, const char *id)
{
	vs_fail(err, 0, "container \"%s\" does not exist", id);
	if (err)
		err->errnum = ENOENT;
	return -1;
}

static int open_dir_locked(vs_container *c, const char *id, vs_err *err)
{
	c->lock_fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->lock_fd < 0) {
		if (errno == ENOENT)
			return not_found(err, id);
		return vs_fail_errno(err, "open %s", c->dir);
	}
	if (flock(c->lock_fd, LOCK_EX) < 0)
		return vs_fail_errno(err, "lock %s", c->dir);
	/* We may have waited for a delete: a removed directory is a gone container. */
	struct stat st;
	if (fstat(c->lock_fd, &st) < 0)
		return vs_fail_errno(err, "stat %s", c->dir);
	if (st.st_nlink == 0)
		return not_found(err, id);
	return 0;
}

static void now_rfc3339(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

static vs_container *container_new(const vs_runtime *rt, const char *id, vs_err *err)
{
	if (vs_validate_id(id, err) < 0)
		return NULL;
	vs_container *c = calloc(1, sizeof(*c));
	if (!c) {
		vs_fail(err, ENOMEM, "container %s", id);
		return NULL;
	}
	c->rt = rt;
	c->lock_fd = -1;
	c->console_fd = -1;
	if (vs_path_join(c->dir, sizeof(c->dir), rt->root, id, err) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

void vs_container_close(vs_container *c)
{
	if (!c)
		return;
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	if (c->console_fd >= 0)
		close(c->console_fd);
	vs_state_clear(&c->state);
	free(c);
}

static int write_pid_file(const char *path, pid_t pid, vs_err *err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	return vs_write_file_atomic(path, buf, (size_t)n, 0644, err);
}

/* Before the last kill: what the workload holds of the host's goes back. */
static void detach(vs_container *c)
{
	vs_err e = { 0 };
	if (c->ops->detach && c->ops->detach(c, &e) < 0)
		vs_warn("container %s: %s", c->state.id, e.msg);
}

/* Remove what a failed create made; the original error stays in err. */
static void undo_create(vs_container *c)
{
	vs_err e2 = { 0 };
	detach(c);
	if (c->state.pid > 0) {
		c->ops->kill(c, SIGKILL, true, &e2);
		/* The workload is our child until create returns: reap it. */
		waitpid(c->state.pid, NULL, 0);
	}
	if (c->ops->destroy(c, &e2) < 0)
		vs_warn("cleanup of %s: %s", c->state.id, e2.msg);
	if (vs_remove_tree(c->dir, &e2) < 0)
		vs_warn("cleanup of %s: %s", c->state.id, e2.msg);
}

int vs_container_create(const vs_runtime *rt, const char *id, const vs_create_opts *opts,
			vs_container **out, vs_err *err)
{
	vs_container *c = container_new(rt, id, err);
	if (!c)
		return -1;
	vs_config *cfg = NULL;
	vs_autofree char *bundle = realpath(opts->bundle ? opts->bundle : ".", NULL);
	if (!bundle) {
		vs_fail_errno(err, "bundle %s", opts->bundle ? opts->bundle : ".");
		goto fail_free;
	}
	if (vs_config_load(bundle, &cfg, err) < 0 ||
	    !(c->ops = vs_backend_for_config(cfg, rt->vm_default, err)))
		goto fail_free;
	if (!cfg->has_process) {
		vs_fail(err, 0, "config.json: process: required to create a container");
		goto fail_free;
	}
	if (vs_mkdir_p(rt->root, 0700, err) < 0)
		goto fail_free;
	if (mkdir(c->dir, 0700) < 0) {
		if (errno == EEXIST)
			vs_fail(err, 0, "container \"%s\" already exists", id);
		else
			vs_fail_errno(err, "mkdir %s", c->dir);
		goto fail_free;
	}
	if (open_dir_locked(c, id, err) < 0)
		goto fail_rmdir;

	char created[64];
	now_rfc3339(created, sizeof(created));
	c->state = (vs_state){
		.id = strdup(id),
		.bundle = strdup(bundle),
		.rootfs = strdup(cfg->root_path),
		.backend = strdup(c->ops->name),
		.created = strdup(created),
		.owner = geteuid(),
		.status = VS_STATUS_CREATING,
		.annotations = cfg->annotations ? json_object_get(cfg->annotations) : NULL,
		.hooks = cfg->hooks_json ? json_object_get(cfg->hooks_json) : NULL,
	};
	if (!c->state.id || !c->state.bundle || !c->state.rootfs || !c->state.backend ||
	    !c->state.created) {
		vs_fail(err, ENOMEM, "container %s", id);
		goto fail_rmdir;
	}
	if (vs_state_save(c->dir, &c->state, err) < 0)
		goto fail_rmdir;
	c->is_parent = true;
	if (c->ops->create(c, cfg, opts, err) < 0)
		goto fail_undo;
	c->state.status = VS_STATUS_CREATED;
	if (vs_state_save(c->dir, &c->state, err) < 0)
		goto fail_undo;
	if (opts->pid_file && write_pid_file(opts->pid_file, c->state.pid, err) < 0)
		goto fail_undo;
	vs_debug("container %s created by the %s backend, init pid %d", id, c->ops->name,
		 (int)c->state.pid);
	vs_config_free(cfg);
	*out = c;
	return 0;

fail_undo:
	undo_create(c);
	goto fail_free;
fail_rmdir:
	rmdir(c->dir);
fail_free:
	vs_err_wrap(err, "create %s", id);
	vs_config_free(cfg);
	vs_container_close(c);
	return -1;
}

/* Records someone else wrote (state.json, or the backend's own files) must
 * not aim a signal, a freeze or a removal at anything else on the host: such
 * a container is stopped, and delete only removes its state dir. */
static void distrust_check(vs_container *c)
{
	vs_err verr = { 0 };
	if (!c->state.untrusted[0] && c->ops->verify && c->ops->verify(c, &verr) < 0)
		vs_state_distrust(&c->state, "%s", verr.msg);
	if (c->state.untrusted[0])
		vs_warn("container %s: untrusted state (%s): treated as stopped", c->state.id,
			c->state.untrusted);
}

int vs_container_open(const vs_runtime *rt, const char *id, bool lock, vs_container **out,
		      vs_err *err)
{
	vs_container *c = container_new(rt, id, err);
	if (!c)
		return -1;
	if (lock && open_dir_locked(c, id, err) < 0)
		goto fail;
	if (vs_state_load(c->dir, &c->state, err) < 0) {
		if (err->errnum == ENOENT) {
			vs_err_clear(err);
			not_found(err, id);
		}
		goto fail;
	}
	if (!(c->ops = vs_backend_by_name(c->state.backend ? c->state.backend : "container", err)))
		goto fail;
	distrust_check(c);
	*out = c;
	return 0;
fail:
	vs_container_close(c);
	return -1;
}

void vs_container_unlock(vs_container *c)
{
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	c->lock_fd = -1;
}

int vs_container_lock(vs_container *c, vs_err *err)
{
	vs_container_unlock(c);
	return open_dir_locked(c, c->state.id, err);
}

vs_status vs_container_status(vs_container *c)
{
	if (c->state.untrusted[0])
		return VS_STATUS_STOPPED;
	return c->ops->status(c);
}

/* poststart and poststop: failures are warnings (runtime-spec), the
 * lifecycle goes on. The hooks come from the state saved at create. */
static void run_recorded_hooks(vs_container *c, enum vs_hook_kind kind, vs_status status)
{
	if (!c->state.hooks)
		return;
	vs_hooks hooks;
	vs_err herr = { 0 };
	char who[128];
	snprintf(who, sizeof(who), "container %s", c->state.id);
	/* One failing hook does not stop the ones after it (runtime-spec; crun). */
	if (vs_hooks_parse(c->state.hooks, "state.json: hooks", &hooks, &herr) == 0) {
		json_object *st = vs_state_to_oci_json(&c->state, status);
		vs_hooks_run_all(&hooks, kind, json_object_to_json_string(st), who);
		json_object_put(st);
	} else {
		vs_warn("%s: %s", who, herr.msg);
	}
	vs_hooks_free(&hooks);
}

int vs_container_start(vs_container *c, vs_err *err)
{
	vs_status s = vs_container_status(c);
	if (s != VS_STATUS_CREATED)
		return vs_fail(err, 0, "cannot start container \"%s\": it is %s, not created",
			       c->state.id, vs_status_name(s));
	if (c->ops->start(c, err) < 0)
		return vs_err_wrap(err, "start %s", c->state.id);
	c->state.status = VS_STATUS_RUNNING;
	if (vs_state_save(c->dir, &c->state, err) < 0)
		return -1;
	run_recorded_hooks(c, VS_HOOK_POSTSTART, VS_STATUS_RUNNING);
	return 0;
}

int vs_container_kill(vs_container *c, int sig, bool all, vs_err *err)
{
	vs_status s = vs_container_status(c);
	if (s == VS_STATUS_STOPPED && !all)
		return vs_fail(err, 0, "cannot kill container \"%s\": it is not running",
			       c->state.id);
	if (s == VS_STATUS_CREATING)
		return vs_fail(err, 0, "cannot kill container \"%s\": it is still being created",
			       c->state.id);
	if (c->state.untrusted[0])
		return 0; /* --all on a stopped container: nothing we may signal */
	if (c->ops->kill(c, sig, all, err) < 0)
		return vs_err_wrap(err, "kill %s", c->state.id);
	return 0;
}

int vs_container_exec(vs_container *c, const vs_exec_request *req, pid_t *pid, int *console_fd,
		      vs_err *err)
{
	const char *id = c->state.id;
	vs_status s = vs_container_status(c);
	if (s == VS_STATUS_PAUSED && !req->ignore_paused)
		return vs_fail(err, 0,
			       "cannot exec in container \"%s\": it is paused (--ignore-paused "
			       "overrides)",
			       id);
	if (s != VS_STATUS_CREATED && s != VS_STATUS_RUNNING && s != VS_STATUS_PAUSED)
		return vs_fail(err, 0, "cannot exec in container \"%s\": it is %s", id,
			       vs_status_name(s));
	if (!c->ops->exec)
		return vs_fail(err, 0, "exec %s: the %s backend cannot exec", id, c->ops->name);
	vs_config *cfg = NULL;
	vs_exec_process x;
	if (vs_config_load(c->state.bundle, &cfg, err) < 0)
		return vs_err_wrap(err, "exec %s: bundle %s", id, c->state.bundle);
	if (vs_exec_process_build(cfg, req, &x, err) < 0) {
		vs_config_free(cfg);
		return vs_err_wrap(err, "exec %s", id);
	}
	int rc = -1;
	if (x.process.terminal && !req->console_socket && !req->console_proxy) {
		vs_fail(err, 0, "exec %s: a terminal needs --console-socket when detached", id);
		goto out;
	}
	if (!x.process.terminal && req->console_socket) {
		vs_fail(err, 0, "exec %s: --console-socket without a terminal (--tty)", id);
		goto out;
	}
	if (x.process.terminal && !req->console_socket)
		x.console_fd = console_fd;
	if (c->ops->exec(c, cfg, &x, pid, err) < 0) {
		vs_err_wrap(err, "exec %s", id);
		goto out;
	}
	if (req->pid_file && write_pid_file(req->pid_file, *pid, err) < 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		goto out;
	}
	rc = 0;
out:
	vs_exec_process_clear(&x);
	vs_config_free(cfg);
	return rc;
}

/* Poll until the workload is gone; reaps it if it is our child. */
static int wait_stopped(vs_container *c, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		if (c->is_parent)
			waitpid(c->state.pid, NULL, WNOHANG);
		if (vs_container_status(c) == VS_STATUS_STOPPED)
			return 0;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

int vs_container_delete(vs_container *c, bool force, vs_err *err)
{
	/* Not believed: its pid, cgroups and hooks are left alone. */
	if (c->state.untrusted[0])
		return vs_remove_tree(c->dir, err) < 0 ? vs_err_wrap(err, "delete %s", c->state.id)
						       : 0;
	vs_status s = vs_container_status(c);
	/* Like runc: a created container may be deleted; a live one needs --force. */
	if ((s == VS_STATUS_RUNNING || s == VS_STATUS_PAUSED) && !force)
		return vs_fail(err, 0,
			       "cannot delete container \"%s\": it is %s (stop it or use --force)",
			       c->state.id, vs_status_name(s));
	/* We hold the lock, which its creator held throughout: a container still
	 * "creating" is one whose create died half way. Clean up what it left. */
	if (s == VS_STATUS_CREATING && c->state.pid <= 0)
		s = VS_STATUS_STOPPED;
	detach(c);
	if (s != VS_STATUS_STOPPED) {
		vs_err kerr = { 0 };
		if (c->ops->kill(c, SIGKILL, true, &kerr) < 0)
			vs_debug("delete %s: %s", c->state.id, kerr.msg);
		if (wait_stopped(c, 10000) < 0)
			return vs_fail(err, 0, "delete %s: process %d did not die after SIGKILL",
				       c->state.id, (int)c->state.pid);
	}
	if (c->ops->destroy(c, err) < 0)
		return vs_err_wrap(err, "delete %s", c->state.id);
	run_recorded_hooks(c, VS_HOOK_POSTSTOP, VS_STATUS_STOPPED);
	if (vs_remove_tree(c->dir, err) < 0)
		return vs_err_wrap(err, "delete %s", c->state.id);
	return 0;
}

int vs_container_wait(vs_container *c, vs_err *err)
{
	int status;
	for (;;) {
		pid_t r = waitpid(c->state.pid, &status, 0);
		if (r == c->state.pid)
			break;
		if (r < 0 && errno != EINTR)
			return vs_fail_errno(err, "wait for container %s (pid %d)", c->state.id,
					     (int)c->state.pid);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int vs_container_list_ids(const vs_runtime *rt, char ***ids, vs_err *err)
{
	size_t n = 0, cap = 16;
	char **v = calloc(cap + 1, sizeof(char *));
	if (!v)
		return vs_fail(err, ENOMEM, "list");
	DIR *d = opendir(rt->root);
	if (!d) {
		if (errno == ENOENT) {
			*ids = v;
			return 0;
		}
		free(v);
		return vs_fail_errno(err, "open %s", rt->root);
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		/* "." and ".." fail validation; other ids may start with a dot
		 * (runc lists them too). */
		if (vs_validate_id(de->d_name, NULL) < 0)
			continue;
		if (n == cap) {
			char **nv = realloc(v, (cap * 2 + 1) * sizeof(char *));
			if (!nv)
				break;
			v = nv;
			cap *= 2;
		}
		v[n++] = strdup(de->d_name);
		v[n] = NULL;
	}
	closedir(d);
	qsort(v, n, sizeof(char *), cmp_str);
	*ids = v;
	return 0;
}
