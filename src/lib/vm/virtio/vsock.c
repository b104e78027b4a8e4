/* virtio-vsock (virtio 1.x device 19): moves packets between the guest's
 * rx/tx queues and the connection state machine (vm/vsock/conn.h), and the
 * host side as Firecracker's hybrid vsock on a unix socket PATH. Every host
 * socket is non-blocking and watched by one epoll set of our own, which the
 * VM's I/O thread watches through add_io: level-triggered, with interest
 * recomputed after each pass from vs_vsock_wants_read/_write so a stalled
 * peer cannot make the loop spin. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "vm/virtio/virtio.h"
#include "vm/vsock/conn.h"
#include "vm/vsock/hybrid.h"

#define VIRTIO_ID_VSOCK	      19
#define Q_RX		      0
#define Q_TX		      1
#define Q_EVENT		      2
#define EVENT_TRANSPORT_RESET 0
#define VSOCK_DEFAULT_CID     3
#define MAX_HANDSHAKES	      16 /* host programs that have not sent CONNECT yet */
#define KIND_LISTEN	      1ULL
#define KIND_HANDSHAKE	      2ULL
#define KIND_CONN	      3ULL
#define KIND_TIMER	      4ULL
#define KIND_INJECT	      5ULL
#define EV_DATA(kind, fd)     (((kind) << 32) | (uint32_t)(fd))

struct handshake {
	int fd; /* -1: free */
	uint64_t deadline;
	vs_vsock_line line;
};

struct watched {
	int fd;		 /* -1: free */
	uint32_t events; /* what we asked epoll for */
	bool in_set;	 /* in the epoll set (events 0: for EPOLLHUP only) */
};

typedef struct vsock_dev {
	vs_virtio_dev *d;
	vs_vsock *v;
	uint64_t cid;
	char *path;
	/* What PATH_<port> is connected as: PATH, or "/<basename of PATH>"
	 * when the monitor is jailed in PATH's directory (vsock_jailed). */
	char *connect_base;
	uint32_t connect_timeout_ms, close_timeout_ms;
	int listen_fd, epfd, timer_fd;
	bool adopted;  /* listen_fd came from vsock_listen_fd: not ours to unlink */
	int inject_fd; /* vs_vm_config.vsock_inject_fd's duplicate, or -1 */
	bool was_live, event_pending;
	struct handshake hs[MAX_HANDSHAKES];
	struct watched conns[VS_VSOCK_DEFAULT_MAX_CONNS];
	uint8_t pkt[VS_VSOCK_HDR_SIZE + VS_VSOCK_MAX_PAYLOAD];
	uint8_t payload[VS_VSOCK_MAX_PAYLOAD];
} vsock_dev;

static struct watched *watched_find(vsock_dev *s, int fd)
{
	for (unsigned i = 0; i < VS_VSOCK_DEFAULT_MAX_CONNS; i++)
		if (s->conns[i].fd == fd)
			return &s->conns[i];
	return NULL;
}

/* A connection's socket joins the table; false (fd closed) when full,
 * which cannot happen while the state machine keeps its own cap. */
static bool watch_conn(vsock_dev *s, int fd)
{
	struct watched *w = watched_find(s, -1);
	if (!w) {
		close(fd);
		return false;
	}
	w->fd = fd;
	w->events = 0;
	w->in_set = false;
	return true;
}

static int cb_host_connect(void *ctx, uint32_t host_port)
{
	vsock_dev *s = ctx;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (!s->path) /* a passed listener without a path: no host ports */
		return -ECONNREFUSED;
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", s->connect_base, host_port);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A unix connect completes at once or fails (EAGAIN: backlog full,
	 * which the guest sees as a refused connection). */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (!watch_conn(s, fd))
		return -EMFILE;
	return fd;
}

static ssize_t cb_host_read(void *ctx, int handle, void *buf, size_t len)
{
	(void)ctx;
	ssize_t r = recv(handle, buf, len, MSG_DONTWAIT);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return r;
}

static ssize_t cb_host_write(void *ctx, int handle, const void *buf, size_t len)
{
	(void)ctx;
	ssize_t r = send(handle, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return r;
}

static void cb_host_shutdown_write(void *ctx, int handle)
{
	(void)ctx;
	shutdown(handle, SHUT_WR);
}

static void cb_host_close(void *ctx, int handle)
{
	vsock_dev *s = ctx;
	struct watched *w = watched_find(s, handle);
	if (w) {
		if (w->in_set)
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, handle, NULL);
		w->fd = -1;
		w->events = 0;
		w->in_set = false;
	}
	close(handle);
}

static int vsock_table_new(vsock_dev *s, vs_err *err)
{
	vs_vsock_config cfg = {
		.guest_cid = s->cid,
		.max_conns = VS_VSOCK_DEFAULT_MAX_CONNS,
		.connect_timeout_ms = s->connect_timeout_ms,
		.close_timeout_ms = s->close_timeout_ms,
		.ops = {
			.host_connect = cb_host_connect,
			.host_read = cb_host_read,
			.host_write = cb_host_write,
			.host_shutdown_write = cb_host_shutdown_write,
			.host_close = cb_host_close,
		},
		.ctx = s,
	};
	s->v = vs_vsock_new(&cfg, err);
	return s->v ? 0 : -1;
}

/* Epoll interest follows what the state machine wants. A socket wanting
 * no I/O stays in the set with no events while its hang-up is still news
 * (epoll always reports EPOLLHUP/EPOLLERR), and leaves it after, so a hung
 * up peer cannot wake us again and again. */
static void refresh_interest(vsock_dev *s)
{
	for (unsigned i = 0; i < VS_VSOCK_DEFAULT_MAX_CONNS; i++) {
		struct watched *w = &s->conns[i];
		if (w->fd < 0)
			continue;
		uint32_t want = (vs_vsock_wants_read(s->v, w->fd) ? EPOLLIN : 0) |
				(vs_vsock_wants_write(s->v, w->fd) ? EPOLLOUT : 0);
		bool keep = want || vs_vsock_wants_hangup(s->v, w->fd);
		if (keep == w->in_set && (!keep || want == w->events))
			continue;
		struct epoll_event ev = { .events = want, .data.u64 = EV_DATA(KIND_CONN, w->fd) };
		int op = !w->in_set ? EPOLL_CTL_ADD : keep ? EPOLL_CTL_MOD : EPOLL_CTL_DEL;
		if (epoll_ctl(s->epfd, op, w->fd, &ev) == 0) {
			w->in_set = keep;
			w->events = want;
		}
	}
}

/* Hand the guest whatever the state machine has for it, one rx buffer per
 * packet. A buffer taken with nothing to put in it goes back to the ring. */
static void pump_rx(vsock_dev *s)
{
	vs_virtio_dev *d = s->d;
	vs_vq *q = &d->vq[Q_RX];
	if (!vs_virtio_live(d) || !q->ready)
		return;
	bool any = false;
	vs_vq_chain c;
	int rc;
	while ((rc = vs_vq_pop(d->mem, q, &c)) == 1) {
		if (c.nout || c.in_len < VS_VSOCK_HDR_SIZE) {
			vs_virtio_fail(d,
				       "rx queue: buffer of %llu writable bytes (%u readable "
				       "segments); a packet needs %d",
				       (unsigned long long)c.in_len, c.nout, VS_VSOCK_HDR_SIZE);
			break;
		}
		uint64_t room = c.in_len - VS_VSOCK_HDR_SIZE;
		vs_vsock_hdr h;
		if (!vs_vsock_next_rx(s->v, &h, s->payload,
				      room < VS_VSOCK_MAX_PAYLOAD ? room : VS_VSOCK_MAX_PAYLOAD)) {
			q->last_avail--; /* not used: the guest still owns it */
			break;
		}
		uint8_t hdr[VS_VSOCK_HDR_SIZE];
		vs_vsock_hdr_encode(&h, hdr);
		vs_vq_write(&c, 0, hdr, sizeof(hdr));
		vs_vq_write(&c, VS_VSOCK_HDR_SIZE, s->payload, h.len);
		vs_vq_push(d->mem, q, c.head, VS_VSOCK_HDR_SIZE + h.len);
		any = true;
	}
	if (rc < 0)
		vs_virtio_fail(d, "rx queue: %s", c.error);
	if (any)
		vs_virtio_notify_used(d, Q_RX);
}

static void process_tx(vsock_dev *s)
{
	vs_virtio_dev *d = s->d;
	vs_vq *q = &d->vq[Q_TX];
	bool any = false;
	vs_vq_chain c;
	int rc;
	while ((rc = vs_vq_pop(d->mem, q, &c)) == 1) {
		vs_err err = { 0 };
		vs_vsock_hdr h;
		/* Header and payload may sit in one descriptor or many: gather. */
		size_t size = c.out_len < sizeof(s->pkt) ? (size_t)c.out_len : sizeof(s->pkt);
		if (c.nin || c.out_len > sizeof(s->pkt) ||
		    vs_vq_read(&c, 0, s->pkt, size) != size ||
		    vs_vsock_hdr_parse(s->pkt, size, &h, &err) < 0) {
			vs_virtio_fail(d, "tx queue: %s",
				       err.msg[0] ? err.msg
						  : "packet larger than a header + 64 KiB "
						    "or with writable segments");
			vs_vq_push(d->mem, q, c.head, 0);
			any = true;
			break;
		}
		/* A bad packet for one connection resets that connection only. */
		if (vs_vsock_guest_packet(s->v, s->pkt, VS_VSOCK_HDR_SIZE + h.len, &err) < 0)
			vs_debug("virtio-vsock: %s", err.msg);
		vs_vq_push(d->mem, q, c.head, 0);
		any = true;
	}
	if (rc < 0)
		vs_virtio_fail(d, "tx queue: %s", c.error);
	if (any)
		vs_virtio_notify_used(d, Q_TX);
}

static void deliver_event(vsock_dev *s)
{
	vs_virtio_dev *d = s->d;
	vs_vq *q = &d->vq[Q_EVENT];
	if (!s->event_pending || !vs_virtio_live(d) || !q->ready)
		return;
	vs_vq_chain c;
	int rc = vs_vq_pop(d->mem, q, &c);
	if (rc < 0) {
		vs_virtio_fail(d, "event queue: %s", c.error);
		return;
	}
	if (rc == 0)
		return;
	uint8_t ev[4] = { EVENT_TRANSPORT_RESET, 0, 0, 0 };
	if (c.nout || c.in_len < sizeof(ev)) {
		vs_virtio_fail(d, "event queue: buffer smaller than an event");
		return;
	}
	vs_vq_write(&c, 0, ev, sizeof(ev));
	vs_vq_push(d->mem, q, c.head, sizeof(ev));
	s->event_pending = false;
	vs_virtio_notify_used(d, Q_EVENT);
}

static void handshake_close(struct handshake *h)
{
	close(h->fd);
	h->fd = -1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Deadlines: connections waiting on the guest (vs_vsock_expire) and host
 * programs that have not finished their CONNECT line within the connect
 * timeout. One timerfd in our epoll set fires at the nearest. */
static void expire_and_arm(vsock_dev *s)
{
	int64_t next = s->v ? vs_vsock_expire(s->v) : -1;
	uint64_t now = now_ms();
	for (unsigned i = 0; i < MAX_HANDSHAKES; i++) {
		struct handshake *h = &s->hs[i];
		if (h->fd < 0)
			continue;
		if (h->deadline <= now) {
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, h->fd, NULL);
			handshake_close(h);
			continue;
		}
		int64_t left = (int64_t)(h->deadline - now);
		if (next < 0 || left < next)
			next = left;
	}
	struct itimerspec its = { 0 };
	if (next >= 0) {
		its.it_value.tv_sec = next / 1000;
		its.it_value.tv_nsec = (next % 1000) * 1000000 + 1; /* 0 would disarm */
	}
	timerfd_settime(s->timer_fd, 0, &its, NULL);
}

static void vsock_notify(vs_virtio_dev *d, unsigned q)
{
	vsock_dev *s = d->priv;
	if (!s->v)
		return; /* the device failed (FAILED is set): never reached */
	s->was_live = true;
	if (q == Q_TX)
		process_tx(s);
	if (q == Q_EVENT)
		deliver_event(s);
	expire_and_arm(s);
	pump_rx(s);
	refresh_interest(s);
}

static void add_handshake(vsock_dev *s, int fd)
{
	for (unsigned i = 0; i < MAX_HANDSHAKES; i++) {
		struct handshake *h = &s->hs[i];
		if (h->fd >= 0)
			continue;
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.u64 = EV_DATA(KIND_HANDSHAKE, i) };
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			break;
		h->fd = fd;
		h->deadline = now_ms() + s->connect_timeout_ms;
		vs_vsock_line_init(&h->line);
		return;
	}
	close(fd); /* too many host programs mid-handshake */
}

static void do_accept(vsock_dev *s)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0)
		add_handshake(s, fd);
}

/* A connection the VMM's own code made (vs_vm_config.vsock_inject_fd). */
static void do_inject(vsock_dev *s)
{
	char b;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	if (recvmsg(s->inject_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <= 0)
		return;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)))
		return;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		close(fd);
		return;
	}
	add_handshake(s, fd);
}

/* Read the CONNECT line a byte at a time so that nothing after the newline
 * is taken from the stream: those bytes are the guest's. */
static void do_handshake(vsock_dev *s, struct handshake *h)
{
	for (;;) {
		uint8_t b;
		ssize_t r = recv(h->fd, &b, 1, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		vs_err err = { 0 };
		size_t used;
		uint32_t port;
		int rc = r == 1 ? vs_vsock_line_feed(&h->line, &b, 1, &used, &port, &err) : -1;
		if (rc == 0)
			continue;
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, h->fd, NULL);
		if (rc < 0) {
			if (err.msg[0])
				vs_debug("virtio-vsock: %s: %s",
					 s->path ? s->path : "passed listener", err.msg);
			handshake_close(h);
			return;
		}
		int fd = h->fd;
		h->fd = -1;
		uint32_t host_port;
		/* No table: a reset could not rebuild it and the device failed. */
		if (!s->v || vs_vsock_host_connect(s->v, fd, port, &host_port, &err) < 0) {
			vs_debug("virtio-vsock: %s", err.msg);
			close(fd);
			return;
		}
		watch_conn(s, fd);
		return;
	}
}

/* I/O thread: something in our epoll set is ready. */
static int vsock_io(void *arg, int epfd)
{
	vsock_dev *s = arg;
	struct epoll_event evs[32];
	int n = epoll_wait(epfd, evs, 32, 0);
	pthread_mutex_lock(&s->d->lock);
	for (int i = 0; i < n; i++) {
		uint64_t kind = evs[i].data.u64 >> 32;
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t e = evs[i].events;
		if (kind == KIND_TIMER) {
			uint64_t ticks;
			(void)!read(s->timer_fd, &ticks, sizeof(ticks));
		} else if (kind == KIND_LISTEN) {
			do_accept(s);
		} else if (kind == KIND_INJECT) {
			do_inject(s);
		} else if (kind == KIND_HANDSHAKE) {
			if (fd >= 0 && fd < MAX_HANDSHAKES && s->hs[fd].fd >= 0)
				do_handshake(s, &s->hs[fd]);
		} else if (s->v && watched_find(s, fd)) {
			if (e & EPOLLIN)
				vs_vsock_host_readable(s->v, fd);
			if (e & EPOLLOUT)
				vs_vsock_host_writable(s->v, fd);
			if ((e & EPOLLERR) || ((e & EPOLLHUP) && !(e & EPOLLIN)))
				vs_vsock_host_hangup(s->v, fd);
		}
	}
	expire_and_arm(s);
	if (s->v) {
		pump_rx(s);
		refresh_interest(s);
	}
	pthread_mutex_unlock(&s->d->lock);
	return 0;
}

static void vsock_config_read(vs_virtio_dev *d, uint64_t off, void *data, unsigned len)
{
	vsock_dev *s = d->priv;
	uint8_t cfg[8];
	for (int i = 0; i < 8; i++)
		cfg[i] = (uint8_t)(s->cid >> (8 * i));
	memset(data, 0, len);
	if (off < sizeof(cfg))
		memcpy(data, cfg + off, len < sizeof(cfg) - off ? len : sizeof(cfg) - off);
}

/* Device reset drops every connection (their host sockets close) and, once
 * the driver is back, tells it so with TRANSPORT_RESET. */
static void vsock_reset(vs_virtio_dev *d)
{
	vsock_dev *s = d->priv;
	vs_vsock_free(s->v);
	s->v = NULL;
	vs_err err = { 0 };
	if (vsock_table_new(s, &err) < 0) {
		vs_warn("virtio-vsock: %s", err.msg);
		d->status |= VIRTIO_STATUS_FAILED;
		return;
	}
	if (s->was_live)
		s->event_pending = true;
}

static void vsock_destroy(vs_virtio_dev *d)
{
	vsock_dev *s = d->priv;
	if (!s)
		return;
	vs_vsock_free(s->v);
	for (unsigned i = 0; i < MAX_HANDSHAKES; i++)
		if (s->hs[i].fd >= 0)
			handshake_close(&s->hs[i]);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		if (!s->adopted)
			unlink(s->path);
	}
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->inject_fd >= 0)
		close(s->inject_fd);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	free(s->path);
	free(s->connect_base);
	free(s);
	d->priv = NULL;
}

static const vs_virtio_ops vsock_ops = {
	.name = "vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.nqueues = 3,
	.notify = vsock_notify,
	.config_read = vsock_config_read,
	.reset = vsock_reset,
	.destroy = vsock_destroy,
};

static int watch_listener(vsock_dev *s, vs_err *err)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_DATA(KIND_LISTEN, 0) };
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &ev) < 0)
		return vs_fail_errno(err, "--vsock: epoll");
	return 0;
}

/* A listener bound by someone else (vs_vm_config.vsock_listen_fd): ours is
 * a duplicate, non-blocking, and its path is never unlinked here. */
static int vsock_adopt(vsock_dev *s, int fd, vs_err *err)
{
	int type = 0, acc = 0;
	socklen_t tl = sizeof(type), al = sizeof(acc);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) < 0 || type != SOCK_STREAM || !acc)
		return vs_fail(err, EINVAL, "vsock: fd %d is not a listening stream socket", fd);
	s->listen_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return vs_fail_errno(err, "vsock: dup fd %d", fd);
	int fl = fcntl(s->listen_fd, F_GETFL);
	if (fl < 0 || fcntl(s->listen_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return vs_fail_errno(err, "vsock: fd %d: O_NONBLOCK", fd);
	s->adopted = true;
	return watch_listener(s, err);
}

/* PATH left by a vessel that was killed (SIGKILL gives it no chance to
 * unlink): a socket nobody listens on (connect says ECONNREFUSED) is
 * removed so that the bind can be retried. Anything else (a regular file,
 * a live listener, a socket we cannot probe) stays. True if removed. */
static bool stale_socket(const struct sockaddr_un *sa)
{
	struct stat st;
	if (lstat(sa->sun_path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool stale =
		connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 && errno == ECONNREFUSED;
	close(fd);
	if (!stale || unlink(sa->sun_path) < 0)
		return false;
	vs_warn("virtio-vsock: %s: replaced a stale socket nobody listened on", sa->sun_path);
	return true;
}

static int vsock_listen(vsock_dev *s, vs_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	/* Room for "_<u32>" so every PATH_P the guest can name fits too. */
	if (strlen(s->path) + 11 >= sizeof(sa.sun_path))
		return vs_fail(err, ENAMETOOLONG,
			       "--vsock: path \"%s\" is too long for a unix socket", s->path);
	strcpy(sa.sun_path, s->path);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return vs_fail_errno(err, "--vsock: socket");
	int rc = bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rc < 0 && errno == EADDRINUSE && stale_socket(&sa))
		rc = bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rc < 0) {
		int e = errno;
		close(s->listen_fd);
		s->listen_fd = -1; /* not ours: never unlinked */
		return vs_fail(err, e, "--vsock: bind %s%s", s->path,
			       e == EADDRINUSE ? " (a file that is not a stale socket, or a "
						 "socket someone listens on)"
					       : "");
	}
	if (listen(s->listen_fd, 64) < 0)
		return vs_fail_errno(err, "--vsock: listen on %s", s->path);
	return watch_listener(s, err);
}

static bool vsock_wanted(const vs_vm_config *cfg)
{
	return cfg->vsock_path != NULL || cfg->vsock_listen_fd >= 0;
}

static int vsock_create(vs_dev_ctx *ctx, const vs_vm_config *cfg, void **state, vs_err *err)
{
	vsock_dev *s = calloc(1, sizeof(*s));
	if (!s)
		return vs_fail_errno(err, "allocating virtio-vsock");
	s->listen_fd = s->epfd = s->timer_fd = s->inject_fd = -1;
	for (unsigned i = 0; i < MAX_HANDSHAKES; i++)
		s->hs[i].fd = -1;
	for (unsigned i = 0; i < VS_VSOCK_DEFAULT_MAX_CONNS; i++)
		s->conns[i].fd = -1;
	s->cid = cfg->vsock_cid ? cfg->vsock_cid : VSOCK_DEFAULT_CID;
	s->connect_timeout_ms = cfg->vsock_connect_timeout_ms ? cfg->vsock_connect_timeout_ms
							      : VS_VSOCK_DEFAULT_CONNECT_TIMEOUT_MS;
	s->close_timeout_ms = cfg->vsock_close_timeout_ms;
	vs_virtio_dev *d = vs_virtio_new(ctx, &vsock_ops, 0, s);
	if (!d) {
		free(s);
		return vs_fail(err, 0, "allocating virtio-vsock");
	}
	s->d = d;
	*state = d;
	if (cfg->vsock_path && !(s->path = strdup(cfg->vsock_path)))
		return vs_fail_errno(err, "allocating virtio-vsock");
	const char *slash = s->path ? strrchr(s->path, '/') : NULL;
	if (!s->path) {
		/* no host ports (cb_host_connect refuses), nothing to connect as */
	} else if (cfg->vsock_jailed) {
		if (asprintf(&s->connect_base, "/%s", slash ? slash + 1 : s->path) < 0) {
			s->connect_base = NULL;
			return vs_fail_errno(err, "allocating virtio-vsock");
		}
	} else if (!(s->connect_base = strdup(s->path))) {
		return vs_fail_errno(err, "allocating virtio-vsock");
	}
	if (vsock_table_new(s, err) < 0)
		return -1;
	if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return vs_fail_errno(err, "virtio-vsock: epoll_create1");
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct epoll_event tev = { .events = EPOLLIN, .data.u64 = EV_DATA(KIND_TIMER, 0) };
	if (s->timer_fd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->timer_fd, &tev) < 0)
		return vs_fail_errno(err, "virtio-vsock: timerfd");
	if (cfg->vsock_inject_fd >= 0) {
		s->inject_fd = fcntl(cfg->vsock_inject_fd, F_DUPFD_CLOEXEC, 0);
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_DATA(KIND_INJECT, 0) };
		if (s->inject_fd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->inject_fd, &ev) < 0)
			return vs_fail_errno(err, "vsock: inject fd %d", cfg->vsock_inject_fd);
	}
	if ((cfg->vsock_listen_fd >= 0 ? vsock_adopt(s, cfg->vsock_listen_fd, err)
				       : vsock_listen(s, err)) < 0)
		return -1;
	if (ctx->add_io(ctx->host, s->epfd, vsock_io, s, err) < 0)
		return -1;
	return vs_virtio_attach(d, err);
}

const vs_device vs_virtio_vsock_device = {
	.name = "virtio-vsock",
	.wanted = vsock_wanted,
	.create = vsock_create,
	.destroy = vs_virtio_destroy_state,
};
