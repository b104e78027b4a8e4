#include "vm/memory.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

int vs_mem_alloc(vs_guest_mem *m, uint64_t size, vs_err *err)
{
	memset(m, 0, sizeof(*m));
	if (size < (2ULL << 20))
		return vs_fail(err, 0, "guest memory must be at least 2 MiB");
	uint64_t low = size < VS_MEM_HOLE_START ? size : VS_MEM_HOLE_START;
	uint64_t high = size - low;
	struct {
		uint64_t gpa, size;
	} want[2] = { { 0, low }, { VS_MEM_HOLE_END, high } };
	for (int i = 0; i < 2; i++) {
		if (!want[i].size)
			continue;
		/* MAP_NORESERVE: untouched guest pages cost nothing on the host. */
		void *p = mmap(NULL, want[i].size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED) {
			int e = errno;
			m->owned = true;
			vs_mem_free(m);
			return vs_fail(err, e, "mapping %llu MiB of guest memory",
				       (unsigned long long)(want[i].size >> 20));
		}
		m->r[m->n++] = (vs_mem_region){ want[i].gpa, want[i].size, p };
	}
	m->ram_size = size;
	m->lowmem_end = low;
	m->owned = true;
	return 0;
}

void vs_mem_free(vs_guest_mem *m)
{
	if (m->owned)
		for (int i = 0; i < m->n; i++)
			munmap(m->r[i].hva, m->r[i].size);
	memset(m, 0, sizeof(*m));
}

void vs_mem_init_flat(vs_guest_mem *m, void *buf, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->r[0] = (vs_mem_region){ 0, size, buf };
	m->n = 1;
	m->ram_size = size;
	m->lowmem_end = size;
}

void *vs_mem_ptr(const vs_guest_mem *m, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < m->n; i++) {
		const vs_mem_region *r = &m->r[i];
		/* Written so that no sum can overflow. */
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		uint64_t off = gpa - r->gpa;
		if (len > r->size - off)
			return NULL;
		return r->hva + off;
	}
	return NULL;
}

int vs_mem_write(const vs_guest_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = vs_mem_ptr(m, gpa, len);
	if (!p)
		return -1;
	memcpy(p, src, len);
	return 0;
}

int vs_mem_read(const vs_guest_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
	void *p = vs_mem_ptr(m, gpa, len);
	if (!p)
		return -1;
	memcpy(dst, p, len);
	return 0;
}
