#include "vm/memory.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int vs_mem_alloc(vs_guest_mem *m, uint64_t size, vs_err *err)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (size < (2ULL << 20))
		return vs_fail(err, 0, "guest memory must be at least 2 MiB");
	/* A memfd, not anonymous memory: a vhost-user backend maps the same
	 * pages from it. The seals keep its size fixed for good, so nobody
	 * holding the fd can truncate it under our mappings (a SIGBUS in the
	 * VMM on the next guest access) or grow it. */
	m->fd = memfd_create("vessel-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (m->fd < 0)
		return vs_fail_errno(err, "memfd_create for guest memory");
	m->owned = true;
	if (ftruncate(m->fd, (off_t)size) < 0 ||
	    fcntl(m->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		int e = errno;
		vs_mem_free(m);
		return vs_fail(err, e, "sizing and sealing %llu MiB of guest memory",
			       (unsigned long long)(size >> 20));
	}
	uint64_t low = size < VS_MEM_HOLE_START ? size : VS_MEM_HOLE_START;
	uint64_t high = size - low;
	struct {
		uint64_t gpa, size;
	} want[2] = { { 0, low }, { VS_MEM_HOLE_END, high } };
	uint64_t off = 0;
	for (int i = 0; i < 2; i++) {
		if (!want[i].size)
			continue;
		/* Untouched guest pages cost nothing on the host: the memfd
		 * is sparse until the guest writes. */
		void *p = mmap(NULL, want[i].size, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_NORESERVE, m->fd, (off_t)off);
		if (p == MAP_FAILED) {
			int e = errno;
			vs_mem_free(m);
			return vs_fail(err, e, "mapping %llu MiB of guest memory",
				       (unsigned long long)(want[i].size >> 20));
		}
		m->r[m->n++] = (vs_mem_region){ want[i].gpa, want[i].size, p, off };
		off += want[i].size;
	}
	m->ram_size = size;
	m->lowmem_end = low;
	return 0;
}

void vs_mem_free(vs_guest_mem *m)
{
	if (m->owned) {
		for (int i = 0; i < m->n; i++)
			munmap(m->r[i].hva, m->r[i].size);
		if (m->fd >= 0)
			close(m->fd);
	}
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

void vs_mem_init_flat(vs_guest_mem *m, void *buf, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->r[0] = (vs_mem_region){ 0, size, buf, 0 };
	m->n = 1;
	m->fd = -1;
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
