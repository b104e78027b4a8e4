/* Guest physical memory: one sealed memfd, mapped MAP_SHARED in up to two
 * host mappings (below the 32-bit MMIO hole and above 4 GiB), so another
 * process (a vhost-user backend) can map the same pages from the fd. Every access the VMM makes on
 * the guest's behalf goes through vs_mem_ptr, which refuses ranges not wholly inside one region, so
 * a hostile address or length can never reach host memory outside guest RAM. */
#ifndef VESSEL_VM_MEMORY_H
#define VESSEL_VM_MEMORY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

#define VS_MEM_HOLE_START  0xc0000000ULL /* 3 GiB: devices live in [3 GiB, 4 GiB) */
#define VS_MEM_HOLE_END	   0x100000000ULL
#define VS_MEM_MAX_REGIONS 2

typedef struct vs_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	uint64_t fd_offset; /* where the region starts in the memfd */
} vs_mem_region;

typedef struct vs_guest_mem {
	vs_mem_region r[VS_MEM_MAX_REGIONS];
	int n;
	uint64_t ram_size;   /* total bytes of RAM */
	uint64_t lowmem_end; /* end of the region below the hole */
	bool owned;	     /* mappings (and fd) are ours to release */
	int fd;		     /* the memfd behind all regions; -1 for flat test memory */
} vs_guest_mem;

/* `size` bytes of RAM in a memfd sealed against shrinking and growing,
 * mapped shared, split around the hole. */
int vs_mem_alloc(vs_guest_mem *m, uint64_t size, vs_err *err);
void vs_mem_free(vs_guest_mem *m);

/* Describe caller-owned memory as guest RAM at gpa 0 (tests, fuzzing). */
void vs_mem_init_flat(vs_guest_mem *m, void *buf, uint64_t size);

/* Host pointer for [gpa, gpa+len) or NULL if any byte lies outside RAM or the
 * range crosses a region boundary. len 0 is valid inside RAM. */
void *vs_mem_ptr(const vs_guest_mem *m, uint64_t gpa, uint64_t len);

/* Copy into / out of guest memory with the same checks; -1 if out of range. */
int vs_mem_write(const vs_guest_mem *m, uint64_t gpa, const void *src, uint64_t len);
int vs_mem_read(const vs_guest_mem *m, uint64_t gpa, void *dst, uint64_t len);

#endif
