/* A newc ("070701") cpio archive writer, the format the kernel unpacks an
 * initramfs from. Written by hand: libarchive's static link would pull in
 * nettle, acl, xml2, lzma, zstd, lz4, bz2 and z for 110-byte ASCII headers.
 * Entries carry uid/gid 0 and mtime 0, so equal inputs give equal bytes. */
#ifndef VESSEL_MICROVM_CPIO_H
#define VESSEL_MICROVM_CPIO_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/error.h"

typedef struct vs_cpio {
	FILE *f;
	const char *path; /* for errors */
	unsigned ino;
} vs_cpio;

/* name: relative to the archive's root, no leading '/' ("lib/modules"). */
int vs_cpio_dir(vs_cpio *c, const char *name, mode_t perm, vs_err *err);
int vs_cpio_file(vs_cpio *c, const char *name, mode_t perm, const void *data, size_t len,
		 vs_err *err);
int vs_cpio_chardev(vs_cpio *c, const char *name, mode_t perm, unsigned major, unsigned minor,
		    vs_err *err);
/* The TRAILER!!! entry, and a check that every write went through. */
int vs_cpio_finish(vs_cpio *c, vs_err *err);

#endif
