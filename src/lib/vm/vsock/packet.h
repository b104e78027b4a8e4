/* virtio-vsock packet headers (virtio 1.x, 5.10.6): the 44-byte
 * little-endian `struct virtio_vsock_hdr` that precedes every packet on the
 * tx and rx queues. The guest writes the tx headers, so parsing treats them
 * as hostile: every field is checked before the state machine sees it. */
#ifndef VESSEL_VM_VSOCK_PACKET_H
#define VESSEL_VM_VSOCK_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define VS_VSOCK_HDR_SIZE    44
#define VS_VSOCK_HOST_CID    2	   /* VMADDR_CID_HOST: the VMM's side */
#define VS_VSOCK_MAX_PAYLOAD 65536 /* Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE */

#define VS_VSOCK_TYPE_STREAM 1

enum vs_vsock_op {
	VS_VSOCK_OP_INVALID = 0,
	VS_VSOCK_OP_REQUEST = 1,
	VS_VSOCK_OP_RESPONSE = 2,
	VS_VSOCK_OP_RST = 3,
	VS_VSOCK_OP_SHUTDOWN = 4,
	VS_VSOCK_OP_RW = 5,
	VS_VSOCK_OP_CREDIT_UPDATE = 6,
	VS_VSOCK_OP_CREDIT_REQUEST = 7,
};

/* SHUTDOWN flags: the sender will receive / send no more. */
#define VS_VSOCK_SHUTDOWN_RCV  1u
#define VS_VSOCK_SHUTDOWN_SEND 2u

/* A header in host byte order. */
typedef struct vs_vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len; /* payload bytes after the header */
	uint16_t type, op;
	uint32_t flags;
	uint32_t buf_alloc; /* sender's receive buffer */
	uint32_t fwd_cnt;   /* bytes the sender has consumed from it */
} vs_vsock_hdr;

/* Decode and check the header at the start of a packet of `size` bytes (the
 * readable part of a tx chain): STREAM only, a known op, len at most
 * VS_VSOCK_MAX_PAYLOAD and present in the packet, no payload on anything
 * but RW, no unknown SHUTDOWN flags. -1 with err naming the bad field. */
int vs_vsock_hdr_parse(const uint8_t *pkt, size_t size, vs_vsock_hdr *h, vs_err *err);

/* Encode into the 44 little-endian bytes the guest reads. */
void vs_vsock_hdr_encode(const vs_vsock_hdr *h, uint8_t out[VS_VSOCK_HDR_SIZE]);

/* "RW", "REQUEST"...; "op N" style names are the caller's for unknown ops. */
const char *vs_vsock_op_name(unsigned op);

#endif
