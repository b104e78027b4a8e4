/* Split virtqueues (virtio 1.x, 2.7) walked safely over guest memory. The
 * guest owns the rings and may rewrite them at any moment, so every
 * descriptor is copied once and checked before use: addresses and lengths
 * inside guest RAM, indices inside the ring, no loops, bounded chains,
 * readable segments before writable ones, no indirect tables (not offered).
 * A violation marks the queue broken; the device then asks for a reset. */
#ifndef VESSEL_VM_VIRTIO_QUEUE_H
#define VESSEL_VM_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vm/memory.h"

#define VS_VQ_MAX_SIZE 256
#define VS_VQ_MAX_SEGS 128 /* longest chain a device accepts */

#define VIRTQ_DESC_F_NEXT	   1
#define VIRTQ_DESC_F_WRITE	   2
#define VIRTQ_DESC_F_INDIRECT	   4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

typedef struct vs_vq {
	uint16_t num; /* size the driver chose */
	bool ready;
	bool broken;
	uint64_t desc, avail, used; /* guest physical addresses */
	uint16_t last_avail;	    /* next avail entry to take */
	uint16_t used_idx;	    /* our copy of used->idx */
} vs_vq;

typedef struct vs_vq_seg {
	uint8_t *hva;
	uint32_t len;
} vs_vq_seg;

typedef struct vs_vq_chain {
	uint16_t head;
	unsigned nout, nin; /* seg[0..nout) readable, then nin writable */
	uint64_t out_len, in_len;
	vs_vq_seg seg[VS_VQ_MAX_SEGS];
	const char *error; /* why the chain was refused */
} vs_vq_chain;

/* Reset to the state after device reset. */
void vs_vq_reset(vs_vq *q);

/* Check a queue the driver wants to enable: size a power of two in
 * [1, max], rings aligned and wholly inside guest RAM. NULL if fine, else
 * what is wrong. */
const char *vs_vq_check(const vs_guest_mem *m, const vs_vq *q, uint16_t max);

/* Take the next available chain: 1 taken, 0 none, -1 the ring is broken
 * (q->broken set, c->error says why). */
int vs_vq_pop(const vs_guest_mem *m, vs_vq *q, vs_vq_chain *c);

/* Return a chain with `len` bytes written; -1 if the queue is unusable. */
int vs_vq_push(const vs_guest_mem *m, vs_vq *q, uint16_t head, uint32_t len);
/* The same without moving used->idx, then publish every element pushed so
 * far at once: a merged receive frame's buffers reach the driver together. */
int vs_vq_push_quiet(const vs_guest_mem *m, vs_vq *q, uint16_t head, uint32_t len);
int vs_vq_publish(const vs_guest_mem *m, vs_vq *q);

/* False when the driver asked for no interrupts (VIRTQ_AVAIL_F_NO_INTERRUPT). */
bool vs_vq_wants_interrupt(const vs_guest_mem *m, const vs_vq *q);

/* Copy out of the readable part / into the writable part, from byte `off`;
 * return bytes copied. */
size_t vs_vq_read(const vs_vq_chain *c, size_t off, void *dst, size_t len);
size_t vs_vq_write(vs_vq_chain *c, size_t off, const void *src, size_t len);

/* iovecs for [off, off+len) of the readable (in=false) or writable part;
 * returns the count, or -1 if the range is not there or needs > max. */
int vs_vq_iov(const vs_vq_chain *c, bool in, size_t off, size_t len, struct iovec *iov, int max);

#endif
