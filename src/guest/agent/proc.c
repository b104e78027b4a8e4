/* Workload processes: create forks a child that sets up its stdio and
 * waits; start releases it into vessel's process setup and exec. */
#include "guest/agent/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "container/internal.h"
#include "container/process_setup.h"
#include "core/json.h"
#include "core/proc.h"
#include "guest/agent/info.h"
#include "oci/process_attrs.h"

static const char *const stream_names[ST_COUNT] = { "stdin", "stdout", "stderr", "pty" };

int stream_from_name(const char *s)
{
	for (int i = 0; i < ST_COUNT; i++)
		if (!strcmp(s, stream_names[i]))
			return i;
	return -1;
}

proc *proc_find(agent *a, const char *id)
{
	for (proc *p = a->procs; p; p = p->next)
		if (!strcmp(p->id, id))
			return p;
	return NULL;
}

static void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* What the child needs, parsed by the parent so errors reach `create`. */
typedef struct spec {
	vs_process p;
	vs_process_attrs attrs;
	char exe[PATH_MAX];
} spec;

/* Fields vessel parses but the agent cannot apply inside a guest. */
static int refuse_fields(json_object *process, const char *where, vs_err *err)
{
	static const char *const labels[] = { "apparmorProfile", "selinuxLabel" };
	for (size_t i = 0; i < 2; i++) {
		const char *label = NULL;
		int rc = vs_json_get_cstr(process, where, labels[i], &label, err);
		if (rc < 0)
			return -1;
		if (rc > 0 && label[0])
			return vs_json_fail(err, where, labels[i], "%s is not supported by vessel",
					    i ? "SELinux" : "AppArmor");
	}
	return 0;
}

static int parse_stdio(proc *p, json_object *stdio, const char *type, bool terminal, vs_err *err)
{
	size_t n = stdio ? json_object_array_length(stdio) : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(stdio, i);
		int s = json_object_is_type(v, json_type_string)
				? stream_from_name(json_object_get_string(v))
				: -1;
		if (s < 0)
			return vs_fail(
				err, EINVAL,
				"%s: stdio[%zu]: expected \"stdin\", \"stdout\", \"stderr\" or "
				"\"pty\"",
				type, i);
		if (p->want[s])
			return vs_fail(err, EINVAL, "%s: stdio[%zu]: \"%s\" named twice", type, i,
				       json_object_get_string(v));
		p->want[s] = true;
	}
	if (p->want[ST_PTY] && (p->want[ST_STDIN] || p->want[ST_STDOUT] || p->want[ST_STDERR]))
		return vs_fail(err, EINVAL, "%s: stdio: \"pty\" goes alone", type);
	if (p->want[ST_PTY] && !terminal)
		return vs_fail(err, EINVAL, "%s: stdio: \"pty\" needs process.terminal", type);
	if (terminal && !p->want[ST_PTY])
		return vs_fail(err, EINVAL,
			       "%s: process.terminal: needs the \"pty\" stream in stdio", type);
	return 0;
}

static int set_hostname(const agent *a, const char *hostname, const char *type, vs_err *err)
{
	struct stat self, init;
	/* PID 1 of its pid namespace (a guest, or a container's init) owns
	 * the hostname; otherwise only a UTS namespace that is not init's. */
	(void)a;
	bool own = getpid() == 1;
	if (!own && stat("/proc/self/ns/uts", &self) == 0 && stat("/proc/1/ns/uts", &init) == 0)
		own = self.st_ino != init.st_ino || self.st_dev != init.st_dev;
	if (!own)
		return vs_fail(
			err, EPERM,
			"%s: hostname: the agent shares the UTS namespace of the host's init",
			type);
	if (sethostname(hostname, strlen(hostname)) < 0)
		return vs_fail_errno(err, "%s: hostname: sethostname \"%s\"", type, hostname);
	return 0;
}

/* The child's side of the stdio: /dev/null for what the host will not attach. */
static int child_stdio(proc *p, int child[ST_COUNT])
{
	if (p->want[ST_PTY]) {
		int s = child[ST_PTY];
		if (setsid() < 0 || ioctl(s, TIOCSCTTY, 0) < 0)
			return -1;
		for (int fd = 0; fd < 3; fd++)
			if (dup2(s, fd) < 0)
				return -1;
		return 0;
	}
	if (setsid() < 0)
		return -1;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3; fd++) {
		int src = p->want[fd] ? child[fd] : null;
		if (src < 0 || dup2(src, fd) < 0)
			return -1;
	}
	return 0;
}

static void child_fail(int status_w, const vs_err *err)
{
	size_t n = strlen(err->msg);
	if (write(status_w, err->msg, n) < 0) {
		/* nothing more to tell */
	}
	if (write(2, "vessel-agent: ", 14) > 0 && write(2, err->msg, n) > 0)
		(void)!write(2, "\n", 1);
	_exit(127);
}

static __attribute__((noreturn)) void child_main(proc *p, spec *sp, int child[ST_COUNT], int go_r,
						 int status_w)
{
	vs_err err = { 0 };
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (child_stdio(p, child) < 0) {
		vs_fail_errno(&err, "stdio of process \"%s\"", p->id);
		child_fail(status_w, &err);
	}
	/* Drop every agent fd now, not at exec: a waiting child holding
	 * another program's stdin pipe would keep that program from EOF. */
	int g = fcntl(go_r, F_DUPFD, 100), w = fcntl(status_w, F_DUPFD, 100);
	if (g < 0 || w < 0 || dup2(g, 3) < 0 || dup2(w, 4) < 0 ||
	    syscall(SYS_close_range, 5, ~0U, 0) < 0 || fcntl(3, F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(4, F_SETFD, FD_CLOEXEC) < 0) {
		vs_fail_errno(&err, "fds of process \"%s\"", p->id);
		child_fail(status_w, &err);
	}
	go_r = 3;
	status_w = 4;
	char go;
	ssize_t r;
	do
		r = read(go_r, &go, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		_exit(1); /* the agent went away before start */
	int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int cwd_fd = open(sp->p.cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		vs_fail_errno(&err, "open /");
	else if (cwd_fd < 0)
		vs_fail_errno(&err, "process.cwd: open %s", sp->p.cwd);
	if (root_fd < 0 || cwd_fd < 0)
		child_fail(status_w, &err);
	if (sp->p.has_oom_score_adj &&
	    vs_proc_write_oom_score_adj(getpid(), sp->p.oom_score_adj, &err) < 0)
		child_fail(status_w, &err);
	vs_process_setup s = { .p = &sp->p,
			       .attrs = &sp->attrs,
			       .sync_fd = -1,
			       .root_fd = root_fd,
			       .cwd_fd = cwd_fd };
	if (vs_process_setup_apply(&s, sp->exe, sizeof(sp->exe), &err) < 0)
		child_fail(status_w, &err);
	static char *const empty[] = { NULL };
	execve(sp->exe, sp->p.args, sp->p.env ? sp->p.env : empty);
	vs_fail_errno(&err, "exec %s", sp->exe);
	child_fail(status_w, &err);
	_exit(127);
}

static void spec_free(spec *sp)
{
	vs_process_free(&sp->p);
	free(sp);
}

static int make_streams(proc *p, int child[ST_COUNT], const spec *sp, vs_err *err)
{
	if (p->want[ST_PTY]) {
		int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) {
			if (m >= 0)
				close(m);
			return vs_fail_errno(err, "pty: posix_openpt");
		}
		int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (s < 0) {
			close(m);
			return vs_fail_errno(err, "pty: TIOCGPTPEER");
		}
		if (sp->p.has_console_size) {
			struct winsize ws = { .ws_row = sp->p.console_height,
					      .ws_col = sp->p.console_width };
			ioctl(m, TIOCSWINSZ, &ws);
		}
		p->fds[ST_PTY] = m;
		p->pty_master = dup(m);
		child[ST_PTY] = s;
		if (p->pty_master < 0)
			return vs_fail_errno(err, "pty: dup");
		fcntl(p->pty_master, F_SETFD, FD_CLOEXEC);
		return 0;
	}
	for (int s = 0; s < 3; s++) {
		if (!p->want[s])
			continue;
		int fds[2];
		if (pipe2(fds, O_CLOEXEC) < 0)
			return vs_fail_errno(err, "%s pipe", s ? "output" : "stdin");
		/* The agent writes stdin, reads stdout and stderr. */
		p->fds[s] = s == ST_STDIN ? fds[1] : fds[0];
		child[s] = s == ST_STDIN ? fds[0] : fds[1];
	}
	return 0;
}

static void proc_unlink_free(agent *a, proc *p)
{
	for (proc **pp = &a->procs; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			a->n_procs--;
			break;
		}
	for (int s = 0; s < ST_COUNT; s++)
		closep(&p->fds[s]);
	closep(&p->pty_master);
	closep(&p->go_w);
	closep(&p->status_r);
	free(p);
}

/* Room for one more: forget an exec'd process whose exit was answered
 * (init stays: its status is the workload's). */
static void evict_one(agent *a)
{
	proc *victim = NULL;
	for (proc *p = a->procs; p; p = p->next)
		if (p->state == P_EXITED && p->waited && !p->waits && strcmp(p->id, "init"))
			victim = p; /* the list is newest first: the last is the oldest */
	if (victim)
		proc_unlink_free(a, victim);
}

int proc_create(agent *a, conn *owner, const char *id, json_object *process, const char *hostname,
		json_object *stdio, bool start, proc **out, vs_err *err)
{
	const char *type = start ? "exec" : "create";
	if (!id[0] || strlen(id) >= sizeof(((proc *)0)->id))
		return vs_fail(err, EINVAL, "%s: process_id: 1 to 64 characters", type);
	if (proc_find(a, id))
		return vs_fail(err, EEXIST, "%s: process_id: \"%s\" exists", type, id);
	if (a->n_procs >= AGENT_MAX_PROCS)
		evict_one(a);
	if (a->n_procs >= AGENT_MAX_PROCS)
		return vs_fail(err, EAGAIN, "%s: too many processes", type);
	char where[32];
	snprintf(where, sizeof(where), "%s: process", type);
	spec *sp = calloc(1, sizeof(*sp));
	proc *p = calloc(1, sizeof(*p));
	if (!sp || !p) {
		free(sp);
		free(p);
		return vs_fail(err, ENOMEM, "%s", type);
	}
	snprintf(p->id, sizeof(p->id), "%s", id);
	for (int s = 0; s < ST_COUNT; s++)
		p->fds[s] = -1;
	p->pty_master = p->go_w = p->status_r = -1;
	p->next = a->procs;
	a->procs = p;
	a->n_procs++;
	int child[ST_COUNT] = { -1, -1, -1, -1 };
	int go[2] = { -1, -1 }, st[2] = { -1, -1 };
	int rc = -1;
	if (vs_process_parse(process, where, &sp->p, err) < 0 ||
	    refuse_fields(process, where, err) < 0 ||
	    vs_process_attrs_parse(process, NULL, &sp->attrs, err) < 0 ||
	    parse_stdio(p, stdio, type, sp->p.terminal, err) < 0)
		goto out;
	/* The program and cwd are checked now so a bad one fails create. */
	int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		vs_fail_errno(err, "open /");
		goto out;
	}
	int found = vs_find_executable(&sp->p, root_fd, sp->exe, sizeof(sp->exe), err);
	close(root_fd);
	struct stat cst;
	if (found < 0)
		goto out;
	if (stat(sp->p.cwd, &cst) < 0 || !S_ISDIR(cst.st_mode)) {
		vs_fail(err, errno ? errno : ENOTDIR, "%s.cwd: %s", where, sp->p.cwd);
		goto out;
	}
	if (hostname && set_hostname(a, hostname, type, err) < 0)
		goto out;
	if (make_streams(p, child, sp, err) < 0)
		goto out;
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(st, O_CLOEXEC) < 0) {
		vs_fail_errno(err, "pipe");
		goto out;
	}
	pid_t pid = fork();
	if (pid < 0) {
		vs_fail_errno(err, "fork");
		goto out;
	}
	if (pid == 0)
		child_main(p, sp, child, go[0], st[1]);
	p->pid = pid;
	p->owner = owner;
	p->go_w = go[1];
	p->status_r = st[0];
	go[1] = st[0] = -1;
	rc = 0;
out:
	for (int s = 0; s < ST_COUNT; s++)
		closep(&child[s]);
	closep(&go[0]);
	closep(&go[1]);
	closep(&st[0]);
	closep(&st[1]);
	spec_free(sp);
	if (rc < 0) {
		proc_unlink_free(a, p);
		return -1;
	}
	*out = p;
	if (start && proc_start(a, p, err) < 0)
		return -1; /* the child waits for the kill the host will send */
	return 0;
}

static bool streams_ready(const proc *p)
{
	for (int s = 0; s < ST_COUNT; s++)
		if (p->want[s] && !p->attached[s])
			return false;
	return true;
}

/* Release the child and read what its setup said: nothing (EOF at exec)
 * or the error. Blocks for the few syscalls of the process setup. */
static int release(proc *p, vs_err *err)
{
	char go = 1;
	if (write(p->go_w, &go, 1) != 1) {
		closep(&p->go_w);
		return vs_fail_errno(err, "start: process \"%s\"", p->id);
	}
	closep(&p->go_w);
	p->state = P_STARTED;
	char msg[VS_ERR_MSG_MAX];
	size_t n = 0;
	for (;;) {
		ssize_t r = read(p->status_r, msg + n, sizeof(msg) - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || (n += (size_t)r) >= sizeof(msg) - 1)
			break;
	}
	closep(&p->status_r);
	if (n == 0)
		return 0;
	msg[n] = '\0';
	return vs_fail(err, 0, "start: %s", msg);
}

int proc_start(agent *a, proc *p, vs_err *err)
{
	(void)a;
	if (p->state != P_CREATED || p->start_requested)
		return vs_fail(err, EBUSY, "start: process \"%s\" already started", p->id);
	p->start_requested = true;
	if (!streams_ready(p))
		return 0; /* exec'd when the last stream attaches (stdio_attach) */
	return release(p, err);
}

void proc_stream_attached(agent *a, proc *p)
{
	(void)a;
	if (p->state == P_CREATED && p->start_requested && streams_ready(p)) {
		vs_err err = { 0 };
		if (release(p, &err) < 0)
			fprintf(stderr, "vessel-agent: %s\n", err.msg);
	}
}

void wait_reply(agent *a, proc *p, conn *c, uint64_t id)
{
	json_object *rep = json_object_new_object();
	int code = 0, sig = 0;
	if (WIFEXITED(p->status)) {
		code = WEXITSTATUS(p->status);
	} else if (WIFSIGNALED(p->status)) {
		sig = WTERMSIG(p->status);
		code = 128 + sig;
	}
	p->waited = true;
	json_object_object_add(rep, "exit_code", json_object_new_int(code));
	json_object_object_add(rep, "signal", json_object_new_int(sig));
	conn_reply(a, c, id, rep);
}

void proc_add_wait(agent *a, proc *p, conn *c, uint64_t id)
{
	if (p->state == P_EXITED) {
		wait_reply(a, p, c, id);
		return;
	}
	waiter *w = calloc(1, sizeof(*w));
	if (!w) {
		conn_error(a, c, id, ENOMEM, "wait: out of memory");
		return;
	}
	w->c = c;
	w->id = id;
	w->next = p->waits;
	p->waits = w;
}

/* SIGKILL to p, its process group (the child is a session leader) and the
 * descendants it has now, found before any is killed: a killed parent's
 * children would be the agent's by then. One that left the group and was
 * forked after the walk escapes, as it would `signal` with `all`. */
static void proc_kill_tree(proc *p)
{
	pid_t *pids = NULL;
	size_t n = 0;
	vs_err err = { 0 };
	if (info_descendants(p->pid, &pids, &n, &err) < 0)
		fprintf(stderr, "vessel-agent: kill process \"%s\": %s\n", p->id, err.msg);
	kill(p->pid, SIGKILL); /* not reaped yet: the pid is still p's */
	kill(-p->pid, SIGKILL);
	for (size_t i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	free(pids);
}

void proc_drop_conn(agent *a, conn *c)
{
	for (proc *p = a->procs; p; p = p->next) {
		for (waiter **wp = &p->waits; *wp;) {
			waiter *w = *wp;
			if (w->c == c) {
				*wp = w->next;
				free(w);
			} else {
				wp = &w->next;
			}
		}
		/* The host side that carried this exec (its relay) is gone, so
		 * nobody waits on it, signals it or reads it: end it rather than
		 * leave it running in the guest. */
		if (p->owner == c) {
			p->owner = NULL;
			if (p->state != P_EXITED)
				proc_kill_tree(p);
		}
	}
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 0;
}

void proc_reap(agent *a)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			return;
		proc *p = a->procs;
		while (p && p->pid != pid)
			p = p->next;
		if (!p)
			continue; /* an orphan (we may be PID 1 or a subreaper) */
		p->state = P_EXITED;
		p->status = status;
		closep(&p->go_w);
		while (p->waits) {
			waiter *w = p->waits;
			p->waits = w->next;
			wait_reply(a, p, w->c, w->id);
			free(w);
		}
		if (!strcmp(p->id, "init")) {
			a->init_exited = true;
			a->init_code = exit_code(status);
		}
	}
}

void procs_kill_all(agent *a)
{
	for (proc *p = a->procs; p; p = p->next)
		if (p->state != P_EXITED)
			kill(p->pid, SIGKILL);
	for (proc *p = a->procs; p; p = p->next)
		if (p->state != P_EXITED && waitpid(p->pid, &p->status, 0) == p->pid)
			p->state = P_EXITED;
}
