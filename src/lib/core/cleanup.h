/* Scope-bound cleanup (gcc/clang `cleanup` attribute) so error paths cannot
 * leak fds or memory. Use `vs_autofree char *p`, `vs_autoclose int fd = -1`. */
#ifndef VESSEL_CORE_CLEANUP_H
#define VESSEL_CORE_CLEANUP_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static inline void vs_freep(void *p)
{
	free(*(void **)p);
}

static inline void vs_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

#define vs_autofree  __attribute__((cleanup(vs_freep)))
#define vs_autoclose __attribute__((cleanup(vs_closep)))

/* Hand ownership out of an auto-cleaned variable. */
static inline int vs_steal_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}

static inline void *vs_steal_ptr(void *pp)
{
	void **p = pp;
	void *r = *p;
	*p = NULL;
	return r;
}

#endif
