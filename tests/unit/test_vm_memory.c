/* Guest RAM lives in a sealed memfd mapped shared: a vhost-user backend maps
 * the same pages from the fd, and nobody holding the fd can resize it under
 * the VMM's mappings. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vm/memory.h"

#define MIB (1ULL << 20)

/* The /proc/self/maps line of the mapping that holds addr. */
static int maps_line(const void *addr, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return -1;
	char line[512];
	int found = -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && (uintptr_t)addr >= lo &&
		    (uintptr_t)addr < hi) {
			snprintf(out, len, "%s", line);
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

static void test_ram_is_a_sealed_shared_memfd(void **state)
{
	(void)state;
	vs_guest_mem m;
	vs_err err = { 0 };
	assert_int_equal(vs_mem_alloc(&m, 8 * MIB, &err), 0);
	assert_true(m.fd >= 0);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.r[0].fd_offset, 0);

	int seals = fcntl(m.fd, F_GET_SEALS);
	assert_true(seals >= 0);
	assert_true(seals & F_SEAL_SHRINK);
	assert_true(seals & F_SEAL_GROW);

	/* The attack: whoever holds the fd (a backend) shrinks it, so the
	 * VMM's next access to guest RAM dies of SIGBUS; or grows it. */
	assert_int_equal(ftruncate(m.fd, 4 * MIB), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(m.fd, 16 * MIB), -1);
	assert_int_equal(errno, EPERM);

	/* Shared both ways: what the VMM writes, the fd reads, and back. */
	assert_int_equal(vs_mem_write(&m, 0x1234, "vessel", 6), 0);
	char buf[8] = { 0 };
	assert_int_equal(pread(m.fd, buf, 6, 0x1234), 6);
	assert_string_equal(buf, "vessel");
	assert_int_equal(pwrite(m.fd, "backend", 7, 0x5000), 7);
	assert_memory_equal(vs_mem_ptr(&m, 0x5000, 7), "backend", 7);

	char line[512];
	assert_int_equal(maps_line(m.r[0].hva, line, sizeof(line)), 0);
	assert_non_null(strstr(line, "rw-s"));
	assert_non_null(strstr(line, "/memfd:vessel-guest-ram"));

	int fd = m.fd;
	vs_mem_free(&m);
	assert_int_equal(m.fd, -1);
	assert_int_equal(fcntl(fd, F_GETFD), -1); /* closed with the memory */
	assert_int_equal(errno, EBADF);
}

static void test_hole_keeps_one_fd_with_offsets(void **state)
{
	(void)state;
	vs_guest_mem m;
	vs_err err = { 0 };
	uint64_t size = VS_MEM_HOLE_START + 8 * MIB;
	assert_int_equal(vs_mem_alloc(&m, size, &err), 0);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.r[0].gpa, 0);
	assert_int_equal(m.r[0].size, VS_MEM_HOLE_START);
	assert_int_equal(m.r[1].gpa, VS_MEM_HOLE_END);
	assert_int_equal(m.r[1].size, 8 * MIB);
	assert_int_equal(m.r[1].fd_offset, VS_MEM_HOLE_START);
	/* Nothing maps the hole. */
	assert_null(vs_mem_ptr(&m, VS_MEM_HOLE_START, 1));
	/* The high region is the memfd right after the low one. */
	assert_int_equal(vs_mem_write(&m, VS_MEM_HOLE_END + 16, "high", 4), 0);
	char buf[5] = { 0 };
	assert_int_equal(pread(m.fd, buf, 4, (off_t)VS_MEM_HOLE_START + 16), 4);
	assert_string_equal(buf, "high");
	struct stat st;
	assert_int_equal(fstat(m.fd, &st), 0);
	assert_int_equal((uint64_t)st.st_size, size);
	vs_mem_free(&m);
}

static void test_flat_memory_has_no_fd(void **state)
{
	(void)state;
	static uint8_t ram[4096];
	vs_guest_mem m;
	vs_mem_init_flat(&m, ram, sizeof(ram));
	assert_int_equal(m.fd, -1);
	vs_mem_free(&m); /* not ours: nothing closed or unmapped */
	ram[0] = 1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ram_is_a_sealed_shared_memfd),
		cmocka_unit_test(test_hole_keeps_one_fd_with_offsets),
		cmocka_unit_test(test_flat_memory_has_no_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
