/* libFuzzer target for the vhost-user frontend's reply handling: the input
 * becomes the byte stream a backend sends back, and the frontend runs its
 * whole conversation against it (handshake, features, memory table, one
 * ring started and stopped) over a socketpair. Each reply is built from
 * the input: valid for the request it answers, or with its request id,
 * flags or size changed, cut short, or replaced by raw bytes. The first
 * input byte may instead hand the raw input to the stream and to the
 * decoder directly. Nothing may crash, leak or block (the peer is shut
 * down after the stream, so a short reply is EOF, not a timeout), and a
 * conversation that succeeds must have seen only valid replies.
 *   make build-fuzz/fuzz_vhost_user && build-fuzz/fuzz_vhost_user -max_total_time=60 \
 *       tests/fuzz/corpus/vhost_user
 * tests/unit/test_vhost_user.c includes this file and replays random
 * inputs through it under ASan. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vm/vhost_user/frontend.h"
#include "vm/vhost_user/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_in {
	const uint8_t *d;
	size_t n, at;
};

static uint8_t fz_b(struct fz_in *f)
{
	return f->at < f->n ? f->d[f->at++] : 0;
}

static uint64_t fz_u64(struct fz_in *f)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)fz_b(f) << (8 * i);
	return v;
}

static void put32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Append one reply to `request` (value v when valid); false if mutated. */
static bool fz_reply(struct fz_in *f, uint8_t *out, size_t *len, size_t cap, uint32_t request,
		     uint64_t v)
{
	uint8_t r[VS_VHU_HDR_SIZE + 8];
	uint8_t mode = fz_b(f) % 12;
	put32le(r, request);
	put32le(r + 4, VS_VHU_VERSION | VS_VHU_FLAG_REPLY);
	put32le(r + 8, 8);
	memcpy(r + VS_VHU_HDR_SIZE, &v, 8);
	size_t n = sizeof(r);
	bool valid = mode < 6;
	switch (mode) {
	case 6:
		put32le(r, fz_b(f));
		valid = r[0] == request && !r[1];
		break;
	case 7:
		put32le(r + 4, fz_b(f));
		valid = (r[4] & 7) == (VS_VHU_VERSION | VS_VHU_FLAG_REPLY);
		break;
	case 8:
		put32le(r + 8, fz_b(f));
		valid = r[8] == 8;
		break;
	case 9:
		n = fz_b(f) % sizeof(r);
		break;
	case 10:
	case 11:
		n = fz_b(f) % sizeof(r);
		for (size_t i = 0; i < n; i++)
			r[i] = fz_b(f);
		r[4] &= (uint8_t)~VS_VHU_FLAG_REPLY; /* never a valid reply by chance */
		valid = false;
		break;
	}
	if (*len + n <= cap) {
		memcpy(out + *len, r, n);
		*len += n;
	}
	return valid;
}

/* The conversation a backend offering PROTOCOL_FEATURES and REPLY_ACK has
 * with the frontend, as replies, in order. */
static size_t fz_script(struct fz_in *f, uint8_t *out, size_t cap, bool *all_valid)
{
	static const uint32_t acked[] = {
		VS_VHU_SET_OWNER,      VS_VHU_SET_FEATURES,   VS_VHU_SET_MEM_TABLE,
		VS_VHU_SET_VRING_NUM,  VS_VHU_SET_VRING_BASE, VS_VHU_SET_VRING_ADDR,
		VS_VHU_SET_VRING_CALL, VS_VHU_SET_VRING_KICK, VS_VHU_SET_VRING_ENABLE,
	};
	size_t len = 0;
	bool ok = true;
	uint64_t feat = fz_u64(f) | VS_VHU_F_PROTOCOL_FEATURES | (1ULL << 32);
	ok &= fz_reply(f, out, &len, cap, VS_VHU_GET_FEATURES, feat);
	ok &= fz_reply(f, out, &len, cap, VS_VHU_GET_PROTOCOL_FEATURES,
		       fz_u64(f) | VS_VHU_PROTOCOL_F_REPLY_ACK);
	for (size_t i = 0; i < sizeof(acked) / sizeof(acked[0]); i++) {
		uint64_t status = (fz_b(f) & 7) == 7 ? fz_u64(f) : 0;
		ok &= fz_reply(f, out, &len, cap, acked[i], status) && status == 0;
	}
	uint64_t index = fz_b(f) & 1; /* ring 1 asked for: 0 is wrong */
	uint64_t base = index | (uint64_t)fz_b(f) << 32;
	ok &= fz_reply(f, out, &len, cap, VS_VHU_GET_VRING_BASE, base) && (base & 0xffffffff) == 1;
	*all_valid = ok;
	return len;
}

static uint8_t fz_ram[2][4096];

static int fz_converse(int fd)
{
	vs_vhu u;
	vs_err err = { 0 };
	vs_vhu_init(&u, fd, 1000);
	vs_guest_mem mem = { .n = 2, .fd = fd, .ram_size = 8192 };
	for (int i = 0; i < 2; i++)
		mem.r[i] = (vs_mem_region){ .gpa = 0x100000000ULL * i,
					    .size = 4096,
					    .hva = fz_ram[i],
					    .fd_offset = 4096ULL * i };
	vs_vhu_vring r = { .num = 8,
			   .desc = (uintptr_t)fz_ram[0],
			   .avail = (uintptr_t)fz_ram[0] + 128,
			   .used = (uintptr_t)fz_ram[0] + 256,
			   .kick = fd,
			   .call = fd };
	uint32_t base = 0;
	int rc = -1;
	if (vs_vhu_handshake(&u, &err) == 0 && vs_vhu_set_features(&u, 1ULL << 32, &err) == 0 &&
	    vs_vhu_set_mem_table(&u, &mem, &err) == 0 && vs_vhu_start_vring(&u, 1, &r, &err) == 0 &&
	    vs_vhu_stop_vring(&u, 1, &base, &err) == 0)
		rc = 0;
	if (rc < 0 && (!u.broken || !err.msg[0]))
		abort(); /* a failure always says why and poisons the connection */
	if (rc < 0 && vs_vhu_set_features(&u, 0, &err) == 0)
		abort();
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in f = { data, size, 0 };
	static uint8_t stream[8192];
	size_t len;
	bool all_valid = false;
	if (size && data[0] == 0xff) {
		/* Raw: the decoder on the bytes as one reply, and the stream. */
		vs_vhu_reply rep;
		vs_err err = { 0 };
		for (uint32_t req = 1; req <= 18; req++)
			(void)vs_vhu_decode_reply(data + 1, size - 1, req, 8, &rep, &err);
		len = size - 1 < sizeof(stream) ? size - 1 : sizeof(stream);
		memcpy(stream, data + 1, len);
	} else {
		len = fz_script(&f, stream, sizeof(stream), &all_valid);
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	/* 8 KiB fits the socket buffer, so this never blocks. */
	if (len && write(sv[1], stream, len) != (ssize_t)len)
		abort();
	shutdown(sv[1], SHUT_WR);
	int rc = fz_converse(sv[0]);
	if (rc == 0 && data[0] != 0xff && !all_valid)
		abort(); /* a bad reply was accepted */
	close(sv[0]);
	close(sv[1]);
	return 0;
}
