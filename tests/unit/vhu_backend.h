/* A scripted vhost-user backend for unit tests: a thread reading each
 * request from its socket and answering as its step says, recording what
 * each request carried (payload, fds). Shared by test_vhost_user.c and
 * test_vm_virtio_fs.c. */
#ifndef VESSEL_TEST_VHU_BACKEND_H
#define VESSEL_TEST_VHU_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vm/vhost_user/msg.h"

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static size_t mkreply(uint8_t *b, uint32_t req, uint32_t flags, uint32_t size, uint64_t v)
{
	for (int i = 0; i < 4; i++) {
		b[i] = (uint8_t)(req >> (8 * i));
		b[4 + i] = (uint8_t)(flags >> (8 * i));
		b[8 + i] = (uint8_t)(size >> (8 * i));
	}
	for (int i = 0; i < 8; i++)
		b[12 + i] = (uint8_t)(v >> (8 * i));
	return 12 + (size_t)size;
}

/* The scripted backend: for each request, an answer. */
typedef struct step {
	uint32_t req;	 /* expected request */
	int answer;	 /* 0 valid reply or ack, 1 none, 2 raw bytes, 3 hang up */
	uint64_t value;	 /* valid reply value / ack status */
	uint8_t raw[24]; /* answer 2 */
	size_t rawlen;
	int want_fds; /* fds the request must carry */
	bool push_fd; /* send an eventfd along with the reply */
} step;

typedef struct backend {
	int fd;
	const step *steps;
	int nsteps, done;
	char error[256];
	uint64_t last_u64[32];	 /* payload u64 of request i */
	uint8_t payload[32][64]; /* its first payload bytes */
	int fds[32][2];		 /* fds it carried (kept open; backend_close_fds) */
	bool hangup_at_end;	 /* hang up after the last step, not wait */
} backend;

static void backend_close_fds(backend *b)
{
	for (int i = 0; i < 32; i++)
		for (int j = 0; j < 2; j++)
			if (b->fds[i][j] > 0) {
				close(b->fds[i][j]);
				b->fds[i][j] = 0;
			}
}

static void *backend_main(void *arg)
{
	backend *b = arg;
	for (b->done = 0; b->done < b->nsteps; b->done++) {
		const step *s = &b->steps[b->done];
		uint8_t m[VS_VHU_MAX_MSG];
		char cbuf[CMSG_SPACE(sizeof(int) * 8)];
		struct iovec iov = { m, 12 };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		if (recvmsg(b->fd, &mh, MSG_CMSG_CLOEXEC) != 12) {
			snprintf(b->error, sizeof(b->error), "step %d: no request", b->done);
			return NULL;
		}
		int nfds = 0;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int i = 0; i < nfds; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (b->done < 32 && i < 2)
					b->fds[b->done][i] = fd;
				else
					close(fd);
			}
		}
		uint32_t req = rd32(m), flags = rd32(m + 4), size = rd32(m + 8);
		if (size && recv(b->fd, m + 12, size, MSG_WAITALL) != (ssize_t)size) {
			snprintf(b->error, sizeof(b->error), "step %d: short payload", b->done);
			return NULL;
		}
		if (size >= 8 && b->done < 32)
			b->last_u64[b->done] = rd64(m + 12);
		if (b->done < 32)
			memcpy(b->payload[b->done], m + 12, size < 64 ? size : 64);
		if (req != s->req || nfds != s->want_fds) {
			snprintf(b->error, sizeof(b->error),
				 "step %d: request %u with %d fds, want %u/%d", b->done, req, nfds,
				 s->req, s->want_fds);
			return NULL;
		}
		uint8_t out[32];
		size_t n = 0;
		if (s->answer == 3)
			break;
		if (s->answer == 0 && (vs_vhu_reply_size(req) || (flags & VS_VHU_FLAG_NEED_REPLY)))
			n = mkreply(out, req, VS_VHU_VERSION | VS_VHU_FLAG_REPLY, 8, s->value);
		if (s->answer == 2) {
			memcpy(out, s->raw, s->rawlen);
			n = s->rawlen;
		}
		char cb[CMSG_SPACE(sizeof(int))];
		struct iovec oi = { out, n };
		struct msghdr om = { .msg_iov = &oi, .msg_iovlen = 1 };
		int efd = -1;
		if (s->push_fd) {
			efd = eventfd(0, EFD_CLOEXEC);
			om.msg_control = cb;
			om.msg_controllen = sizeof(cb);
			struct cmsghdr *c = CMSG_FIRSTHDR(&om);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &efd, sizeof(int));
		}
		if (n && sendmsg(b->fd, &om, MSG_NOSIGNAL) != (ssize_t)n)
			snprintf(b->error, sizeof(b->error), "step %d: send", b->done);
		if (efd >= 0)
			close(efd);
	}
	/* Silent from here on, until the frontend hangs up. */
	char x;
	while (!b->hangup_at_end && b->done == b->nsteps && recv(b->fd, &x, 1, 0) > 0)
		;
	shutdown(b->fd, SHUT_RDWR);
	return NULL;
}

#endif
