/* libFuzzer target for the vsock packet parser and connection state
 * machine: the input is a script of guest packets (mostly with the right
 * cids, so they get past the first checks), host socket events and rx
 * drains, against fake host sockets whose answers also come from the input.
 * Nothing may crash, leak or overrun, and the invariants below must hold.
 *   make build-fuzz/fuzz_vsock && build-fuzz/fuzz_vsock -max_total_time=60 tests/fuzz/corpus/vsock
 * tests/unit/test_vsock_conn.c includes this file and replays random
 * scripts through it under ASan in CI. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vsock/conn.h"
#include "vm/vsock/hybrid.h"

#define FZ_CID	   3
#define FZ_HANDLES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	const uint8_t *d;
	size_t n, at;
	int next_handle;
	unsigned open;
	uint64_t clock; /* ms; moved on by the input, so deadlines expire */
};

static uint64_t fz_now(void *ctx)
{
	return ((struct fz *)ctx)->clock;
}

static uint8_t fz_byte(struct fz *f)
{
	return f->at < f->n ? f->d[f->at++] : 0;
}

static int fz_connect(void *ctx, uint32_t port)
{
	struct fz *f = ctx;
	(void)port;
	if (fz_byte(f) & 1)
		return -ECONNREFUSED;
	f->open++;
	return f->next_handle++ % FZ_HANDLES;
}

static ssize_t fz_answer(struct fz *f, size_t len)
{
	uint8_t b = fz_byte(f);
	switch (b & 3) {
	case 0:
		return -EAGAIN;
	case 1:
		return b & 4 ? -EPIPE : 0;
	default:
		return (ssize_t)(len < (size_t)(b >> 2) + 1 ? len : (size_t)(b >> 2) + 1);
	}
}

static ssize_t fz_read(void *ctx, int handle, void *buf, size_t len)
{
	(void)handle;
	ssize_t r = fz_answer(ctx, len);
	if (r > 0)
		memset(buf, 'h', (size_t)r);
	return r;
}

static ssize_t fz_write(void *ctx, int handle, const void *buf, size_t len)
{
	(void)handle;
	(void)buf;
	return fz_answer(ctx, len);
}

static void fz_shutdown(void *ctx, int handle)
{
	(void)ctx;
	(void)handle;
}

static void fz_close(void *ctx, int handle)
{
	struct fz *f = ctx;
	(void)handle;
	if (f->open == 0)
		abort(); /* closed more handles than were opened */
	f->open--;
}

/* A guest packet: header from the input with the cids usually fixed up. */
static void fz_guest(vs_vsock *v, struct fz *f)
{
	uint8_t pkt[VS_VSOCK_HDR_SIZE + 300];
	size_t len = VS_VSOCK_HDR_SIZE + fz_byte(f);
	for (size_t i = 0; i < len; i++)
		pkt[i] = fz_byte(f);
	uint8_t fix = fz_byte(f);
	if (fix & 1) {
		vs_vsock_hdr h = {
			.src_cid = FZ_CID,
			.dst_cid = VS_VSOCK_HOST_CID,
			.src_port = pkt[0] % 4,
			.dst_port = pkt[1] % 4 + (pkt[1] & 0x80 ? VS_VSOCK_EPHEMERAL_BASE : 0),
			.len = pkt[2] & 0x80 ? (uint32_t)(len - VS_VSOCK_HDR_SIZE) : pkt[3],
			.type = VS_VSOCK_TYPE_STREAM,
			.op = pkt[4] % 9,
			.flags = pkt[5] % 5,
			.buf_alloc = (uint32_t)pkt[6] << (pkt[7] % 24),
			.fwd_cnt = pkt[8] | (uint32_t)pkt[9] << 8
		};
		vs_vsock_hdr_encode(&h, pkt);
	}
	vs_err err;
	vs_vsock_guest_packet(v, pkt, len, &err);
}

static void fz_drain(vs_vsock *v, struct fz *f)
{
	uint8_t buf[256];
	vs_vsock_hdr h;
	size_t cap = fz_byte(f);
	for (int i = 0; i < 32 && vs_vsock_next_rx(v, &h, buf, cap); i++) {
		if (h.len > cap || h.dst_cid != FZ_CID || h.src_cid != VS_VSOCK_HOST_CID)
			abort();
		if (h.op != VS_VSOCK_OP_RW && h.len)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { .d = data, .n = size };
	vs_err err;
	vs_vsock_config cfg = { .guest_cid = FZ_CID,
				.max_conns = 4,
				.buf_alloc = 64,
				.ops = { fz_connect, fz_read, fz_write, fz_shutdown, fz_close,
					 fz_now },
				.ctx = &f };
	vs_vsock *v = vs_vsock_new(&cfg, &err);
	if (!v)
		abort();
	while (f.at < f.n) {
		uint8_t cmd = fz_byte(&f);
		int handle = cmd >> 3;
		switch (cmd & 7) {
		case 0:
		case 1:
			fz_guest(v, &f);
			break;
		case 2:
			f.clock += (uint64_t)fz_byte(&f) * 64;
			if (vs_vsock_expire(v) > (int64_t)VS_VSOCK_MAX_TIMEOUT_MS)
				abort();
			fz_drain(v, &f);
			break;
		case 3:
			vs_vsock_host_readable(v, handle);
			break;
		case 4:
			vs_vsock_host_writable(v, handle);
			break;
		case 5:
			vs_vsock_host_hangup(v, handle);
			break;
		case 6: {
			uint32_t port;
			if (vs_vsock_host_connect(v, f.next_handle % FZ_HANDLES, fz_byte(&f) % 4,
						  &port, &err) == 0) {
				f.open++;
				f.next_handle++;
			}
			break;
		}
		case 7: {
			vs_vsock_line l;
			vs_vsock_line_init(&l);
			size_t used;
			uint32_t port;
			size_t len = f.n - f.at < 40 ? f.n - f.at : 40;
			if (vs_vsock_line_feed(&l, f.d + f.at, len, &used, &port, &err) >= 0 &&
			    used > len)
				abort();
			f.at += len;
			break;
		}
		}
		if (vs_vsock_conn_count(v) > cfg.max_conns)
			abort();
	}
	vs_vsock_free(v);
	if (f.open != 0)
		abort(); /* every handle handed over is closed exactly once */
	return 0;
}
