/* stdio connections: after its first frame a connection carries raw bytes,
 * pumped between the socket and the program's pipe or pty master. */
#include "guest/agent/stdio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bytes one way between two fds; owns both. */
typedef struct pump {
	handler in, out;
	char buf[65536];
	size_t len, off;
	bool is_pty_master_in; /* EIO from a pty master is its EOF */
	bool shut_out;	       /* shutdown(SHUT_WR) `out` at EOF, not close */
	struct pump *next;
} pump;

static void pump_end(agent *a, pump *p)
{
	agent_unwatch(a, &p->in);
	agent_unwatch(a, &p->out);
	p->in.dead = p->out.dead = true;
	/* The peer sees EOF even while another pump holds a dup of the socket. */
	if (p->shut_out)
		shutdown(p->out.fd, SHUT_WR);
	close(p->in.fd);
	close(p->out.fd);
	for (pump **pp = &a->pumps; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	agent_bury(a, p);
}

/* Write what is buffered; 0 when drained or waiting for EPOLLOUT, -1 when
 * the reader is gone. */
static int pump_write(pump *p)
{
	while (p->off < p->len) {
		ssize_t r = write(p->out.fd, p->buf + p->off, p->len - p->off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (r < 0)
			return -1;
		p->off += (size_t)r;
	}
	p->off = p->len = 0;
	return 0;
}

static void pump_arm(agent *a, pump *p)
{
	bool pending = p->off < p->len;
	if (agent_watch(a, &p->in, pending ? 0 : EPOLLIN) < 0 ||
	    agent_watch(a, &p->out, pending ? EPOLLOUT : 0) < 0)
		pump_end(a, p);
}

static void on_in(agent *a, handler *h, uint32_t events)
{
	(void)events;
	pump *p = (pump *)((char *)h - offsetof(pump, in));
	ssize_t r;
	do
		r = read(p->in.fd, p->buf, sizeof(p->buf));
	while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (r <= 0) { /* EOF; a pty master's is EIO once the slave closes */
		pump_end(a, p);
		return;
	}
	p->len = (size_t)r;
	p->off = 0;
	if (pump_write(p) < 0) {
		pump_end(a, p);
		return;
	}
	pump_arm(a, p);
}

static void on_out(agent *a, handler *h, uint32_t events)
{
	pump *p = (pump *)((char *)h - offsetof(pump, out));
	if ((events & EPOLLERR) || pump_write(p) < 0) {
		pump_end(a, p);
		return;
	}
	pump_arm(a, p);
}

static int nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* A pump owning in_fd and out_fd (closed here on failure). */
static int pump_new(agent *a, int in_fd, int out_fd, bool shut_out, vs_err *err)
{
	pump *p = calloc(1, sizeof(*p));
	if (!p || nonblock(in_fd) < 0 || nonblock(out_fd) < 0) {
		free(p);
		close(in_fd);
		close(out_fd);
		return vs_fail(err, p ? errno : ENOMEM, "stdio: pump");
	}
	p->in = (handler){ .fd = in_fd, .fn = on_in };
	p->out = (handler){ .fd = out_fd, .fn = on_out };
	p->shut_out = shut_out;
	p->next = a->pumps;
	a->pumps = p;
	pump_arm(a, p);
	return 0;
}

int stdio_attach(agent *a, proc *p, enum stream s, int sock, vs_err *err)
{
	if (!p->want[s])
		return vs_fail(err, EINVAL, "stdio: stream: process \"%s\" was not created with it",
			       p->id);
	if (p->attached[s])
		return vs_fail(err, EBUSY, "stdio: stream: already attached to process \"%s\"",
			       p->id);
	if (p->fds[s] < 0)
		return vs_fail(err, EPIPE, "stdio: stream: process \"%s\" has none left", p->id);
	int fd = p->fds[s];
	p->fds[s] = -1;
	p->attached[s] = true;
	int r; /* from here on sock is consumed: failures are -2 */
	if (s == ST_STDIN) {
		r = pump_new(a, sock, fd, false, err);
	} else if (s == ST_PTY) {
		int m2 = fcntl(fd, F_DUPFD_CLOEXEC, 0), s2 = fcntl(sock, F_DUPFD_CLOEXEC, 0);
		if (m2 < 0 || s2 < 0) {
			if (m2 >= 0)
				close(m2);
			if (s2 >= 0)
				close(s2);
			close(fd);
			close(sock);
			vs_fail_errno(err, "stdio: dup");
			return -2;
		}
		r = pump_new(a, sock, fd, false, err);
		if (r == 0)
			r = pump_new(a, m2, s2, true, err);
		else {
			close(m2);
			close(s2);
		}
	} else {
		r = pump_new(a, fd, sock, true, err);
	}
	if (r < 0)
		return -2;
	proc_stream_attached(a, p);
	return 0;
}

bool pumps_busy(const agent *a)
{
	for (const pump *p = a->pumps; p; p = p->next)
		if (p->shut_out)
			return true;
	return false;
}

void pumps_free(agent *a)
{
	while (a->pumps)
		pump_end(a, a->pumps);
}
