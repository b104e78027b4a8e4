/* vhost-user message encoding and reply checks; see msg.h. */
#include <string.h>

#include "vm/vhost_user/msg.h"

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

const char *vs_vhu_request_name(uint32_t request)
{
	switch (request) {
	case VS_VHU_GET_FEATURES:
		return "GET_FEATURES";
	case VS_VHU_SET_FEATURES:
		return "SET_FEATURES";
	case VS_VHU_SET_OWNER:
		return "SET_OWNER";
	case VS_VHU_SET_MEM_TABLE:
		return "SET_MEM_TABLE";
	case VS_VHU_SET_VRING_NUM:
		return "SET_VRING_NUM";
	case VS_VHU_SET_VRING_ADDR:
		return "SET_VRING_ADDR";
	case VS_VHU_SET_VRING_BASE:
		return "SET_VRING_BASE";
	case VS_VHU_GET_VRING_BASE:
		return "GET_VRING_BASE";
	case VS_VHU_SET_VRING_KICK:
		return "SET_VRING_KICK";
	case VS_VHU_SET_VRING_CALL:
		return "SET_VRING_CALL";
	case VS_VHU_GET_PROTOCOL_FEATURES:
		return "GET_PROTOCOL_FEATURES";
	case VS_VHU_SET_PROTOCOL_FEATURES:
		return "SET_PROTOCOL_FEATURES";
	case VS_VHU_SET_VRING_ENABLE:
		return "SET_VRING_ENABLE";
	}
	return "unknown request";
}

static size_t header(uint8_t *buf, uint32_t request, uint32_t flags, uint32_t size)
{
	put32(buf, request);
	put32(buf + 4, VS_VHU_VERSION | (flags & VS_VHU_FLAG_NEED_REPLY));
	put32(buf + 8, size);
	return VS_VHU_HDR_SIZE + size;
}

size_t vs_vhu_enc_plain(uint8_t *buf, uint32_t request, uint32_t flags)
{
	return header(buf, request, flags, 0);
}

size_t vs_vhu_enc_u64(uint8_t *buf, uint32_t request, uint32_t flags, uint64_t v)
{
	put64(buf + VS_VHU_HDR_SIZE, v);
	return header(buf, request, flags, 8);
}

size_t vs_vhu_enc_state(uint8_t *buf, uint32_t request, uint32_t flags, uint32_t index,
			uint32_t num)
{
	put32(buf + VS_VHU_HDR_SIZE, index);
	put32(buf + VS_VHU_HDR_SIZE + 4, num);
	return header(buf, request, flags, 8);
}

size_t vs_vhu_enc_addr(uint8_t *buf, uint32_t flags, uint32_t index, uint64_t desc, uint64_t used,
		       uint64_t avail)
{
	uint8_t *p = buf + VS_VHU_HDR_SIZE;
	put32(p, index);
	put32(p + 4, 0); /* no VHOST_VRING_F_LOG */
	put64(p + 8, desc);
	put64(p + 16, used);
	put64(p + 24, avail);
	put64(p + 32, 0); /* log address */
	return header(buf, VS_VHU_SET_VRING_ADDR, flags, 40);
}

size_t vs_vhu_enc_mem_table(uint8_t *buf, uint32_t flags, const vs_vhu_region *r, unsigned n)
{
	if (n < 1 || n > VS_VHU_MAX_REGIONS)
		return 0;
	uint8_t *p = buf + VS_VHU_HDR_SIZE;
	put32(p, n);
	put32(p + 4, 0);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = p + 8 + 32 * i;
		put64(e, r[i].gpa);
		put64(e + 8, r[i].size);
		put64(e + 16, r[i].uaddr);
		put64(e + 24, r[i].mmap_offset);
	}
	return header(buf, VS_VHU_SET_MEM_TABLE, flags, 8 + 32 * n);
}

uint32_t vs_vhu_reply_size(uint32_t request)
{
	switch (request) {
	case VS_VHU_GET_FEATURES:
	case VS_VHU_GET_PROTOCOL_FEATURES:
	case VS_VHU_GET_VRING_BASE:
		return 8;
	}
	return 0;
}

int vs_vhu_check_header(const uint8_t *hdr, uint32_t request, uint32_t want_size, vs_err *err)
{
	uint32_t req = get32(hdr), flags = get32(hdr + 4), size = get32(hdr + 8);
	const char *name = vs_vhu_request_name(request);
	if ((flags & VS_VHU_VERSION_MASK) != VS_VHU_VERSION)
		return vs_fail(err, 0, "vhost-user reply to %s: version %u, not 1", name,
			       flags & VS_VHU_VERSION_MASK);
	if (!(flags & VS_VHU_FLAG_REPLY))
		return vs_fail(err, 0, "vhost-user reply to %s: REPLY flag not set", name);
	if (req != request)
		return vs_fail(err, 0, "vhost-user reply to %s names request %u (%s)", name, req,
			       vs_vhu_request_name(req));
	if (size != want_size)
		return vs_fail(err, 0, "vhost-user reply to %s: payload of %u bytes, want %u", name,
			       size, want_size);
	return (int)size;
}

int vs_vhu_decode_reply(const uint8_t *buf, size_t len, uint32_t request, uint32_t want_size,
			vs_vhu_reply *out, vs_err *err)
{
	memset(out, 0, sizeof(*out));
	if (len < VS_VHU_HDR_SIZE)
		return vs_fail(err, 0, "vhost-user reply to %s: %zu bytes, shorter than a header",
			       vs_vhu_request_name(request), len);
	int size = vs_vhu_check_header(buf, request, want_size, err);
	if (size < 0)
		return -1;
	if (len != VS_VHU_HDR_SIZE + (size_t)size)
		return vs_fail(err, 0, "vhost-user reply to %s: %zu bytes, header says %d",
			       vs_vhu_request_name(request), len, VS_VHU_HDR_SIZE + size);
	if (size == 8) {
		const uint8_t *p = buf + VS_VHU_HDR_SIZE;
		out->u64 = get64(p);
		out->index = get32(p);
		out->num = get32(p + 4);
	}
	return 0;
}
