#include "vm/vsock/conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vm/vsock/hybrid.h"

enum conn_state { FREE, CONNECTING, ESTABLISHED, CLOSING };

/* What a connection still owes the guest, sent in this order. */
enum {
	P_RST = 1,	/* then the slot is freed */
	P_REQUEST = 2,	/* host-initiated connect */
	P_RESPONSE = 4, /* the guest's connect accepted */
	P_SHUTDOWN = 8, /* the host side ended: SEND at EOF, RCV|SEND at hang-up */
	P_DATA = 16,	/* the host socket may have data */
	P_CREDIT = 32,	/* tell the guest our fwd_cnt */
};

struct conn {
	enum conn_state state;
	int handle; /* -1 once closed */
	uint32_t guest_port, host_port;
	unsigned pending;
	uint64_t deadline;		  /* waiting on the guest until then (0: not waiting) */
	bool guest_no_rcv, guest_no_send; /* the guest's SHUTDOWN flags */
	bool host_eof, host_hup, host_wr_shut;
	/* Us -> guest: what we sent and the guest's advertised buffer. */
	uint32_t tx_cnt, peer_buf_alloc, peer_fwd_cnt;
	/* Guest -> us: received, handed to the host, and last advertised. */
	uint32_t rx_cnt, fwd_cnt, fwd_cnt_sent;
	/* Bytes for the host socket that it has not taken yet; the first
	 * buf_line of them are our "OK <port>\n", not guest data. */
	uint8_t *buf;
	size_t buf_off, buf_len, buf_line;
};

struct rst_key {
	uint32_t guest_port, host_port;
};

struct vs_vsock {
	vs_vsock_config cfg;
	struct conn *conns;
	unsigned live, cursor;
	struct rst_key rsts[VS_VSOCK_RST_QUEUE];
	unsigned rst_head, rst_count;
	uint32_t next_port;
};

vs_vsock *vs_vsock_new(const vs_vsock_config *cfg, vs_err *err)
{
	if (cfg->max_conns > VS_VSOCK_MAX_CONNS_LIMIT)
		return vs_fail(err, EINVAL, "vsock: max_conns %u over the limit %d", cfg->max_conns,
			       VS_VSOCK_MAX_CONNS_LIMIT),
		       NULL;
	if (cfg->guest_cid <= VS_VSOCK_HOST_CID || cfg->guest_cid >= UINT32_MAX)
		return vs_fail(err, EINVAL, "vsock: guest cid %llu is reserved (must be 3..2^32-2)",
			       (unsigned long long)cfg->guest_cid),
		       NULL;
	if (cfg->connect_timeout_ms > VS_VSOCK_MAX_TIMEOUT_MS ||
	    cfg->close_timeout_ms > VS_VSOCK_MAX_TIMEOUT_MS)
		return vs_fail(err, EINVAL, "vsock: a timeout over %d ms", VS_VSOCK_MAX_TIMEOUT_MS),
		       NULL;
	if (!cfg->ops.host_connect || !cfg->ops.host_read || !cfg->ops.host_write ||
	    !cfg->ops.host_shutdown_write || !cfg->ops.host_close)
		return vs_fail(err, EINVAL, "vsock: every socket callback is required"), NULL;
	vs_vsock *v = calloc(1, sizeof(*v));
	if (!v)
		return vs_fail_errno(err, "vsock: allocate"), NULL;
	v->cfg = *cfg;
	if (!v->cfg.max_conns)
		v->cfg.max_conns = VS_VSOCK_DEFAULT_MAX_CONNS;
	if (!v->cfg.buf_alloc)
		v->cfg.buf_alloc = VS_VSOCK_DEFAULT_BUF_ALLOC;
	if (!v->cfg.connect_timeout_ms)
		v->cfg.connect_timeout_ms = VS_VSOCK_DEFAULT_CONNECT_TIMEOUT_MS;
	if (!v->cfg.close_timeout_ms)
		v->cfg.close_timeout_ms = VS_VSOCK_DEFAULT_CLOSE_TIMEOUT_MS;
	v->conns = calloc(v->cfg.max_conns, sizeof(*v->conns));
	if (!v->conns) {
		free(v);
		return vs_fail_errno(err, "vsock: allocate the connection table"), NULL;
	}
	v->next_port = VS_VSOCK_EPHEMERAL_BASE;
	return v;
}

uint64_t vs_vsock_now_ms(const vs_vsock *v)
{
	if (v->cfg.ops.now_ms)
		return v->cfg.ops.now_ms(v->cfg.ctx);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* From now on we wait on the guest for at most ms (the first deadline set
 * stands: a guest cannot extend it by half-answering). */
static void wait_on_guest(vs_vsock *v, struct conn *c, uint32_t ms)
{
	if (!c->deadline)
		c->deadline = vs_vsock_now_ms(v) + ms;
}

static void conn_free(vs_vsock *v, struct conn *c)
{
	if (c->handle >= 0)
		v->cfg.ops.host_close(v->cfg.ctx, c->handle);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->state = FREE;
	v->live--;
}

void vs_vsock_free(vs_vsock *v)
{
	if (!v)
		return;
	for (unsigned i = 0; i < v->cfg.max_conns; i++)
		if (v->conns[i].state != FREE)
			conn_free(v, &v->conns[i]);
	free(v->conns);
	free(v);
}

unsigned vs_vsock_conn_count(const vs_vsock *v)
{
	return v->live;
}

/* A linear scan: max_conns is bounded (VS_VSOCK_MAX_CONNS_LIMIT). */
static struct conn *find(vs_vsock *v, uint32_t guest_port, uint32_t host_port)
{
	for (unsigned i = 0; i < v->cfg.max_conns; i++) {
		struct conn *c = &v->conns[i];
		if (c->state != FREE && c->guest_port == guest_port && c->host_port == host_port)
			return c;
	}
	return NULL;
}

static struct conn *find_handle(const vs_vsock *v, int handle)
{
	if (handle < 0)
		return NULL;
	for (unsigned i = 0; i < v->cfg.max_conns; i++) {
		struct conn *c = &v->conns[i];
		if (c->state != FREE && c->handle == handle && !(c->pending & P_RST))
			return c;
	}
	return NULL;
}

static struct conn *conn_alloc(vs_vsock *v, int handle, uint32_t guest_port, uint32_t host_port)
{
	for (unsigned i = 0; i < v->cfg.max_conns; i++) {
		struct conn *c = &v->conns[i];
		if (c->state == FREE) {
			c->handle = handle;
			c->guest_port = guest_port;
			c->host_port = host_port;
			v->live++;
			return c;
		}
	}
	return NULL;
}

/* An RST for a packet that matches no connection. When the queue is full
 * the RST is dropped: the guest's connect then times out, and a flood of
 * requests costs nothing but this fixed queue. */
static void queue_rst(vs_vsock *v, uint32_t guest_port, uint32_t host_port)
{
	if (v->rst_count == VS_VSOCK_RST_QUEUE)
		return;
	v->rsts[(v->rst_head + v->rst_count++) % VS_VSOCK_RST_QUEUE] =
		(struct rst_key){ guest_port, host_port };
}

/* End a connection now: the host socket is closed, the guest gets RST, and
 * the slot is freed once the RST is out. */
static void reset_conn(vs_vsock *v, struct conn *c)
{
	if (c->handle >= 0)
		v->cfg.ops.host_close(v->cfg.ctx, c->handle);
	c->handle = -1;
	free(c->buf);
	c->buf = NULL;
	c->buf_len = c->buf_off = c->buf_line = 0;
	c->state = CLOSING;
	c->pending = P_RST;
	wait_on_guest(v, c, v->cfg.close_timeout_ms); /* for an rx buffer to carry the RST */
}

static uint32_t peer_credit(const struct conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
	/* A guest claiming to have consumed more than we sent gets no credit
	 * out of the wrap-around. */
	return in_flight > c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* Hand `n` written bytes to the accounting: our line first, then guest data. */
static void account_written(vs_vsock *v, struct conn *c, size_t n)
{
	size_t line = n < c->buf_line ? n : c->buf_line;
	c->buf_line -= line;
	c->fwd_cnt += (uint32_t)(n - line);
	if (c->fwd_cnt - c->fwd_cnt_sent >= v->cfg.buf_alloc / 2)
		c->pending |= P_CREDIT;
}

/* Shutdowns the guest asked for take effect once its data is all out. */
static void after_flush(vs_vsock *v, struct conn *c)
{
	if (c->buf_len || c->state == CONNECTING)
		return;
	if (c->guest_no_send && c->guest_no_rcv) {
		reset_conn(v, c); /* the guest waits for our RST to finish close() */
		return;
	}
	if (c->guest_no_send && !c->host_wr_shut) {
		v->cfg.ops.host_shutdown_write(v->cfg.ctx, c->handle);
		c->host_wr_shut = true;
	}
}

/* Write buffered bytes to the host socket; -1 if the connection died. */
static int flush(vs_vsock *v, struct conn *c)
{
	while (c->buf_len) {
		ssize_t r = v->cfg.ops.host_write(v->cfg.ctx, c->handle, c->buf + c->buf_off,
						  c->buf_len);
		if (r == -EAGAIN || r == 0)
			break;
		if (r < 0 || (size_t)r > c->buf_len) {
			reset_conn(v, c);
			return -1;
		}
		c->buf_off += (size_t)r;
		c->buf_len -= (size_t)r;
		account_written(v, c, (size_t)r);
	}
	if (!c->buf_len)
		c->buf_off = 0;
	after_flush(v, c);
	return 0;
}

static int buffer(vs_vsock *v, struct conn *c, const uint8_t *data, size_t len)
{
	size_t size = (size_t)v->cfg.buf_alloc + VS_VSOCK_LINE_MAX;
	if (!c->buf && !(c->buf = malloc(size)))
		return -1;
	if (c->buf_len + len > size)
		return -1; /* cannot happen within the credit; checked by the caller */
	if (c->buf_off + c->buf_len + len > size) {
		memmove(c->buf, c->buf + c->buf_off, c->buf_len);
		c->buf_off = 0;
	}
	memcpy(c->buf + c->buf_off + c->buf_len, data, len);
	c->buf_len += len;
	return 0;
}

/* Bytes for the host: straight to the socket when nothing waits before
 * them, the rest buffered. */
static int to_host(vs_vsock *v, struct conn *c, const uint8_t *data, size_t len)
{
	if (!c->buf_len) {
		while (len) {
			ssize_t r = v->cfg.ops.host_write(v->cfg.ctx, c->handle, data, len);
			if (r == -EAGAIN || r == 0)
				break;
			if (r < 0 || (size_t)r > len) {
				reset_conn(v, c);
				return 0; /* the host went away: not the guest's fault */
			}
			data += r;
			len -= (size_t)r;
			account_written(v, c, (size_t)r);
		}
	}
	if (len && buffer(v, c, data, len) < 0) {
		reset_conn(v, c);
		return -1;
	}
	after_flush(v, c);
	return 0;
}

static int guest_request(vs_vsock *v, const vs_vsock_hdr *h)
{
	if (v->live >= v->cfg.max_conns) {
		queue_rst(v, h->src_port, h->dst_port);
		return 0;
	}
	int handle = v->cfg.ops.host_connect(v->cfg.ctx, h->dst_port);
	if (handle < 0) {
		queue_rst(v, h->src_port, h->dst_port);
		return 0;
	}
	struct conn *c = conn_alloc(v, handle, h->src_port, h->dst_port);
	if (!c) { /* not reached: live < max_conns means a free slot */
		v->cfg.ops.host_close(v->cfg.ctx, handle);
		queue_rst(v, h->src_port, h->dst_port);
		return 0;
	}
	c->state = ESTABLISHED;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->pending = P_RESPONSE;
	return 0;
}

static int guest_rw(vs_vsock *v, struct conn *c, const vs_vsock_hdr *h, const uint8_t *payload,
		    vs_err *err)
{
	if (c->state == CONNECTING || c->guest_no_send) {
		reset_conn(v, c);
		return vs_fail(err, EPROTO, "vsock: guest port %u: RW %s", h->src_port,
			       c->guest_no_send ? "after SHUTDOWN SEND" : "before the connection");
	}
	/* The guest may have in flight what our last advertised fwd_cnt allows. */
	if ((uint64_t)(uint32_t)(c->rx_cnt - c->fwd_cnt_sent) + h->len > v->cfg.buf_alloc) {
		reset_conn(v, c);
		return vs_fail(err, EPROTO,
			       "vsock: guest port %u: %u bytes beyond the credit we gave (%u)",
			       h->src_port, h->len, v->cfg.buf_alloc);
	}
	c->rx_cnt += h->len;
	if (to_host(v, c, payload, h->len) < 0)
		return vs_fail(err, ENOMEM, "vsock: guest port %u: buffer", h->src_port);
	return 0;
}

static int guest_response(vs_vsock *v, struct conn *c, vs_err *err)
{
	if (c->state != CONNECTING) {
		reset_conn(v, c);
		return vs_fail(err, EPROTO, "vsock: guest port %u: RESPONSE to no REQUEST",
			       c->guest_port);
	}
	c->state = ESTABLISHED;
	c->deadline = 0;
	char line[VS_VSOCK_LINE_MAX];
	size_t n = vs_vsock_format_ok(line, c->host_port);
	if (buffer(v, c, (const uint8_t *)line, n) < 0) {
		reset_conn(v, c);
		return vs_fail(err, ENOMEM, "vsock: guest port %u: buffer", c->guest_port);
	}
	c->buf_line = n;
	flush(v, c);
	return 0;
}

int vs_vsock_guest_packet(vs_vsock *v, const uint8_t *pkt, size_t size, vs_err *err)
{
	vs_vsock_hdr h;
	if (vs_vsock_hdr_parse(pkt, size, &h, err) < 0)
		return -1;
	if (h.src_cid != v->cfg.guest_cid)
		return vs_fail(err, EPROTO,
			       "vsock packet: source cid %llu is not the guest's (%llu)",
			       (unsigned long long)h.src_cid, (unsigned long long)v->cfg.guest_cid);
	if (h.dst_cid != VS_VSOCK_HOST_CID)
		return vs_fail(err, EPROTO,
			       "vsock packet: destination cid %llu is not the host (2)",
			       (unsigned long long)h.dst_cid);

	struct conn *c = find(v, h.src_port, h.dst_port);
	if (!c) {
		if (h.op == VS_VSOCK_OP_REQUEST)
			return guest_request(v, &h);
		if (h.op != VS_VSOCK_OP_RST) /* never answer an RST with one */
			queue_rst(v, h.src_port, h.dst_port);
		return 0;
	}
	if (c->pending & P_RST)
		return 0; /* already being reset */
	c->peer_buf_alloc = h.buf_alloc;
	c->peer_fwd_cnt = h.fwd_cnt;

	switch (h.op) {
	case VS_VSOCK_OP_REQUEST:
		reset_conn(v, c);
		return vs_fail(err, EPROTO, "vsock: guest port %u: REQUEST for a live connection",
			       h.src_port);
	case VS_VSOCK_OP_RESPONSE:
		return guest_response(v, c, err);
	case VS_VSOCK_OP_RST:
		conn_free(v, c);
		return 0;
	case VS_VSOCK_OP_SHUTDOWN:
		if (c->state == CONNECTING) {
			reset_conn(v, c);
			return 0;
		}
		if (h.flags & VS_VSOCK_SHUTDOWN_RCV) {
			c->guest_no_rcv = true;
			c->pending &= ~(unsigned)P_DATA;
		}
		if (h.flags & VS_VSOCK_SHUTDOWN_SEND)
			c->guest_no_send = true;
		after_flush(v, c);
		return 0;
	case VS_VSOCK_OP_RW:
		return guest_rw(v, c, &h, pkt + VS_VSOCK_HDR_SIZE, err);
	case VS_VSOCK_OP_CREDIT_UPDATE:
		return 0; /* the credit fields were taken above */
	case VS_VSOCK_OP_CREDIT_REQUEST:
		c->pending |= P_CREDIT;
		return 0;
	}
	return 0; /* not reached: the parser refuses other ops */
}

static void fill(const vs_vsock *v, vs_vsock_hdr *h, unsigned op, uint32_t guest_port,
		 uint32_t host_port, uint32_t fwd_cnt)
{
	*h = (vs_vsock_hdr){
		.src_cid = VS_VSOCK_HOST_CID,
		.dst_cid = v->cfg.guest_cid,
		.src_port = host_port,
		.dst_port = guest_port,
		.type = VS_VSOCK_TYPE_STREAM,
		.op = (uint16_t)op,
		.buf_alloc = v->cfg.buf_alloc,
		.fwd_cnt = fwd_cnt,
	};
}

/* Host data for the guest within its credit: 1 with a packet, 0 none. */
static int emit_data(vs_vsock *v, struct conn *c, vs_vsock_hdr *h, uint8_t *payload, size_t cap)
{
	if (c->state != ESTABLISHED || c->guest_no_rcv || c->host_eof) {
		c->pending &= ~(unsigned)P_DATA;
		return 0;
	}
	uint32_t credit = peer_credit(c);
	size_t n = cap < credit ? cap : credit;
	if (n > VS_VSOCK_MAX_PAYLOAD)
		n = VS_VSOCK_MAX_PAYLOAD;
	if (!n)
		return 0; /* stays pending until the guest gives credit */
	ssize_t r = v->cfg.ops.host_read(v->cfg.ctx, c->handle, payload, n);
	if (r == -EAGAIN) {
		c->pending &= ~(unsigned)P_DATA;
		return 0;
	}
	if (r == 0) {
		/* The host program shut down its sending side; it may still
		 * read. A half-close: the guest's data keeps flowing, and no
		 * timeout runs (the hang-up, when it comes, starts one). */
		c->host_eof = true;
		c->state = CLOSING;
		c->pending = (c->pending & ~(unsigned)P_DATA) | P_SHUTDOWN;
		return 0;
	}
	if (r < 0 || (size_t)r > n) {
		reset_conn(v, c);
		return 0;
	}
	fill(v, h, VS_VSOCK_OP_RW, c->guest_port, c->host_port, c->fwd_cnt);
	h->len = (uint32_t)r;
	c->tx_cnt += (uint32_t)r;
	return 1;
}

static int emit(vs_vsock *v, struct conn *c, vs_vsock_hdr *h, uint8_t *payload, size_t cap)
{
	if ((c->pending & P_DATA) && !(c->pending & (P_RST | P_REQUEST | P_RESPONSE)) &&
	    emit_data(v, c, h, payload, cap))
		goto sent;
	unsigned op;
	if (c->pending & P_RST) {
		fill(v, h, VS_VSOCK_OP_RST, c->guest_port, c->host_port, c->fwd_cnt);
		conn_free(v, c);
		return 1;
	} else if (c->pending & P_REQUEST) {
		op = VS_VSOCK_OP_REQUEST;
		c->pending &= ~(unsigned)P_REQUEST;
	} else if (c->pending & P_RESPONSE) {
		op = VS_VSOCK_OP_RESPONSE;
		c->pending &= ~(unsigned)P_RESPONSE;
	} else if (c->pending & P_SHUTDOWN) {
		op = VS_VSOCK_OP_SHUTDOWN;
		c->pending &= ~(unsigned)P_SHUTDOWN;
	} else if (c->pending & P_CREDIT) {
		op = VS_VSOCK_OP_CREDIT_UPDATE;
	} else {
		return 0;
	}
	fill(v, h, op, c->guest_port, c->host_port, c->fwd_cnt);
	if (op == VS_VSOCK_OP_SHUTDOWN)
		h->flags = c->host_hup ? VS_VSOCK_SHUTDOWN_RCV | VS_VSOCK_SHUTDOWN_SEND
				       : VS_VSOCK_SHUTDOWN_SEND;
sent:
	/* Every packet carries fwd_cnt, so any packet is a credit update. */
	c->fwd_cnt_sent = c->fwd_cnt;
	c->pending &= ~(unsigned)P_CREDIT;
	return 1;
}

int vs_vsock_next_rx(vs_vsock *v, vs_vsock_hdr *h, uint8_t *payload, size_t cap)
{
	if (v->rst_count) {
		struct rst_key k = v->rsts[v->rst_head];
		v->rst_head = (v->rst_head + 1) % VS_VSOCK_RST_QUEUE;
		v->rst_count--;
		fill(v, h, VS_VSOCK_OP_RST, k.guest_port, k.host_port, 0);
		return 1;
	}
	/* Round robin, so one busy connection does not starve the others. */
	unsigned n = v->cfg.max_conns;
	for (unsigned i = 0; i < n; i++) {
		unsigned at = (v->cursor + i) % n;
		struct conn *c = &v->conns[at];
		if (c->state == FREE || !c->pending)
			continue;
		/* A reset during emit_data leaves an RST to send: try again. */
		for (int tries = 0; tries < 2; tries++) {
			if (emit(v, c, h, payload, cap)) {
				v->cursor = (at + 1) % n;
				return 1;
			}
			if (c->state == FREE || !(c->pending & P_RST))
				break;
		}
	}
	return 0;
}

int vs_vsock_host_connect(vs_vsock *v, int handle, uint32_t guest_port, uint32_t *host_port,
			  vs_err *err)
{
	if (v->live >= v->cfg.max_conns)
		return vs_fail(err, EAGAIN, "vsock: %u connections already, the limit",
			       v->cfg.max_conns);
	uint32_t port;
	do {
		port = v->next_port++;
		if (v->next_port < VS_VSOCK_EPHEMERAL_BASE)
			v->next_port = VS_VSOCK_EPHEMERAL_BASE;
	} while (find(v, guest_port, port));
	struct conn *c = conn_alloc(v, handle, guest_port, port);
	if (!c)
		return vs_fail(err, EAGAIN, "vsock: no free connection slot");
	c->state = CONNECTING;
	c->pending = P_REQUEST;
	wait_on_guest(v, c, v->cfg.connect_timeout_ms);
	*host_port = port;
	return 0;
}

void vs_vsock_host_readable(vs_vsock *v, int handle)
{
	struct conn *c = find_handle(v, handle);
	if (c && c->state == ESTABLISHED)
		c->pending |= P_DATA;
}

void vs_vsock_host_writable(vs_vsock *v, int handle)
{
	struct conn *c = find_handle(v, handle);
	if (c)
		flush(v, c);
}

void vs_vsock_host_hangup(vs_vsock *v, int handle)
{
	struct conn *c = find_handle(v, handle);
	if (!c)
		return;
	if (c->state == CONNECTING) {
		reset_conn(v, c); /* the guest may have seen the REQUEST */
		return;
	}
	if (c->host_hup)
		return;
	/* Both ways shut on the host: the guest is told (again, with both
	 * flags after an earlier EOF) and has the close timeout to finish. */
	c->host_hup = c->host_eof = true;
	c->state = CLOSING;
	c->pending = (c->pending & ~(unsigned)P_DATA) | P_SHUTDOWN;
	wait_on_guest(v, c, v->cfg.close_timeout_ms);
}

bool vs_vsock_wants_read(const vs_vsock *v, int handle)
{
	const struct conn *c = find_handle(v, handle);
	return c && c->state == ESTABLISHED && !c->guest_no_rcv && !c->host_eof &&
	       !(c->pending & P_DATA) && peer_credit(c) > 0;
}

bool vs_vsock_wants_write(const vs_vsock *v, int handle)
{
	const struct conn *c = find_handle(v, handle);
	return c && c->buf_len > 0;
}

int64_t vs_vsock_expire(vs_vsock *v)
{
	uint64_t now = vs_vsock_now_ms(v);
	int64_t next = -1;
	for (unsigned i = 0; i < v->cfg.max_conns; i++) {
		struct conn *c = &v->conns[i];
		if (c->state == FREE || !c->deadline)
			continue;
		if (c->deadline > now) {
			int64_t left = (int64_t)(c->deadline - now);
			if (next < 0 || left < next)
				next = left;
			continue;
		}
		/* An RST still waiting for an rx buffer goes into the shared
		 * queue instead; a live exchange ends with one. */
		queue_rst(v, c->guest_port, c->host_port);
		conn_free(v, c);
	}
	return next;
}

bool vs_vsock_wants_hangup(const vs_vsock *v, int handle)
{
	const struct conn *c = find_handle(v, handle);
	return c && !c->host_hup;
}
