/* vhost-user frontend socket I/O; see frontend.h. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vm/vhost_user/frontend.h"

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void vs_vhu_init(vs_vhu *u, int fd, int timeout_ms)
{
	memset(u, 0, sizeof(*u));
	u->fd = fd;
	u->timeout_ms = timeout_ms;
}

int vs_vhu_connect(vs_vhu *u, const char *path, int timeout_ms, vs_err *err)
{
	vs_vhu_init(u, -1, timeout_ms);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return vs_fail(err, ENAMETOOLONG, "vhost-user socket %s", path);
	strcpy(sa.sun_path, path);
	/* Non-blocking: a listener that never accepts (backlog full) makes a
	 * unix connect wait forever; here it is retried until the timeout. The
	 * fd stays non-blocking, all I/O on it polls first. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return vs_fail_errno(err, "vhost-user: socket");
	long long deadline = now_ms() + timeout_ms;
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		if (e == EAGAIN && now_ms() < deadline) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			continue;
		}
		close(fd);
		if (e == EAGAIN)
			return vs_fail(err, ETIMEDOUT,
				       "vhost-user: connect to %s: not accepted in %d ms", path,
				       timeout_ms);
		return vs_fail(err, e, "vhost-user: connect to %s", path);
	}
	u->fd = fd;
	return 0;
}

void vs_vhu_close(vs_vhu *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
	u->broken = true;
}

/* Wait for `events` until the deadline; 0 ready, -1 (err set) otherwise. */
static int wait_fd(vs_vhu *u, short events, long long deadline, uint32_t req, vs_err *err)
{
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return vs_fail(err, ETIMEDOUT,
				       "vhost-user %s: no answer from the backend in %d ms",
				       vs_vhu_request_name(req), u->timeout_ms);
		struct pollfd p = { .fd = u->fd, .events = events };
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vs_fail_errno(err, "vhost-user %s: poll", vs_vhu_request_name(req));
		if (n == 0)
			continue;
		if (p.revents & events)
			return 0;
		/* POLLHUP/POLLERR without data: the peer is gone. */
		return vs_fail(err, EPIPE, "vhost-user %s: the backend closed the connection",
			       vs_vhu_request_name(req));
	}
}

static int send_msg(vs_vhu *u, const uint8_t *buf, size_t len, const int *fds, unsigned nfds,
		    long long deadline, vs_err *err)
{
	uint32_t req = (uint32_t)buf[0] | (uint32_t)buf[1] << 8;
	char cbuf[CMSG_SPACE(sizeof(int) * VS_VHU_MAX_REGIONS)];
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	/* Messages are small (< 300 bytes): one sendmsg takes all of it or
	 * nothing, since fds may only travel with the first byte. */
	for (;;) {
		if (wait_fd(u, POLLOUT, deadline, req, err) < 0)
			return -1;
		ssize_t n = sendmsg(u->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return vs_fail_errno(err, "vhost-user %s: send", vs_vhu_request_name(req));
		if ((size_t)n != len)
			return vs_fail(err, EIO, "vhost-user %s: short send (%zd of %zu bytes)",
				       vs_vhu_request_name(req), n, len);
		return 0;
	}
}

/* Read exactly len bytes; any fd the backend sends along is closed (no
 * reply we ask for carries one). */
static int recv_exact(vs_vhu *u, uint8_t *buf, size_t len, long long deadline, uint32_t req,
		      vs_err *err)
{
	size_t got = 0;
	while (got < len) {
		if (wait_fd(u, POLLIN, deadline, req, err) < 0)
			return -1;
		char cbuf[CMSG_SPACE(sizeof(int) * 8)];
		struct iovec iov = { .iov_base = buf + got, .iov_len = len - got };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		ssize_t n = recvmsg(u->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return vs_fail_errno(err, "vhost-user %s: receive",
					     vs_vhu_request_name(req));
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < nfd; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				close(fd);
			}
		}
		if (n == 0)
			return vs_fail(err, EPIPE,
				       "vhost-user %s: the backend closed the connection",
				       vs_vhu_request_name(req));
		got += (size_t)n;
	}
	return 0;
}

/* Send one request; read and check its reply when it has one (want > 0) or
 * when REPLY_ACK asks for one. */
static int transact(vs_vhu *u, const uint8_t *buf, size_t len, const int *fds, unsigned nfds,
		    vs_vhu_reply *rep, vs_err *err)
{
	uint32_t req = (uint32_t)buf[0] | (uint32_t)buf[1] << 8;
	if (u->broken || u->fd < 0)
		return vs_fail(err, EPIPE, "vhost-user %s: the connection to the backend is broken",
			       vs_vhu_request_name(req));
	long long deadline = now_ms() + u->timeout_ms;
	uint32_t want = vs_vhu_reply_size(req);
	bool ack = !want && (buf[4] & VS_VHU_FLAG_NEED_REPLY);
	vs_vhu_reply dummy;
	if (!rep)
		rep = &dummy;
	uint8_t in[VS_VHU_HDR_SIZE + 8];
	if (send_msg(u, buf, len, fds, nfds, deadline, err) < 0)
		goto broken;
	if (!want && !ack)
		return 0;
	if (recv_exact(u, in, VS_VHU_HDR_SIZE, deadline, req, err) < 0)
		goto broken;
	/* The header is checked before reading the payload, so a lying size
	 * never makes us read (or wait for) more than a reply can hold. */
	if (vs_vhu_check_header(in, req, 8, err) < 0)
		goto broken;
	if (recv_exact(u, in + VS_VHU_HDR_SIZE, 8, deadline, req, err) < 0)
		goto broken;
	if (vs_vhu_decode_reply(in, sizeof(in), req, 8, rep, err) < 0)
		goto broken;
	if (ack && rep->u64 != 0) {
		vs_fail(err, 0, "vhost-user %s: the backend refused it (status %llu)",
			vs_vhu_request_name(req), (unsigned long long)rep->u64);
		goto broken;
	}
	return 0;
broken:
	u->broken = true;
	return -1;
}

static uint32_t ack_flag(const vs_vhu *u)
{
	return (u->protocol & VS_VHU_PROTOCOL_F_REPLY_ACK) ? VS_VHU_FLAG_NEED_REPLY : 0;
}

int vs_vhu_handshake(vs_vhu *u, vs_err *err)
{
	uint8_t buf[VS_VHU_MAX_MSG];
	vs_vhu_reply r;
	if (transact(u, buf, vs_vhu_enc_plain(buf, VS_VHU_GET_FEATURES, 0), NULL, 0, &r, err) < 0)
		return -1;
	u->features = r.u64;
	if (u->features & VS_VHU_F_PROTOCOL_FEATURES) {
		if (transact(u, buf, vs_vhu_enc_plain(buf, VS_VHU_GET_PROTOCOL_FEATURES, 0), NULL,
			     0, &r, err) < 0)
			return -1;
		uint64_t mine = r.u64 & VS_VHU_PROTOCOL_F_REPLY_ACK;
		if (transact(u, buf, vs_vhu_enc_u64(buf, VS_VHU_SET_PROTOCOL_FEATURES, 0, mine),
			     NULL, 0, NULL, err) < 0)
			return -1;
		u->protocol = mine;
	}
	return transact(u, buf, vs_vhu_enc_plain(buf, VS_VHU_SET_OWNER, ack_flag(u)), NULL, 0, NULL,
			err);
}

int vs_vhu_set_features(vs_vhu *u, uint64_t features, vs_err *err)
{
	uint8_t buf[VS_VHU_MAX_MSG];
	features |= u->features & VS_VHU_F_PROTOCOL_FEATURES;
	return transact(u, buf, vs_vhu_enc_u64(buf, VS_VHU_SET_FEATURES, ack_flag(u), features),
			NULL, 0, NULL, err);
}

int vs_vhu_set_mem_table(vs_vhu *u, const vs_guest_mem *mem, vs_err *err)
{
	uint8_t buf[VS_VHU_MAX_MSG];
	vs_vhu_region r[VS_MEM_MAX_REGIONS];
	int fds[VS_MEM_MAX_REGIONS];
	if (mem->fd < 0 || mem->n < 1)
		return vs_fail(err, EINVAL, "vhost-user SET_MEM_TABLE: guest RAM has no memfd");
	for (int i = 0; i < mem->n; i++) {
		r[i] = (vs_vhu_region){ .gpa = mem->r[i].gpa,
					.size = mem->r[i].size,
					.uaddr = (uint64_t)(uintptr_t)mem->r[i].hva,
					.mmap_offset = mem->r[i].fd_offset };
		fds[i] = mem->fd;
	}
	size_t len = vs_vhu_enc_mem_table(buf, ack_flag(u), r, (unsigned)mem->n);
	return transact(u, buf, len, fds, (unsigned)mem->n, NULL, err);
}

int vs_vhu_start_vring(vs_vhu *u, unsigned index, const vs_vhu_vring *r, vs_err *err)
{
	uint8_t buf[VS_VHU_MAX_MSG];
	uint32_t f = ack_flag(u);
	if (transact(u, buf, vs_vhu_enc_state(buf, VS_VHU_SET_VRING_NUM, f, index, r->num), NULL, 0,
		     NULL, err) < 0 ||
	    transact(u, buf, vs_vhu_enc_state(buf, VS_VHU_SET_VRING_BASE, f, index, 0), NULL, 0,
		     NULL, err) < 0 ||
	    transact(u, buf, vs_vhu_enc_addr(buf, f, index, r->desc, r->used, r->avail), NULL, 0,
		     NULL, err) < 0 ||
	    transact(u, buf, vs_vhu_enc_u64(buf, VS_VHU_SET_VRING_CALL, f, index), &r->call, 1,
		     NULL, err) < 0 ||
	    transact(u, buf, vs_vhu_enc_u64(buf, VS_VHU_SET_VRING_KICK, f, index), &r->kick, 1,
		     NULL, err) < 0)
		return -1;
	if (!(u->features & VS_VHU_F_PROTOCOL_FEATURES))
		return 0; /* rings start enabled */
	return transact(u, buf, vs_vhu_enc_state(buf, VS_VHU_SET_VRING_ENABLE, f, index, 1), NULL,
			0, NULL, err);
}

int vs_vhu_stop_vring(vs_vhu *u, unsigned index, uint32_t *base, vs_err *err)
{
	uint8_t buf[VS_VHU_MAX_MSG];
	vs_vhu_reply r;
	/* GET_VRING_BASE has a reply of its own: no NEED_REPLY. */
	if (transact(u, buf, vs_vhu_enc_state(buf, VS_VHU_GET_VRING_BASE, 0, index, 0), NULL, 0, &r,
		     err) < 0)
		return -1;
	if (r.index != index) {
		u->broken = true;
		return vs_fail(err, 0, "vhost-user GET_VRING_BASE: reply for ring %u, asked for %u",
			       r.index, index);
	}
	if (base)
		*base = r.num;
	return 0;
}
