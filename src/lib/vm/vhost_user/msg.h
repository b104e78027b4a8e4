/* vhost-user messages (QEMU docs/interop/vhost-user.rst) as bytes: encoding
 * the frontend's requests and checking the backend's replies, apart from
 * any socket so the decoding can be fuzzed (tests/fuzz/fuzz_vhost_user.c).
 * Everything is little-endian, as the protocol is on x86. */
#ifndef VESSEL_VM_VHOST_USER_MSG_H
#define VESSEL_VM_VHOST_USER_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define VS_VHU_HDR_SIZE	       12 /* request, flags, size (u32 each) */
#define VS_VHU_VERSION	       0x1
#define VS_VHU_VERSION_MASK    0x3
#define VS_VHU_FLAG_REPLY      (1u << 2)
#define VS_VHU_FLAG_NEED_REPLY (1u << 3)
#define VS_VHU_MAX_REGIONS     8 /* VHOST_MEMORY_BASELINE_NREGIONS */
#define VS_VHU_MAX_MSG	       (VS_VHU_HDR_SIZE + 8 + 32 * VS_VHU_MAX_REGIONS)

/* Virtio feature bit the backend sets when it has protocol features. */
#define VS_VHU_F_PROTOCOL_FEATURES (1ULL << 30)
/* Protocol features vessel implements: REPLY_ACK only. */
#define VS_VHU_PROTOCOL_F_REPLY_ACK (1ULL << 3)
#define VS_VHU_VRING_NOFD	    (1ULL << 8) /* SET_VRING_KICK/CALL: no fd */

enum vs_vhu_request {
	VS_VHU_GET_FEATURES = 1,
	VS_VHU_SET_FEATURES = 2,
	VS_VHU_SET_OWNER = 3,
	VS_VHU_SET_MEM_TABLE = 5,
	VS_VHU_SET_VRING_NUM = 8,
	VS_VHU_SET_VRING_ADDR = 9,
	VS_VHU_SET_VRING_BASE = 10,
	VS_VHU_GET_VRING_BASE = 11,
	VS_VHU_SET_VRING_KICK = 12,
	VS_VHU_SET_VRING_CALL = 13,
	VS_VHU_GET_PROTOCOL_FEATURES = 15,
	VS_VHU_SET_PROTOCOL_FEATURES = 16,
	VS_VHU_SET_VRING_ENABLE = 18,
};

typedef struct vs_vhu_region {
	uint64_t gpa, size, uaddr, mmap_offset;
} vs_vhu_region;

/* What a reply carries: a u64 (features, REPLY_ACK status) or a vring
 * state (GET_VRING_BASE). */
typedef struct vs_vhu_reply {
	uint64_t u64;
	uint32_t index, num;
} vs_vhu_reply;

const char *vs_vhu_request_name(uint32_t request);

/* Each encoder writes a whole message (header + payload) into buf, which
 * holds VS_VHU_MAX_MSG bytes, and returns its length. flags may add
 * VS_VHU_FLAG_NEED_REPLY. */
size_t vs_vhu_enc_plain(uint8_t *buf, uint32_t request, uint32_t flags);
size_t vs_vhu_enc_u64(uint8_t *buf, uint32_t request, uint32_t flags, uint64_t v);
size_t vs_vhu_enc_state(uint8_t *buf, uint32_t request, uint32_t flags, uint32_t index,
			uint32_t num);
size_t vs_vhu_enc_addr(uint8_t *buf, uint32_t flags, uint32_t index, uint64_t desc, uint64_t used,
		       uint64_t avail);
/* n in [1, VS_VHU_MAX_REGIONS]; 0 returned otherwise. */
size_t vs_vhu_enc_mem_table(uint8_t *buf, uint32_t flags, const vs_vhu_region *r, unsigned n);

/* The payload size a reply to `request` must have (8 or 8: u64 and vring
 * state are both 8 bytes), 0 when the request has no reply of its own. */
uint32_t vs_vhu_reply_size(uint32_t request);

/* Check a reply header (VS_VHU_HDR_SIZE bytes) against the request it
 * answers: version 1, REPLY set, same request, the size that request's
 * reply has (or 8 for a REPLY_ACK). Returns the payload size or -1. */
int vs_vhu_check_header(const uint8_t *hdr, uint32_t request, uint32_t want_size, vs_err *err);

/* Decode a whole reply (header + payload, len bytes) to `request` whose
 * payload must be want_size bytes. 0 or -1 with err naming what was wrong. */
int vs_vhu_decode_reply(const uint8_t *buf, size_t len, uint32_t request, uint32_t want_size,
			vs_vhu_reply *out, vs_err *err);

#endif
