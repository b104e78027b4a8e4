/* The virtqueue walker and guest-memory bounds checks, fed well-formed,
 * hostile and random rings (through the fuzz target's entry point). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "vm/memory.h"
#include "vm/virtio/queue.h"

#include "../fuzz/fuzz_virtqueue.c"

#define RAM   65536
#define DESC  0x1000
#define AVAIL 0x2000
#define USED  0x3000
#define NUM   8

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static uint8_t *ram;
static vs_guest_mem mem;
static vs_vq q;

static int setup(void **state)
{
	(void)state;
	ram = calloc(1, RAM);
	vs_mem_init_flat(&mem, ram, RAM);
	vs_vq_reset(&q);
	q.num = NUM;
	q.desc = DESC;
	q.avail = AVAIL;
	q.used = USED;
	assert_null(vs_vq_check(&mem, &q, 256));
	q.ready = true;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

static void set_desc(int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct desc d = { addr, len, flags, next };
	memcpy(ram + DESC + 16 * i, &d, sizeof(d));
}

static void publish(uint16_t head, uint16_t idx)
{
	memcpy(ram + AVAIL + 4 + 2 * ((idx - 1) % NUM), &head, 2);
	memcpy(ram + AVAIL + 2, &idx, 2);
}

static void expect_broken(const char *why)
{
	vs_vq_chain c;
	assert_int_equal(vs_vq_pop(&mem, &q, &c), -1);
	assert_true(q.broken);
	assert_non_null(strstr(c.error, why));
	/* A broken queue stays quiet until the device is reset. */
	assert_int_equal(vs_vq_pop(&mem, &q, &c), 0);
}

static void test_mem_bounds(void **state)
{
	(void)state;
	assert_ptr_equal(vs_mem_ptr(&mem, 0, RAM), ram);
	assert_ptr_equal(vs_mem_ptr(&mem, RAM - 1, 1), ram + RAM - 1);
	assert_ptr_equal(vs_mem_ptr(&mem, RAM, 0), NULL);
	assert_null(vs_mem_ptr(&mem, RAM - 1, 2));
	assert_null(vs_mem_ptr(&mem, 1, UINT64_MAX));
	assert_null(vs_mem_ptr(&mem, UINT64_MAX, 2));
	assert_null(vs_mem_ptr(&mem, UINT64_MAX - 1, 4));
	/* Two regions around a hole: a range may not span them. */
	static uint8_t lo[4096], hi[4096];
	vs_guest_mem two = { .r = { { 0, 4096, lo }, { 8192, 4096, hi } }, .n = 2 };
	assert_ptr_equal(vs_mem_ptr(&two, 8192 + 10, 10), hi + 10);
	assert_null(vs_mem_ptr(&two, 4000, 200));
	assert_null(vs_mem_ptr(&two, 5000, 1));
	assert_int_equal(vs_mem_write(&two, 4095, "ab", 2), -1);
}

static void test_check_layout(void **state)
{
	(void)state;
	vs_vq t = q;
	t.ready = false;
	t.num = 3;
	assert_non_null(vs_vq_check(&mem, &t, 256));
	t.num = 512;
	assert_non_null(vs_vq_check(&mem, &t, 256));
	t.num = 0;
	assert_non_null(vs_vq_check(&mem, &t, 256));
	t.num = 8;
	t.desc = DESC + 8;
	assert_non_null(strstr(vs_vq_check(&mem, &t, 256), "misaligned"));
	t.desc = RAM - 64;
	assert_non_null(strstr(vs_vq_check(&mem, &t, 256), "descriptor table"));
	t.desc = DESC;
	t.used = UINT64_MAX - 3;
	assert_non_null(strstr(vs_vq_check(&mem, &t, 256), "used ring"));
}

static void test_good_chain(void **state)
{
	(void)state;
	set_desc(0, 0x8000, 16, VIRTQ_DESC_F_NEXT, 5);
	set_desc(5, 0x9000, 100, VIRTQ_DESC_F_NEXT, 2);
	set_desc(2, 0xa000, 50, VIRTQ_DESC_F_WRITE, 0);
	publish(0, 1);
	memcpy(ram + 0x8000, "0123456789abcdef", 16);
	vs_vq_chain c;
	assert_int_equal(vs_vq_pop(&mem, &q, &c), 1);
	assert_int_equal(c.head, 0);
	assert_int_equal(c.nout, 2);
	assert_int_equal(c.nin, 1);
	assert_int_equal(c.out_len, 116);
	assert_int_equal(c.in_len, 50);
	char buf[20] = { 0 };
	assert_int_equal(vs_vq_read(&c, 10, buf, 6), 6);
	assert_string_equal(buf, "abcdef");
	assert_int_equal(vs_vq_write(&c, 45, "hello world", 11), 5);
	assert_memory_equal(ram + 0xa000 + 45, "hello", 5);
	struct iovec iov[4];
	assert_int_equal(vs_vq_iov(&c, false, 8, 20, iov, 4), 2);
	assert_int_equal(iov[0].iov_len, 8);
	assert_int_equal(iov[1].iov_len, 12);
	assert_int_equal(vs_vq_iov(&c, true, 0, 51, iov, 4), -1);
	assert_int_equal(vs_vq_pop(&mem, &q, &c), 0);
	assert_int_equal(vs_vq_push(&mem, &q, 0, 50), 0);
	uint16_t used_idx;
	uint32_t id, len;
	memcpy(&used_idx, ram + USED + 2, 2);
	memcpy(&id, ram + USED + 4, 4);
	memcpy(&len, ram + USED + 8, 4);
	assert_int_equal(used_idx, 1);
	assert_int_equal(id, 0);
	assert_int_equal(len, 50);
}

static void test_index_wraps(void **state)
{
	(void)state;
	/* The 16-bit available index wraps; the walker must follow it. */
	q.last_avail = 0xffff;
	set_desc(1, 0x8000, 4, 0, 0);
	uint16_t head = 1, idx = 0;
	memcpy(ram + AVAIL + 4 + 2 * (0xffff % NUM), &head, 2);
	memcpy(ram + AVAIL + 2, &idx, 2);
	vs_vq_chain c;
	assert_int_equal(vs_vq_pop(&mem, &q, &c), 1);
	assert_int_equal(c.head, 1);
	assert_int_equal(q.last_avail, 0);
}

static void test_loop(void **state)
{
	(void)state;
	set_desc(0, 0x8000, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, 0x8000, 8, VIRTQ_DESC_F_NEXT, 0);
	publish(0, 1);
	expect_broken("loops");
}

static void test_self_loop(void **state)
{
	(void)state;
	set_desc(3, 0x8000, 8, VIRTQ_DESC_F_NEXT, 3);
	publish(3, 1);
	expect_broken("loops");
}

static void test_too_long(void **state)
{
	(void)state;
	q.num = 256;
	q.avail = 0x5000;
	q.used = 0x6000;
	for (int i = 0; i < 200; i++)
		set_desc(i, 0x8000, 1, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
	set_desc(200, 0x8000, 1, 0, 0);
	uint16_t head = 0, idx = 1;
	memcpy(ram + 0x5000 + 4, &head, 2);
	memcpy(ram + 0x5000 + 2, &idx, 2);
	expect_broken("too long");
}

static void test_outside_memory(void **state)
{
	(void)state;
	set_desc(0, RAM - 4, 8, 0, 0);
	publish(0, 1);
	expect_broken("outside guest memory");
}

static void test_length_wraps(void **state)
{
	(void)state;
	set_desc(0, UINT64_MAX - 10, 100, 0, 0);
	publish(0, 1);
	expect_broken("outside guest memory");
}

static void test_bad_next(void **state)
{
	(void)state;
	set_desc(0, 0x8000, 8, VIRTQ_DESC_F_NEXT, NUM);
	publish(0, 1);
	expect_broken("next descriptor");
}

static void test_bad_head(void **state)
{
	(void)state;
	publish(NUM + 1, 1);
	expect_broken("head descriptor");
}

static void test_avail_ahead(void **state)
{
	(void)state;
	set_desc(0, 0x8000, 8, 0, 0);
	publish(0, NUM + 1);
	expect_broken("ran ahead");
}

static void test_indirect(void **state)
{
	(void)state;
	set_desc(0, 0x8000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	publish(0, 1);
	expect_broken("indirect");
}

static void test_readable_after_writable(void **state)
{
	(void)state;
	set_desc(0, 0x8000, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, 0x9000, 8, 0, 0);
	publish(0, 1);
	expect_broken("readable descriptor after a writable");
}

static void test_not_ready(void **state)
{
	(void)state;
	q.ready = false;
	set_desc(0, 0x8000, 8, 0, 0);
	publish(0, 1);
	vs_vq_chain c;
	assert_int_equal(vs_vq_pop(&mem, &q, &c), 0);
	assert_int_equal(vs_vq_push(&mem, &q, 0, 0), -1);
}

static void test_random_rings(void **state)
{
	(void)state;
	/* Deterministic so a failure reproduces; the fuzz target's own
	 * checks abort() on any escape, ASan catches any stray access. */
	srand(4242);
	uint8_t in[2048];
	for (int iter = 0; iter < 3000; iter++) {
		size_t n = 8 + (size_t)(rand() % (int)(sizeof(in) - 8));
		for (size_t i = 0; i < n; i++)
			in[i] = (uint8_t)rand();
		/* Bias towards plausible layouts and chains. */
		if (iter % 2) {
			in[0] = 3;
			in[1] = 0;
			for (size_t i = 8; i + 16 <= n; i += 16) {
				in[i + 4] = 0;
				in[i + 5] = 0;
				in[i + 6] = 0;
				in[i + 7] = 0;
				in[i + 12] &= 3;
				in[i + 14] &= 7;
				in[i + 15] = 0;
			}
		}
		assert_int_equal(LLVMFuzzerTestOneInput(in, n), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mem_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_good_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_wraps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outside_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_length_wraps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_avail_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readable_after_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_ready, setup, teardown),
		cmocka_unit_test(test_random_rings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
