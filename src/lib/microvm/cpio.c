#include "microvm/cpio.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static const char zeros[4];

static int entry(vs_cpio *c, const char *name, mode_t mode, unsigned rmaj, unsigned rmin,
		 const void *data, size_t len, vs_err *err)
{
	size_t namesize = strlen(name) + 1;
	if (len > 0xffffffffu || namesize > 4096)
		return vs_fail(err, 0, "%s: %s: too large for a newc cpio entry", c->path, name);
	char hdr[111];
	/* magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
	 * devminor, rdevmajor, rdevminor, namesize, check */
	snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ++c->ino, (unsigned)mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u, (unsigned)len, 0u,
		 0u, rmaj, rmin, (unsigned)namesize, 0u);
	fwrite(hdr, 1, 110, c->f);
	fwrite(name, 1, namesize, c->f);
	/* Header plus name, then data, each padded to 4 bytes. */
	fwrite(zeros, 1, (4 - (110 + namesize) % 4) % 4, c->f);
	if (len) {
		fwrite(data, 1, len, c->f);
		fwrite(zeros, 1, (4 - len % 4) % 4, c->f);
	}
	if (ferror(c->f))
		return vs_fail_errno(err, "write %s", c->path);
	return 0;
}

int vs_cpio_dir(vs_cpio *c, const char *name, mode_t perm, vs_err *err)
{
	return entry(c, name, S_IFDIR | (perm & 07777), 0, 0, NULL, 0, err);
}

int vs_cpio_file(vs_cpio *c, const char *name, mode_t perm, const void *data, size_t len,
		 vs_err *err)
{
	return entry(c, name, S_IFREG | (perm & 07777), 0, 0, data, len, err);
}

int vs_cpio_chardev(vs_cpio *c, const char *name, mode_t perm, unsigned major, unsigned minor,
		    vs_err *err)
{
	return entry(c, name, S_IFCHR | (perm & 07777), major, minor, NULL, 0, err);
}

int vs_cpio_finish(vs_cpio *c, vs_err *err)
{
	c->ino = (unsigned)-1; /* the trailer's ino is 0 */
	if (entry(c, "TRAILER!!!", 0, 0, 0, NULL, 0, err) < 0)
		return -1;
	if (fflush(c->f) != 0 || ferror(c->f))
		return vs_fail_errno(err, "write %s", c->path);
	return 0;
}
