#include "oci/hooks.h"

#include "core/json.h"
#include "core/log.h"
#include "core/strv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
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

/* SIGTERM/SIGINT that arrived while we waited for a hook. */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	interrupted = sig;
}

/* While a hook runs SIGINT and SIGTERM are caught, so that its group is
 * killed before we go; during the wait they are blocked except inside
 * ppoll, so none slips in between the check and the sleep. */
typedef struct hook_signals {
	struct sigaction old_int, old_term;
	sigset_t old_mask;
} hook_signals;

static void catch_interrupts(hook_signals *hs)
{
	struct sigaction sa = { .sa_handler = on_interrupt };
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	sigaction(SIGINT, &sa, &hs->old_int);
	sigaction(SIGTERM, &sa, &hs->old_term);
	sigprocmask(SIG_SETMASK, NULL, &hs->old_mask);
}

static void block_interrupts(void)
{
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);
}

static void restore_interrupts(const hook_signals *hs)
{
	sigaction(SIGINT, &hs->old_int, NULL);
	sigaction(SIGTERM, &hs->old_term, NULL);
	sigprocmask(SIG_SETMASK, &hs->old_mask, NULL);
}

__attribute__((noreturn)) static void exec_hook(const vs_hook *h, const char *what, int in,
						pid_t parent, const hook_signals *hs)
{
	/* Its own process group, so a timeout kills what it started too; and
	 * it dies with us. If we died before prctl, getppid() shows it. */
	setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	restore_interrupts(hs);
	signal(SIGPIPE, SIG_DFL); /* ignored by us below; the hook must not inherit that */
	dup2(in, STDIN_FILENO);
	char *argv0[] = { h->path, NULL };
	/* No "env": the runtime's own environment, as runc and crun give. */
	execve(h->path, h->args && h->args[0] ? h->args : argv0, h->env ? h->env : environ);
	dprintf(STDERR_FILENO, "vessel: %s: exec %s: %s\n", what, h->path, strerror(errno));
	_exit(127);
}

static void write_state(int fd, const char *state_json)
{
	/* A hook that ignores stdin may close it: don't die of SIGPIPE. The old
	 * disposition comes back after, since createContainer/startContainer
	 * hooks run in the container's init, whose program inherits it. */
	void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
	size_t len = strlen(state_json);
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, state_json + off, len - off);
		if (w < 0 && errno == EINTR && !interrupted)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	signal(SIGPIPE, old_pipe);
}

/* Sleep until the hook exits (its pidfd turns readable), the timeout
 * passes, or SIGINT/SIGTERM arrives (or came already). Returns 1, 0 (timed
 * out) or -1; SIGINT/SIGTERM stay blocked until restore_interrupts. */
static int wait_exit(int pidfd, int timeout_s, const sigset_t *unblocked)
{
	struct timespec end, now, left;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_s;
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	block_interrupts();
	for (;;) {
		if (interrupted)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long long ns = (long long)(end.tv_sec - now.tv_sec) * 1000000000LL +
			       (end.tv_nsec - now.tv_nsec);
		if (timeout_s && ns <= 0)
			return 0;
		left = (struct timespec){ (time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL) };
		if (ppoll(&p, 1, timeout_s ? &left : NULL, unblocked) > 0)
			return 1;
	}
}

static int run_one(const vs_hook *h, const char *what, const char *state_json, vs_err *err)
{
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return vs_fail_errno(err, "%s: pipe", what);
	hook_signals hs;
	catch_interrupts(&hs);
	pid_t self = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(in[0]);
		close(in[1]);
		restore_interrupts(&hs);
		return vs_fail(err, e, "%s: fork", what);
	}
	if (pid == 0)
		exec_hook(h, what, in[0], self, &hs);
	/* Both sides set the group: whichever runs first, kill(-pid) works. */
	setpgid(pid, pid);
	close(in[0]);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	write_state(in[1], state_json);
	close(in[1]);

	int rc = pidfd < 0 ? -2 : wait_exit(pidfd, h->timeout, &hs.old_mask);
	if (pidfd >= 0)
		close(pidfd);
	if (rc <= 0)
		kill(-pid, SIGKILL); /* the hook and whatever it started */
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	int sig = interrupted;
	restore_interrupts(&hs);
	if (rc == -2)
		return vs_fail(err, ENOSYS, "%s: pidfd_open for %s", what, h->path);
	if (rc == 0)
		return vs_fail(err, 0, "%s: %s timed out after %d s", what, h->path, h->timeout);
	if (rc < 0)
		return vs_fail(err, 0, "%s: %s killed: vessel got signal %d", what, h->path, sig);
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
