/* The event loop: accept, read frames, flush replies; SIGCHLD and the
 * timer go up through a->hooks (loop.h). */
#include "guest/agent/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

int agent_watch(agent *a, handler *h, uint32_t events)
{
	if (events == h->events)
		return 0;
	struct epoll_event ev = { .events = events, .data.ptr = h };
	int op = !events ? EPOLL_CTL_DEL : h->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(a->ep, op, h->fd, &ev) < 0)
		return -1;
	h->events = events;
	return 0;
}

void agent_unwatch(agent *a, handler *h)
{
	if (h->fd >= 0 && h->events)
		epoll_ctl(a->ep, EPOLL_CTL_DEL, h->fd, NULL);
	h->events = 0;
}

static void conn_free(agent *a, conn *c)
{
	for (conn **pp = &a->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	a->n_conns--;
	a->hooks->conn_closed(a, c);
	agent_unwatch(a, &c->h);
	if (c->h.fd >= 0)
		close(c->h.fd);
	c->h.fd = -1;
	c->h.dead = true;
	vs_agent_decoder_reset(&c->dec);
	free(c->out);
	c->out = NULL;
	agent_bury(a, c);
}

void agent_bury(agent *a, void *p)
{
	void **g = realloc(a->grave, (a->n_grave + 1) * sizeof(*g));
	if (!g)
		abort(); /* cannot free it safely, cannot keep going either */
	a->grave = g;
	a->grave[a->n_grave++] = p;
}

static void graveyard(agent *a)
{
	for (size_t i = 0; i < a->n_grave; i++)
		free(a->grave[i]);
	a->n_grave = 0;
}

static void conn_update(agent *a, conn *c)
{
	uint32_t ev = c->closing ? 0 : EPOLLIN;
	if (c->out_len > c->out_off)
		ev |= EPOLLOUT;
	if (!ev || agent_watch(a, &c->h, ev) < 0)
		conn_free(a, c);
}

static void conn_flush(conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t r = send(c->h.fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r < 0) {
			/* The peer is gone: nothing more can reach it. */
			c->out_off = c->out_len = 0;
			c->closing = true;
			break;
		}
		c->out_off += (size_t)r;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
}

void conn_send(agent *a, conn *c, json_object *msg)
{
	char *buf = NULL;
	size_t len = 0;
	vs_err err = { 0 };
	if (vs_agent_frame_encode(msg, &buf, &len, &err) < 0) {
		fprintf(stderr, "vessel-agent: %s\n", err.msg);
		json_object_put(msg);
		return;
	}
	json_object_put(msg);
	if (c->out_len + len > AGENT_OUTBUF_MAX) {
		free(buf);
		c->closing = true;
		c->out_off = c->out_len = 0;
		return;
	}
	if (c->out_len + len > c->out_cap) {
		/* Doubling: one reply at a time must not cost a copy of them all. */
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + len)
			cap *= 2;
		char *n = realloc(c->out, cap);
		if (!n) {
			free(buf);
			c->closing = true;
			c->out_off = c->out_len = 0;
			return;
		}
		c->out = n;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	free(buf);
	conn_flush(c);
	/* Leave the epoll update to the caller's turn of the loop. */
	uint32_t ev = (c->closing ? 0 : EPOLLIN) | (c->out_len ? EPOLLOUT : 0);
	if (ev)
		agent_watch(a, &c->h, ev);
}

void conn_reply(agent *a, conn *c, uint64_t id, json_object *fields)
{
	json_object *m = fields ? fields : json_object_new_object();
	json_object_object_add(m, "type", json_object_new_string("reply"));
	json_object_object_add(m, "id", json_object_new_uint64(id));
	conn_send(a, c, m);
}

void conn_error(agent *a, conn *c, uint64_t id, int errnum, const char *msg)
{
	json_object *m = json_object_new_object();
	json_object_object_add(m, "type", json_object_new_string("error"));
	json_object_object_add(m, "id", json_object_new_uint64(id));
	json_object_object_add(m, "message", json_object_new_string(msg));
	json_object_object_add(m, "errno", json_object_new_int(errnum));
	conn_send(a, c, m);
}

static void on_conn(agent *a, handler *h, uint32_t events)
{
	conn *c = (conn *)h;
	if (events & EPOLLOUT)
		conn_flush(c);
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->closing && !c->h.dead) {
		for (int n = 0; n < 64 && !c->closing; n++) {
			json_object *msg = NULL;
			vs_err err = { 0 };
			int r = vs_agent_decoder_read(&c->dec, c->h.fd, &msg, &err);
			if (r == 0)
				break;
			if (r == 2) {
				c->closing = true;
				c->out_off = c->out_len = 0;
				break;
			}
			if (r < 0) {
				conn_error(a, c, 0, err.errnum ? err.errnum : EPROTO, err.msg);
				c->closing = true;
				break;
			}
			if (!c->control) {
				int f = a->hooks->first_frame(a, c, msg);
				json_object_put(msg);
				if (f == 1)
					return; /* a stdio pump owns the socket now */
				if (f < 0)
					c->closing = true;
				continue;
			}
			a->hooks->dispatch(a, c, msg);
			json_object_put(msg);
		}
	}
	if (!c->h.dead)
		conn_update(a, c);
}

/* The stdio connection leaves the conn list; its socket goes to a pump. */
int conn_take_socket(agent *a, conn *c)
{
	int fd = c->h.fd;
	agent_unwatch(a, &c->h);
	c->h.fd = -1;
	conn_free(a, c);
	return fd;
}

static void on_listener(agent *a, handler *h, uint32_t events)
{
	(void)events;
	for (;;) {
		int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				fprintf(stderr, "vessel-agent: accept: %s\n", strerror(errno));
			return;
		}
		conn *c = a->n_conns < AGENT_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
		if (!c) {
			close(fd);
			continue;
		}
		c->h.fd = fd;
		c->h.fn = on_conn;
		vs_agent_decoder_init(&c->dec);
		if (agent_watch(a, &c->h, EPOLLIN) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = a->conns;
		a->conns = c;
		a->n_conns++;
	}
}

static void on_signal(agent *a, handler *h, uint32_t events)
{
	(void)events;
	struct signalfd_siginfo si;
	while (read(h->fd, &si, sizeof(si)) == sizeof(si))
		;
	a->hooks->reap(a);
}

static void on_timer(agent *a, handler *h, uint32_t events)
{
	(void)events;
	uint64_t ticks;
	if (read(h->fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return;
	a->hooks->tick(a);
}

static bool control_open(const agent *a)
{
	for (const conn *c = a->conns; c; c = c->next)
		if (c->control)
			return true;
	return false;
}

/* When the agent's work is over (docs/agent-protocol.md). */
static bool done(const agent *a)
{
	if (a->shutdown)
		return true;
	return !control_open(a) && !a->hooks->busy(a);
}

/* Before exiting: what is queued for each client (shutdown's reply, the
 * last waits) gets up to a second to leave. */
static void flush_all(agent *a)
{
	for (conn *c = a->conns; c; c = c->next) {
		for (int tries = 0; c->out_off < c->out_len && tries < 10; tries++) {
			struct pollfd pfd = { .fd = c->h.fd, .events = POLLOUT };
			if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
				break;
			conn_flush(c);
		}
	}
}

int agent_run(agent *a, int listen_fd, bool pid1, const agent_hooks *hooks, vs_err *err)
{
	a->hooks = hooks;
	a->pid1 = pid1;
	a->ep = epoll_create1(EPOLL_CLOEXEC);
	if (a->ep < 0)
		return vs_fail_errno(err, "epoll_create1");
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	a->sigfd.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	a->sigfd.fn = on_signal;
	a->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	a->timer.fn = on_timer;
	if (a->sigfd.fd < 0 || a->timer.fd < 0)
		return vs_fail_errno(err, "signalfd/timerfd");
	int fl = fcntl(listen_fd, F_GETFL);
	if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return vs_fail_errno(err, "listen fd %d", listen_fd);
	a->listener.fd = listen_fd;
	a->listener.fn = on_listener;
	if (agent_watch(a, &a->listener, EPOLLIN) < 0 || agent_watch(a, &a->sigfd, EPOLLIN) < 0 ||
	    agent_watch(a, &a->timer, EPOLLIN) < 0)
		return vs_fail_errno(err, "epoll_ctl");
	/* A child that exited before the signalfd existed. */
	a->hooks->reap(a);
	while (!done(a)) {
		struct epoll_event evs[32];
		int n = epoll_wait(a->ep, evs, 32, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vs_fail_errno(err, "epoll_wait");
		for (int i = 0; i < n; i++) {
			handler *h = evs[i].data.ptr;
			if (!h->dead)
				h->fn(a, h, evs[i].events);
		}
		graveyard(a);
	}
	flush_all(a);
	return 0;
}
