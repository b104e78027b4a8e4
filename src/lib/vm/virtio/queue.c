#include "vm/virtio/queue.h"

#include <string.h>

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

void vs_vq_reset(vs_vq *q)
{
	memset(q, 0, sizeof(*q));
}

const char *vs_vq_check(const vs_guest_mem *m, const vs_vq *q, uint16_t max)
{
	if (!q->num || q->num > max || (q->num & (q->num - 1)))
		return "queue size is not a power of two within the maximum";
	uint64_t n = q->num;
	if ((q->desc & 15) || (q->avail & 1) || (q->used & 3))
		return "ring address misaligned";
	if (!vs_mem_ptr(m, q->desc, 16 * n))
		return "descriptor table outside guest memory";
	if (!vs_mem_ptr(m, q->avail, 6 + 2 * n))
		return "available ring outside guest memory";
	if (!vs_mem_ptr(m, q->used, 6 + 8 * n))
		return "used ring outside guest memory";
	return NULL;
}

static int broken(vs_vq *q, vs_vq_chain *c, const char *why)
{
	q->broken = true;
	c->error = why;
	return -1;
}

static uint16_t load16(const void *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

int vs_vq_pop(const vs_guest_mem *m, vs_vq *q, vs_vq_chain *c)
{
	c->nout = c->nin = 0;
	c->out_len = c->in_len = 0;
	c->error = NULL;
	if (!q->ready || q->broken)
		return 0;
	uint64_t n = q->num;
	/* Pointers were checked when the queue became ready, and the memory
	 * map never changes while the VM exists; re-derive them anyway so a
	 * corrupted vs_vq can never point outside guest RAM. */
	const uint8_t *avail = vs_mem_ptr(m, q->avail, 6 + 2 * n);
	const uint8_t *table = vs_mem_ptr(m, q->desc, 16 * n);
	if (!avail || !table)
		return broken(q, c, "ring outside guest memory");
	uint16_t idx = load16(avail + 2);
	uint16_t pending = (uint16_t)(idx - q->last_avail);
	if (!pending)
		return 0;
	if (pending > n)
		return broken(q, c, "available index ran ahead of the ring");
	uint16_t head = load16(avail + 4 + 2 * (q->last_avail % n));
	if (head >= n)
		return broken(q, c, "head descriptor index out of range");
	c->head = head;
	uint16_t i = head;
	for (unsigned count = 0;; count++) {
		if (count >= n)
			return broken(q, c, "descriptor chain loops");
		if (count >= VS_VQ_MAX_SEGS)
			return broken(q, c, "descriptor chain too long");
		struct desc d;
		memcpy(&d, table + 16 * (uint64_t)i, sizeof(d)); /* one snapshot */
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return broken(q, c, "indirect descriptor (not negotiated)");
		uint8_t *p = vs_mem_ptr(m, d.addr, d.len);
		if (!p)
			return broken(q, c, "descriptor buffer outside guest memory");
		if (d.flags & VIRTQ_DESC_F_WRITE) {
			c->nin++;
			c->in_len += d.len;
		} else {
			if (c->nin)
				return broken(q, c, "readable descriptor after a writable one");
			c->nout++;
			c->out_len += d.len;
		}
		c->seg[count] = (vs_vq_seg){ p, d.len };
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= n)
			return broken(q, c, "next descriptor index out of range");
		i = d.next;
	}
	q->last_avail++;
	return 1;
}

int vs_vq_push_quiet(const vs_guest_mem *m, vs_vq *q, uint16_t head, uint32_t len)
{
	if (!q->ready || !q->num)
		return -1;
	uint64_t n = q->num;
	uint8_t *used = vs_mem_ptr(m, q->used, 6 + 8 * n);
	if (!used)
		return -1;
	uint8_t *e = used + 4 + 8 * (q->used_idx % n);
	uint32_t id = head;
	memcpy(e, &id, 4);
	memcpy(e + 4, &len, 4);
	q->used_idx++;
	return 0;
}

int vs_vq_publish(const vs_guest_mem *m, vs_vq *q)
{
	if (!q->ready || !q->num)
		return -1;
	uint8_t *used = vs_mem_ptr(m, q->used, 6 + 8 * (uint64_t)q->num);
	if (!used)
		return -1;
	/* The elements must be visible before the index that publishes them. */
	__atomic_store_n((uint16_t *)(used + 2), q->used_idx, __ATOMIC_RELEASE);
	return 0;
}

int vs_vq_push(const vs_guest_mem *m, vs_vq *q, uint16_t head, uint32_t len)
{
	if (vs_vq_push_quiet(m, q, head, len) < 0)
		return -1;
	return vs_vq_publish(m, q);
}

bool vs_vq_wants_interrupt(const vs_guest_mem *m, const vs_vq *q)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	const uint8_t *avail = vs_mem_ptr(m, q->avail, 2);
	return !avail || !(load16(avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* Walk segs [first, first+count) copying at byte offset off. */
static size_t copy(vs_vq_seg *segs, unsigned count, size_t off, void *buf, size_t len,
		   bool to_guest)
{
	size_t done = 0;
	for (unsigned i = 0; i < count && done < len; i++) {
		if (off >= segs[i].len) {
			off -= segs[i].len;
			continue;
		}
		size_t n = segs[i].len - off;
		if (n > len - done)
			n = len - done;
		if (to_guest)
			memcpy(segs[i].hva + off, (const uint8_t *)buf + done, n);
		else
			memcpy((uint8_t *)buf + done, segs[i].hva + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t vs_vq_read(const vs_vq_chain *c, size_t off, void *dst, size_t len)
{
	return copy((vs_vq_seg *)c->seg, c->nout, off, dst, len, false);
}

size_t vs_vq_write(vs_vq_chain *c, size_t off, const void *src, size_t len)
{
	return copy(c->seg + c->nout, c->nin, off, (void *)src, len, true);
}

int vs_vq_iov(const vs_vq_chain *c, bool in, size_t off, size_t len, struct iovec *iov, int max)
{
	const vs_vq_seg *s = in ? c->seg + c->nout : c->seg;
	unsigned count = in ? c->nin : c->nout;
	int k = 0;
	for (unsigned i = 0; i < count && len; i++) {
		if (off >= s[i].len) {
			off -= s[i].len;
			continue;
		}
		size_t n = s[i].len - off;
		if (n > len)
			n = len;
		if (k == max)
			return -1;
		iov[k++] = (struct iovec){ s[i].hva + off, n };
		len -= n;
		off = 0;
	}
	return len ? -1 : k;
}
