/* libFuzzer target for the virtqueue walker: the input becomes a small
 * guest RAM image plus queue parameters, and the walker must never touch a
 * byte outside that RAM (ASan watches an exactly-sized allocation), loop, or
 * hand out a segment beyond it.
 *   clang -g -fsanitize=fuzzer,address,undefined -Isrc/lib tests/fuzz/fuzz_virtqueue.c \
 *         src/lib/vm/virtio/queue.c src/lib/vm/memory.c src/lib/core/error.c
 * (`make fuzz` builds build-fuzz/fuzz_virtqueue). tests/unit/test_vm_queue.c
 * includes this file and feeds it random and hostile rings in CI. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/memory.h"
#include "vm/virtio/queue.h"

#define FUZZ_RAM 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint16_t take16(const uint8_t *d, size_t n, size_t at)
{
	return at + 1 < n ? (uint16_t)(d[at] | d[at + 1] << 8) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8)
		return 0;
	uint8_t *ram = malloc(FUZZ_RAM);
	if (!ram)
		return 0;
	/* RAM: the input repeated, so small inputs still fill the rings. */
	for (size_t i = 0; i < FUZZ_RAM; i++)
		ram[i] = size > 8 ? data[8 + i % (size - 8)] : 0;
	vs_guest_mem m;
	vs_mem_init_flat(&m, ram, FUZZ_RAM);
	vs_vq q;
	vs_vq_reset(&q);
	q.num = (uint16_t)(1u << (data[0] % 10)); /* 1..512: some too big */
	if (data[1] & 0x80)
		q.num = take16(data, size, 2); /* any size at all */
	/* Ring addresses: mostly plausible, sometimes wild. */
	q.desc = (uint64_t)take16(data, size, 4) << (data[1] & 3);
	q.avail = q.desc + 16ULL * q.num + (data[6] & 0x3e);
	q.used = (q.avail + 6 + 2ULL * q.num + 3 + (data[7] & 0x7c)) & ~3ULL;
	if (data[1] & 0x40)
		q.used = UINT64_MAX - 5;
	if (vs_vq_check(&m, &q, VS_VQ_MAX_SIZE) == NULL) {
		q.ready = true;
		q.last_avail = (uint16_t)(data[3] * 257);
		vs_vq_chain c;
		for (int round = 0; round < 64; round++) {
			int rc = vs_vq_pop(&m, &q, &c);
			if (rc != 1)
				break;
			for (unsigned i = 0; i < c.nout + c.nin; i++) {
				/* Every segment lies inside RAM: touch each end. */
				if (c.seg[i].hva < ram ||
				    c.seg[i].hva + c.seg[i].len > ram + FUZZ_RAM)
					abort();
				if (c.seg[i].len) {
					volatile uint8_t x = c.seg[i].hva[0];
					c.seg[i].hva[c.seg[i].len - 1] = x;
				}
			}
			uint8_t tmp[256];
			vs_vq_read(&c, data[2], tmp, sizeof(tmp));
			vs_vq_write(&c, data[5], tmp, sizeof(tmp));
			struct iovec iov[8];
			vs_vq_iov(&c, data[4] & 1, data[5], data[6] * 3u, iov, 8);
			vs_vq_push(&m, &q, c.head, (uint32_t)c.in_len);
			(void)vs_vq_wants_interrupt(&m, &q);
		}
	}
	free(ram);
	return 0;
}
