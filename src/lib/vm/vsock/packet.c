#include "vm/vsock/packet.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

const char *vs_vsock_op_name(unsigned op)
{
	static const char *const names[] = { "INVALID",	      "REQUEST",       "RESPONSE",
					     "RST",	      "SHUTDOWN",      "RW",
					     "CREDIT_UPDATE", "CREDIT_REQUEST" };
	return op < sizeof(names) / sizeof(names[0]) ? names[op] : "unknown";
}

int vs_vsock_hdr_parse(const uint8_t *pkt, size_t size, vs_vsock_hdr *h, vs_err *err)
{
	if (size < VS_VSOCK_HDR_SIZE)
		return vs_fail(err, EPROTO,
			       "vsock packet: %zu bytes, shorter than the %d-byte header", size,
			       VS_VSOCK_HDR_SIZE);
	h->src_cid = get64(pkt);
	h->dst_cid = get64(pkt + 8);
	h->src_port = get32(pkt + 16);
	h->dst_port = get32(pkt + 20);
	h->len = get32(pkt + 24);
	h->type = get16(pkt + 28);
	h->op = get16(pkt + 30);
	h->flags = get32(pkt + 32);
	h->buf_alloc = get32(pkt + 36);
	h->fwd_cnt = get32(pkt + 40);

	if (h->type != VS_VSOCK_TYPE_STREAM)
		return vs_fail(err, EPROTO, "vsock packet: type %u (only STREAM, 1, is offered)",
			       h->type);
	if (h->op < VS_VSOCK_OP_REQUEST || h->op > VS_VSOCK_OP_CREDIT_REQUEST)
		return vs_fail(err, EPROTO, "vsock packet: unknown op %u", h->op);
	if (h->len > VS_VSOCK_MAX_PAYLOAD)
		return vs_fail(err, EPROTO, "vsock packet: len %u over the %d-byte limit", h->len,
			       VS_VSOCK_MAX_PAYLOAD);
	if (h->len > size - VS_VSOCK_HDR_SIZE)
		return vs_fail(err, EPROTO, "vsock packet: len %u but only %zu payload bytes",
			       h->len, size - VS_VSOCK_HDR_SIZE);
	if (h->op != VS_VSOCK_OP_RW && h->len)
		return vs_fail(err, EPROTO, "vsock packet: %s with a %u-byte payload",
			       vs_vsock_op_name(h->op), h->len);
	if (h->op == VS_VSOCK_OP_SHUTDOWN &&
	    (h->flags & ~(VS_VSOCK_SHUTDOWN_RCV | VS_VSOCK_SHUTDOWN_SEND)))
		return vs_fail(err, EPROTO, "vsock packet: SHUTDOWN with unknown flags %#x",
			       h->flags);
	return 0;
}

void vs_vsock_hdr_encode(const vs_vsock_hdr *h, uint8_t out[VS_VSOCK_HDR_SIZE])
{
	put64(out, h->src_cid);
	put64(out + 8, h->dst_cid);
	put32(out + 16, h->src_port);
	put32(out + 20, h->dst_port);
	put32(out + 24, h->len);
	put16(out + 28, h->type);
	put16(out + 30, h->op);
	put32(out + 32, h->flags);
	put32(out + 36, h->buf_alloc);
	put32(out + 40, h->fwd_cnt);
}
