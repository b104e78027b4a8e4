/* virtio-mmio transport and virtio-blk request handling without KVM: a
 * device over flat guest memory and a memfd disk, driven through its
 * registers like a (sometimes hostile) driver would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vm/virtio/virtio.h"

#define RAM   (1 << 20)
#define DESC  0x1000
#define AVAIL 0x2000
#define USED  0x3000
#define HDR   0x10000
#define DATA  0x20000
#define STAT  0x30000
#define NUM   8

#define DISK_SECTORS 64

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct req {
	uint32_t type, reserved;
	uint64_t sector;
};

typedef struct fixture {
	uint8_t *ram;
	vs_guest_mem mem;
	vs_virtio_dev *dev;
	int disk;
	uint16_t avail_idx;
} fixture;

static uint32_t reg(fixture *f, uint64_t off)
{
	uint32_t v;
	vs_virtio_mmio_read(f->dev, off, &v, 4);
	return v;
}

static void set(fixture *f, uint64_t off, uint32_t v)
{
	vs_virtio_mmio_write(f->dev, off, &v, 4);
}

static int start(fixture *f, bool readonly)
{
	f->ram = calloc(1, RAM);
	vs_mem_init_flat(&f->mem, f->ram, RAM);
	f->disk = memfd_create("disk", MFD_CLOEXEC);
	if (ftruncate(f->disk, DISK_SECTORS * 512) < 0)
		return -1;
	vs_err err = { 0 };
	f->dev = vs_virtio_blk_new(NULL, &f->mem, f->disk, readonly, DISK_SECTORS * 512, &err);
	return f->dev ? 0 : -1;
}

static void negotiate(fixture *f)
{
	set(f, 0x070, 1);
	set(f, 0x070, 3);
	set(f, 0x024, 1);
	set(f, 0x020, 1); /* VERSION_1 */
	set(f, 0x070, 3 | 8);
	assert_int_equal(reg(f, 0x070) & 8, 8);
	set(f, 0x030, 0);
	set(f, 0x038, NUM);
	set(f, 0x080, DESC);
	set(f, 0x090, AVAIL);
	set(f, 0x0a0, USED);
	set(f, 0x044, 1);
	set(f, 0x070, 3 | 8 | 4);
}

static int setup_rw(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	*state = f;
	if (start(f, false) < 0)
		return -1;
	negotiate(f);
	return 0;
}

static int setup_ro(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	*state = f;
	if (start(f, true) < 0)
		return -1;
	negotiate(f);
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	vs_virtio_destroy(f->dev); /* closes the disk */
	free(f->ram);
	free(f);
	return 0;
}

static void put_desc(fixture *f, int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct desc d = { addr, len, flags, next };
	memcpy(f->ram + DESC + 16 * i, &d, sizeof(d));
}

/* Publish head 0, kick, return the used length (or -1 if nothing used). */
static long kick(fixture *f)
{
	uint16_t head = 0, before;
	memcpy(&before, f->ram + USED + 2, 2);
	memcpy(f->ram + AVAIL + 4 + 2 * (f->avail_idx % NUM), &head, 2);
	f->avail_idx++;
	memcpy(f->ram + AVAIL + 2, &f->avail_idx, 2);
	set(f, 0x050, 0);
	uint16_t after;
	memcpy(&after, f->ram + USED + 2, 2);
	if (after == before)
		return -1;
	uint32_t len;
	memcpy(&len, f->ram + USED + 4 + 8 * (before % NUM) + 4, 4);
	return len;
}

/* header, data, status: the usual three-descriptor request. */
static long request(fixture *f, uint32_t type, uint64_t sector, uint32_t len, bool dev_writes)
{
	struct req r = { type, 0, sector };
	memcpy(f->ram + HDR, &r, sizeof(r));
	f->ram[STAT] = 0xee;
	put_desc(f, 0, HDR, sizeof(r), VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, 1, DATA, len,
		 (uint16_t)(VIRTQ_DESC_F_NEXT | (dev_writes ? VIRTQ_DESC_F_WRITE : 0)), 2);
	put_desc(f, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	return kick(f);
}

static void test_identity_and_features(void **state)
{
	fixture *f = *state;
	assert_int_equal(reg(f, 0x000), 0x74726976);
	assert_int_equal(reg(f, 0x004), 2);
	assert_int_equal(reg(f, 0x008), 2);
	set(f, 0x014, 1);
	assert_int_equal(reg(f, 0x010) & 1, 1); /* VERSION_1 */
	uint32_t cap;
	vs_virtio_mmio_read(f->dev, 0x100, &cap, 4);
	assert_int_equal(cap, DISK_SECTORS);
	/* Config is read-only. */
	uint32_t junk = 7;
	vs_virtio_mmio_write(f->dev, 0x100, &junk, 4);
	vs_virtio_mmio_read(f->dev, 0x100, &cap, 4);
	assert_int_equal(cap, DISK_SECTORS);
	/* Reads past the config space are zero, not out of bounds. */
	uint64_t far = 1;
	vs_virtio_mmio_read(f->dev, 0xff8, &far, 8);
	assert_int_equal(far, 0);
}

static void test_write_read(void **state)
{
	fixture *f = *state;
	for (int i = 0; i < 1024; i++)
		f->ram[DATA + i] = (uint8_t)(i * 3);
	assert_int_equal(request(f, 1, 5, 1024, false), 1);
	assert_int_equal(f->ram[STAT], 0);
	uint8_t disk[1024];
	assert_int_equal(pread(f->disk, disk, sizeof(disk), 5 * 512), 1024);
	assert_memory_equal(disk, f->ram + DATA, 1024);
	memset(f->ram + DATA, 0, 1024);
	assert_int_equal(request(f, 0, 5, 1024, true), 1025);
	assert_int_equal(f->ram[STAT], 0);
	assert_memory_equal(disk, f->ram + DATA, 1024);
	assert_int_equal(request(f, 4, 0, 0, false), 1); /* flush: empty data descriptor */
	assert_int_equal(f->ram[STAT], 0);
}

static void test_get_id(void **state)
{
	fixture *f = *state;
	assert_int_equal(request(f, 8, 0, 20, true), 21);
	assert_int_equal(f->ram[STAT], 0);
	assert_memory_equal(f->ram + DATA, "vessel-", 7);
	/* A short buffer gets a truncated id, never more than it holds. */
	f->ram[DATA + 5] = 0x55;
	assert_int_equal(request(f, 8, 0, 5, true), 6);
	assert_int_equal(f->ram[DATA + 5], 0x55);
}

static void test_bad_requests(void **state)
{
	fixture *f = *state;
	/* Past the end of the disk, straddling it, and a sector count that
	 * would overflow when multiplied by 512. */
	assert_int_equal(request(f, 0, DISK_SECTORS, 512, true), 1);
	assert_int_equal(f->ram[STAT], 1);
	assert_int_equal(request(f, 1, DISK_SECTORS - 1, 1024, false), 1);
	assert_int_equal(f->ram[STAT], 1);
	assert_int_equal(request(f, 0, UINT64_MAX / 256, 512, true), 1);
	assert_int_equal(f->ram[STAT], 1);
	/* Not a whole number of sectors. */
	assert_int_equal(request(f, 0, 0, 100, true), 1);
	assert_int_equal(f->ram[STAT], 1);
	/* Unknown type. */
	assert_int_equal(request(f, 77, 0, 512, true), 1);
	assert_int_equal(f->ram[STAT], 2);
	/* Header shorter than 16 bytes: IOERR, nothing read past it. */
	put_desc(f, 0, HDR, 8, VIRTQ_DESC_F_NEXT, 2);
	put_desc(f, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	f->ram[STAT] = 0xee;
	assert_int_equal(kick(f), 1);
	assert_int_equal(f->ram[STAT], 1);
	/* No writable byte for the status: completed with nothing written. */
	put_desc(f, 0, HDR, 16, 0, 0);
	assert_int_equal(kick(f), 0);
	/* The device is still healthy after all that. */
	assert_int_equal(reg(f, 0x070) & VIRTIO_STATUS_NEEDS_RESET, 0);
	assert_int_equal(request(f, 0, 0, 512, true), 513);
	assert_int_equal(f->ram[STAT], 0);
}

static void test_read_only(void **state)
{
	fixture *f = *state;
	assert_int_equal(reg(f, 0x010) & (1u << 5), 1u << 5); /* VIRTIO_BLK_F_RO */
	memset(f->ram + DATA, 0xab, 512);
	assert_int_equal(request(f, 1, 0, 512, false), 1);
	assert_int_equal(f->ram[STAT], 1); /* VIRTIO_BLK_S_IOERR */
	uint8_t disk[512];
	assert_int_equal(pread(f->disk, disk, 512, 0), 512);
	for (int i = 0; i < 512; i++)
		assert_int_equal(disk[i], 0);
	assert_int_equal(request(f, 0, 0, 512, true), 513);
	assert_int_equal(f->ram[STAT], 0);
}

static void test_transport_refusals(void **state)
{
	fixture *f = *state;
	/* Reset, then features nobody offered: FEATURES_OK does not stick. */
	set(f, 0x070, 0);
	assert_int_equal(reg(f, 0x070), 0);
	set(f, 0x070, 3);
	set(f, 0x024, 0);
	set(f, 0x020, 1u << 30);
	set(f, 0x024, 1);
	set(f, 0x020, 1);
	set(f, 0x070, 3 | 8);
	assert_int_equal(reg(f, 0x070) & 8, 0);
	/* DRIVER_OK without FEATURES_OK is not accepted either. */
	set(f, 0x070, 3 | 4);
	assert_int_equal(reg(f, 0x070) & 4, 0);
	/* A queue size that is not a power of two asks for a reset. */
	set(f, 0x070, 0);
	set(f, 0x030, 0);
	set(f, 0x038, 6);
	set(f, 0x080, DESC);
	set(f, 0x090, AVAIL);
	set(f, 0x0a0, USED);
	set(f, 0x044, 1);
	assert_int_equal(reg(f, 0x044), 0);
	assert_int_equal(reg(f, 0x070) & VIRTIO_STATUS_NEEDS_RESET, VIRTIO_STATUS_NEEDS_RESET);
	/* Queue selectors beyond the device's queues are inert. */
	set(f, 0x030, 9);
	assert_int_equal(reg(f, 0x034), 0);
	set(f, 0x044, 1);
	set(f, 0x050, 9);
	/* Odd-sized register accesses are ignored. */
	uint16_t half = 0xffff;
	vs_virtio_mmio_write(f->dev, 0x070, &half, 2);
	assert_int_equal(reg(f, 0x070) & VIRTIO_STATUS_NEEDS_RESET, VIRTIO_STATUS_NEEDS_RESET);
	/* Reset clears it all. */
	set(f, 0x070, 0);
	assert_int_equal(reg(f, 0x070), 0);
}

static void test_ring_outside_ram(void **state)
{
	fixture *f = *state;
	set(f, 0x070, 0);
	set(f, 0x070, 3);
	set(f, 0x024, 1);
	set(f, 0x020, 1);
	set(f, 0x070, 3 | 8);
	set(f, 0x030, 0);
	set(f, 0x038, NUM);
	set(f, 0x080, RAM - 16);
	set(f, 0x090, AVAIL);
	set(f, 0x0a0, USED);
	set(f, 0x044, 1);
	assert_int_equal(reg(f, 0x044), 0);
	assert_int_equal(reg(f, 0x070) & VIRTIO_STATUS_NEEDS_RESET, VIRTIO_STATUS_NEEDS_RESET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_and_features, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_write_read, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_get_id, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(test_transport_refusals, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_ring_outside_ram, setup_rw, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
