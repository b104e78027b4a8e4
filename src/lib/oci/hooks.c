#include "oci/hooks.h"

#include "core/json.h"
#include "core/log.h"
#include "core/strv.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const kind_names[VS_HOOK_KINDS] = {
	[VS_HOOK_PRESTART] = "prestart",
	[VS_HOOK_CREATE_RUNTIME] = "createRuntime",
	[VS_HOOK_CREATE_CONTAINER] = "createContainer",
	[VS_HOOK_START_CONTAINER] = "startContainer",
	[VS_HOOK_POSTSTART] = "poststart",
	[VS_HOOK_POSTSTOP] = "poststop",
};

const char *vs_hook_kind_name(enum vs_hook_kind k)
{
	return k < VS_HOOK_KINDS ? kind_names[k] : "?";
}

static int parse_hook(json_object *o, const char *field, vs_hook *h, vs_err *err)
{
	if (!json_object_is_type(o, json_type_object))
		return vs_json_fail(err, field, NULL, "expected an object");
	const char *path = NULL;
	if (vs_json_get_cstr(o, field, "path", &path, err) < 0)
		return -1;
	if (!path || path[0] != '/')
		return vs_json_fail(err, field, "path", "required absolute path");
	if (!(h->path = strdup(path)))
		return vs_fail(err, ENOMEM, "%s", field);
	if (vs_json_get_strv(o, field, "args", &h->args, NULL, err) < 0 ||
	    vs_json_get_strv(o, field, "env", &h->env, NULL, err) < 0)
		return -1;
	int64_t t;
	int r = vs_json_get_int(o, field, "timeout", 1, 86400, &t, err);
	if (r < 0)
		return -1;
	if (r > 0)
		h->timeout = (int)t;
	return 0;
}

int vs_hooks_parse(json_object *hooks, const char *where, vs_hooks *out, vs_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!hooks)
		return 0;
	for (int k = 0; k < VS_HOOK_KINDS; k++) {
		json_object *arr;
		int r = vs_json_get_array(hooks, where, kind_names[k], &arr, err);
		if (r < 0)
			return -1;
		if (!r)
			continue;
		char name[64];
		vs_json_path(name, sizeof(name), where, kind_names[k]);
		size_t n = json_object_array_length(arr);
		out->list[k] = calloc(n ? n : 1, sizeof(vs_hook));
		if (!out->list[k])
			return vs_fail(err, ENOMEM, "%s", name);
		for (size_t i = 0; i < n; i++) {
			char field[96];
			vs_json_index(field, sizeof(field), name, i);
			out->n[k]++;
			if (parse_hook(json_object_array_get_idx(arr, i), field, &out->list[k][i],
				       err) < 0)
				return -1;
		}
	}
	return 0;
}

void vs_hooks_free(vs_hooks *h)
{
	for (int k = 0; k < VS_HOOK_KINDS; k++) {
		for (size_t i = 0; i < h->n[k]; i++) {
			free(h->list[k][i].path);
			vs_strv_free(h->list[k][i].args);
			vs_strv_free(h->list[k][i].env);
		}
		free(h->list[k]);
	}
	memset(h, 0, sizeof(*h));
}

static int run_one(const vs_hook *h, const char *what, const char *state_json, vs_err *err)
{
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return vs_fail_errno(err, "%s: pipe", what);
	pid_t pid = fork();
	if (pid < 0) {
		close(in[0]);
		close(in[1]);
		return vs_fail_errno(err, "%s: fork", what);
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL); /* ignored by us below; the hook must not inherit that */
		dup2(in[0], STDIN_FILENO);
		char *argv0[] = { h->path, NULL };
		/* No "env": the runtime's own environment, as runc and crun give. */
		execve(h->path, h->args && h->args[0] ? h->args : argv0, h->env ? h->env : environ);
		dprintf(STDERR_FILENO, "vessel: %s: exec %s: %s\n", what, h->path, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	/* A hook that ignores stdin may close it: don't die of SIGPIPE. The old
	 * disposition comes back after, since createContainer/startContainer
	 * hooks run in the container's init, whose program inherits it. */
	void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
	size_t len = strlen(state_json);
	for (size_t off = 0; off < len;) {
		ssize_t w = write(in[1], state_json + off, len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(in[1]);
	signal(SIGPIPE, old_pipe);

	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, h->timeout ? WNOHANG : 0);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return vs_fail_errno(err, "%s: wait for %s", what, h->path);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (h->timeout && now.tv_sec - start.tv_sec >= h->timeout) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return vs_fail(err, 0, "%s: %s timed out after %d s", what, h->path,
				       h->timeout);
		}
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		return vs_fail(err, 0, "%s: %s killed by signal %d", what, h->path,
			       WTERMSIG(status));
	return vs_fail(err, 0, "%s: %s exited with status %d", what, h->path, WEXITSTATUS(status));
}

int vs_hooks_run(const vs_hooks *h, enum vs_hook_kind kind, const char *state_json, vs_err *err)
{
	for (size_t i = 0; i < h->n[kind]; i++) {
		char what[64];
		snprintf(what, sizeof(what), "hooks.%s[%zu]", kind_names[kind], i);
		if (run_one(&h->list[kind][i], what, state_json, err) < 0)
			return -1;
	}
	return 0;
}

int vs_hooks_run_all(const vs_hooks *h, enum vs_hook_kind kind, const char *state_json,
		     const char *who)
{
	int failed = 0;
	for (size_t i = 0; i < h->n[kind]; i++) {
		char what[64];
		snprintf(what, sizeof(what), "hooks.%s[%zu]", kind_names[kind], i);
		vs_err err = { 0 };
		if (run_one(&h->list[kind][i], what, state_json, &err) < 0) {
			vs_warn("%s: %s", who, err.msg);
			failed++;
		}
	}
	return failed;
}
