/* The host-side relay (backend.h): a process that carries one guest
 * process's stdio, forwards the signals it gets as agent `signal` requests
 * (SIGWINCH as `resize`) and, for exec, exits with the program's exit code,
 * so the engine can wait on it and signal it by host pid (the runc shim
 * does). The workload's init has one too, forked at create: it outlives
 * `vessel create` and ends when the init's streams close. Everything that
 * can fail is done before the fork, so errors reach the caller; the relay
 * only copies bytes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/unixsock.h"
#include "microvm/agent_link.h"
#include "microvm/backend_exec.h"
#include "microvm/backend_process.h"
#include "microvm/relay_seccomp.h"
#include "microvm/vmm_seccomp.h"

enum { S_IN, S_OUT, S_ERR, S_PTY, S_COUNT };
static const char *const stream_names[S_COUNT] = { "stdin", "stdout", "stderr", "pty" };

/* Signals the relay passes on (the rest act on the relay itself). */
static const int forwarded[] = { SIGHUP,  SIGINT,  SIGQUIT, SIGUSR1, SIGUSR2,
				 SIGTERM, SIGALRM, SIGCONT, SIGWINCH };

typedef struct relay {
	char id[65];	     /* the guest process's id */
	vs_agent_client ctl; /* requests: exec, then wait */
	vs_agent_client sig; /* signal and resize, while wait is pending */
	int streams[S_COUNT];
	int tty;   /* the host pty's slave (terminal), or -1 */
	bool wait; /* exit with the program's code (exec), not at EOF */
	uint64_t wait_id;
} relay;

static void relay_close(relay *r)
{
	vs_agent_client_close(&r->ctl);
	vs_agent_client_close(&r->sig);
	for (int i = 0; i < S_COUNT; i++)
		if (r->streams[i] >= 0)
			close(r->streams[i]);
	if (r->tty >= 0)
		close(r->tty);
}

static int open_pty(int *master, int *slave, const vs_microvm_relay *spec, vs_err *err)
{
	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0)
		return vs_fail_errno(err, "exec: open a pty");
	char name[64];
	if (grantpt(*master) < 0 || unlockpt(*master) < 0 ||
	    ptsname_r(*master, name, sizeof(name)) != 0 ||
	    (*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		vs_fail_errno(err, "exec: open a pty");
		close(*master);
		return -1;
	}
	/* Raw: the guest's pty does the line discipline. */
	struct termios t;
	if (tcgetattr(*slave, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(*slave, TCSANOW, &t);
	}
	if (spec->rows) {
		struct winsize ws = { .ws_row = spec->rows, .ws_col = spec->cols };
		ioctl(*master, TIOCSWINSZ, &ws);
	}
	return 0;
}

/* Connections, the request, the streams, the pid: all before the fork. */
static int relay_open(vs_container *c, const vs_microvm_relay *spec, relay *r, vs_err *err)
{
	if (spec->id) {
		snprintf(r->id, sizeof(r->id), "%s", spec->id);
	} else {
		/* Unique for the agent's lifetime, whatever pids are reused. */
		uint64_t rnd = 0;
		if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return vs_fail_errno(err, "%s: getrandom", spec->type);
		snprintf(r->id, sizeof(r->id), "exec-%016llx", (unsigned long long)rnd);
	}
	const char *names[4] = { 0 };
	if (spec->terminal)
		names[0] = stream_names[S_PTY];
	else
		for (int i = 0; i < 3; i++)
			names[i] = stream_names[i];
	if (vs_microvm_agent_open(c, &r->ctl, err) < 0 ||
	    vs_microvm_agent_open(c, &r->sig, err) < 0)
		return -1;
	vs_agent_proc ap = {
		.id = r->id, .process = spec->process, .hostname = spec->hostname, .streams = names
	};
	uint64_t id;
	if (vs_agent_proc_send(&r->ctl, spec->type, &ap, &id, err) < 0)
		return -1;
	for (int i = 0; names[i]; i++) {
		int s = spec->terminal ? S_PTY : i;
		if (vs_microvm_agent_dial(c, &r->streams[s], err) < 0 ||
		    vs_agent_stdio_open(r->streams[s], r->id, names[i], err) < 0)
			goto undo;
	}
	pid_t gpid;
	if (vs_agent_proc_await(&r->ctl, spec->type, id, &gpid, err) < 0)
		goto undo;
	vs_debug("%s %s: guest pid %d", spec->type, r->id, (int)gpid);
	r->wait = spec->wait;
	if (!r->wait)
		return 0;
	json_object *f = json_object_new_object();
	json_object_object_add(f, "process_id", json_object_new_string(r->id));
	if (vs_agent_call_send(&r->ctl, "wait", f, &r->wait_id, err) < 0)
		goto undo;
	return 0;
undo:;
	/* Whatever the agent made of the request must not linger, parked. */
	vs_err e = { 0 };
	vs_agent_signal(&r->sig, r->id, SIGKILL, false, &e);
	return -1;
}

/* Copy what is there from one fd to another; 0 at EOF. */
static int pump(int from, int to)
{
	char buf[16384];
	ssize_t n;
	do
		n = read(from, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 || errno == EIO ? 0 : (errno == EAGAIN ? 1 : -1);
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) /* nobody reads: drop, keep draining */
			return 1;
		off += w;
	}
	return 1;
}

/* The host pty's size (set on its master by whoever holds it) to the guest's. */
static void send_size(relay *r)
{
	struct winsize ws;
	vs_err e = { 0 };
	if (r->tty >= 0 && ioctl(r->tty, TIOCGWINSZ, &ws) == 0 && ws.ws_row)
		vs_agent_resize(&r->sig, r->id, ws.ws_row, ws.ws_col, &e);
}

static void forward_signal(relay *r, int sfd)
{
	struct signalfd_siginfo si;
	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return;
	vs_err e = { 0 };
	int sig = (int)si.ssi_signo;
	if (sig == SIGWINCH)
		send_size(r);
	else
		vs_agent_signal(&r->sig, r->id, sig, false, &e);
}

/* A line on the relay's stderr. snprintf and one write: dprintf would
 * lseek the fd, which the relay's seccomp filter refuses. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)!write(STDERR_FILENO, line,
			     (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* The wait reply, once its first bytes are there: the exit code, or 255
 * (said on stderr) when the agent is gone or does not finish the frame in
 * the client's timeout; a hostile agent sending a header and nothing more
 * must not keep the relay forever. */
static int take_exit(relay *r)
{
	json_object *rep;
	vs_err e = { 0 };
	if (vs_agent_call_await(&r->ctl, "wait", r->wait_id, r->ctl.timeout_ms, &rep, &e) < 0) {
		say("vessel: exec %s: no exit status from the agent: %s\n", r->id, e.msg);
		return 255;
	}
	json_object *v;
	int code = json_object_object_get_ex(rep, "exit_code", &v) ? json_object_get_int(v) : 255;
	json_object_put(rep);
	return code >= 0 && code <= 255 ? code : 255;
}

/* Output that is still in flight after the exit, until EOF on every stream. */
static void drain(relay *r, int out_fd[S_COUNT])
{
	for (;;) {
		struct pollfd p[S_COUNT];
		int n = 0, idx[S_COUNT];
		for (int i = S_OUT; i < S_COUNT; i++)
			if (r->streams[i] >= 0) {
				p[n] = (struct pollfd){ .fd = r->streams[i], .events = POLLIN };
				idx[n++] = i;
			}
		if (!n || poll(p, (nfds_t)n, 1000) <= 0)
			return;
		for (int k = 0; k < n; k++)
			if (p[k].revents && pump(p[k].fd, out_fd[idx[k]]) <= 0) {
				close(r->streams[idx[k]]);
				r->streams[idx[k]] = -1;
			}
	}
}

__attribute__((noreturn)) static void relay_run(relay *r, int sfd)
{
	/* Where each stream's bytes go, and where stdin's come from. */
	int out_fd[S_COUNT] = { -1, STDOUT_FILENO, STDERR_FILENO, r->tty };
	int in_fd = r->tty >= 0 ? r->tty : STDIN_FILENO;
	int in_to = r->tty >= 0 ? r->streams[S_PTY] : r->streams[S_IN];
	bool in_open = in_to >= 0;
	send_size(r);
	for (;;) {
		/* Not waiting for an exit code: done when the output is. */
		if (!r->wait && r->streams[S_OUT] < 0 && r->streams[S_ERR] < 0 &&
		    r->streams[S_PTY] < 0)
			_exit(0);
		struct pollfd p[S_COUNT + 3];
		int n = 0, idx[S_COUNT];
		p[n++] = (struct pollfd){ .fd = r->wait ? r->ctl.fd : -1, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		int in_slot = -1;
		if (in_open) {
			in_slot = n;
			p[n++] = (struct pollfd){ .fd = in_fd, .events = POLLIN };
		}
		int first = n;
		for (int i = S_OUT; i < S_COUNT; i++)
			if (r->streams[i] >= 0) {
				idx[n - first] = i;
				p[n++] = (struct pollfd){ .fd = r->streams[i], .events = POLLIN };
			}
		if (poll(p, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(255);
		}
		if (p[1].revents & POLLIN)
			forward_signal(r, sfd);
		if (in_slot >= 0 && p[in_slot].revents) {
			if (pump(in_fd, in_to) <= 0) {
				in_open = false;
				if (r->tty < 0)
					shutdown(in_to, SHUT_WR);
			}
		}
		for (int k = first; k < n; k++) {
			int i = idx[k - first];
			if (p[k].revents && pump(p[k].fd, out_fd[i]) <= 0) {
				if (i == S_PTY)
					in_open = false;
				close(r->streams[i]);
				r->streams[i] = -1;
			}
		}
		if (p[0].revents) {
			int code = take_exit(r);
			drain(r, out_fd);
			_exit(code);
		}
	}
}

static int block_forwarded(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	return sigprocmask(SIG_BLOCK, &set, old);
}

/* In the relay: nothing of the caller's but stdio and our own fds (the
 * container lock above all). */
static void keep_only(const relay *r, int sfd)
{
	int keep[S_COUNT + 4], n = 0;
	keep[n++] = r->ctl.fd;
	keep[n++] = r->sig.fd;
	keep[n++] = sfd;
	if (r->tty >= 0)
		keep[n++] = r->tty;
	for (int i = 0; i < S_COUNT; i++)
		if (r->streams[i] >= 0)
			keep[n++] = r->streams[i];
	for (int fd = 3; fd < 1024; fd++) {
		bool mine = false;
		for (int k = 0; k < n; k++)
			mine |= keep[k] == fd;
		if (!mine)
			close(fd);
	}
	(void)syscall(SYS_close_range, 1024, ~0U, 0);
}

int vs_microvm_relay_spawn(vs_container *c, const vs_microvm_relay *spec, pid_t *pid, vs_err *err)
{
	relay r = { .ctl.fd = -1, .sig.fd = -1, .tty = -1 };
	for (int i = 0; i < S_COUNT; i++)
		r.streams[i] = -1;
	int master = -1;
	if (spec->terminal && open_pty(&master, &r.tty, spec, err) < 0)
		return -1;
	if (relay_open(c, spec, &r, err) < 0)
		goto fail;
	sigset_t old;
	block_forwarded(&old);
	pid_t p = fork();
	if (p < 0) {
		vs_fail_errno(err, "%s: fork the relay", spec->type);
		sigprocmask(SIG_SETMASK, &old, NULL);
		goto fail;
	}
	if (p == 0) {
		sigset_t set;
		sigemptyset(&set);
		for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
			sigaddset(&set, forwarded[i]);
		int sfd = signalfd(-1, &set, SFD_CLOEXEC);
		if (sfd < 0)
			_exit(255);
		signal(SIGPIPE, SIG_IGN); /* a reader gone is a stream ended */
		if (chdir("/") < 0)	  /* hold no mount of the caller's busy */
			_exit(255);
		if (master >= 0)
			close(master);
		/* Its own session: the pty slave as controlling terminal brings
		 * SIGWINCH when the master's holder resizes it. */
		if (setsid() < 0 || (r.tty >= 0 && ioctl(r.tty, TIOCSCTTY, 0) < 0))
			_exit(255);
		keep_only(&r, sfd);
		/* It only copies bytes on fds it holds: no capability, no way
		 * to gain one (no_new_privs), no syscall that names a path,
		 * dials or signals, for a relay a hostile agent might drive. */
		vs_err e = { 0 };
		if (vs_vmm_drop_capabilities(&e) < 0 || vs_relay_seccomp_apply(&e) < 0) {
			say("vessel: %s relay: %s\n", spec->type, e.msg);
			_exit(255);
		}
		relay_run(&r, sfd);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	relay_close(&r);
	if (master >= 0) {
		int rc = 0;
		if (spec->console_socket) {
			rc = vs_console_socket_send(spec->console_socket, master, err);
			close(master);
		} else if (spec->console_fd) {
			struct winsize ws;
			if (!spec->rows && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row)
				ioctl(master, TIOCSWINSZ, &ws);
			*spec->console_fd = master;
		} else {
			close(master);
		}
		if (rc < 0) {
			kill(p, SIGKILL);
			waitpid(p, NULL, 0);
			return -1;
		}
	}
	*pid = p;
	return 0;
fail:
	relay_close(&r);
	if (master >= 0)
		close(master);
	return -1;
}

/* Field by field (padding is not part of the value). */
static bool same_attrs(const vs_process_attrs *a, const vs_process_attrs *b)
{
	return a->has_personality == b->has_personality && a->personality == b->personality &&
	       a->has_scheduler == b->has_scheduler && a->sched_policy == b->sched_policy &&
	       a->sched_nice == b->sched_nice && a->sched_priority == b->sched_priority &&
	       a->sched_flags == b->sched_flags && a->sched_runtime == b->sched_runtime &&
	       a->sched_deadline == b->sched_deadline && a->sched_period == b->sched_period &&
	       a->has_io_priority == b->has_io_priority && a->ioprio == b->ioprio &&
	       a->has_mem_policy == b->has_mem_policy && a->mpol_mode == b->mpol_mode &&
	       a->mpol_has_nodes == b->mpol_has_nodes &&
	       !memcmp(a->mpol_nodes, b->mpol_nodes, sizeof(a->mpol_nodes));
}

int vs_microvm_exec(vs_container *c, const vs_config *cfg, const vs_exec_process *x, pid_t *pid,
		    vs_err *err)
{
	if (x->preserve_fds)
		return vs_fail(err, 0, "--preserve-fds: fds do not cross into a microvm guest");
	if (x->cgroups && x->cgroups[0])
		return vs_fail(
			err, 0,
			"--cgroup: a microvm guest's processes are not in the host's cgroups");
	/* The scheduler and I/O priority travel as the config has them (the
	 * agent reads them from the process object); other ones (--process)
	 * are not sent yet, so refused rather than dropped. */
	if (!same_attrs(&x->attrs, &cfg->process_attrs))
		return vs_fail(err, 0,
			       "--process: scheduler, ioPriority or personality other than the "
			       "config's are not supported for a microvm exec yet");
	json_object *proc = vs_microvm_process_json(&x->process), *cp = NULL, *v;
	json_object_object_get_ex(cfg->doc, "process", &cp);
	static const char *const attrs[] = { "scheduler", "ioPriority" };
	for (size_t i = 0; cp && i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (json_object_object_get_ex(cp, attrs[i], &v))
			json_object_object_add(proc, attrs[i], json_object_get(v));
	vs_microvm_relay spec = {
		.type = "exec",
		.process = proc,
		.terminal = x->process.terminal,
		.rows = x->process.has_console_size ? x->process.console_height : 0,
		.cols = x->process.has_console_size ? x->process.console_width : 0,
		.console_socket = x->console_socket,
		.console_fd = x->console_fd,
		.wait = true,
	};
	int rc = vs_microvm_relay_spawn(c, &spec, pid, err);
	json_object_put(proc);
	return rc;
}
