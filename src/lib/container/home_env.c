#include "container/home_env.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/resolve.h"
#include "core/strv.h"

/* The image is untrusted: a passwd larger than this is not a passwd. */
#define PASSWD_MAX (4 << 20)

/* "name:pw:uid:gid:gecos:home:shell": the home of the line for uid, if any. */
static bool home_in_line(const char *line, size_t n, uid_t uid, char *out, size_t len)
{
	const char *f[7];
	size_t flen[7];
	int nf = 0;
	const char *p = line, *end = line + n;
	while (nf < 7) {
		const char *c = memchr(p, ':', (size_t)(end - p));
		f[nf] = p;
		flen[nf++] = (size_t)((c ? c : end) - p);
		if (!c)
			break;
		p = c + 1;
	}
	if (nf < 6 || flen[2] == 0 || flen[2] > 10)
		return false;
	char num[16];
	memcpy(num, f[2], flen[2]);
	num[flen[2]] = '\0';
	char *e;
	errno = 0;
	unsigned long v = strtoul(num, &e, 10);
	if (errno || *e || num[0] == '-' || v != (unsigned long)uid)
		return false;
	if (flen[5] == 0 || flen[5] >= len)
		return false;
	memcpy(out, f[5], flen[5]);
	out[flen[5]] = '\0';
	return true;
}

int vs_home_of_uid(int root_fd, uid_t uid, char *out, size_t len, vs_err *err)
{
	snprintf(out, len, "/");
	vs_err ignored = { 0 };
	/* O_NONBLOCK: a FIFO planted as /etc/passwd must not hang the init. */
	vs_autoclose int fd =
		vs_open_read_in_root(root_fd, "/etc/passwd", O_NONBLOCK | O_NOCTTY, &ignored);
	if (fd < 0)
		return ignored.errnum == ENOENT || ignored.errnum == ENOTDIR
			       ? 0
			       : vs_fail(err, ignored.errnum, "HOME: %s", ignored.msg);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return vs_fail_errno(err, "HOME: stat /etc/passwd");
	if (!S_ISREG(st.st_mode))
		return vs_fail(err, EINVAL, "HOME: /etc/passwd is not a regular file");
	if (st.st_size > PASSWD_MAX)
		return vs_fail(err, EFBIG, "HOME: /etc/passwd is larger than %d bytes", PASSWD_MAX);
	vs_autofree char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return vs_fail(err, ENOMEM, "HOME: read /etc/passwd");
	size_t n = 0;
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return vs_fail_errno(err, "HOME: read /etc/passwd");
		if (r == 0)
			break;
		n += (size_t)r;
	}
	for (size_t off = 0; off < n;) {
		const char *nl = memchr(buf + off, '\n', n - off);
		size_t llen = (nl ? (size_t)(nl - buf) : n) - off;
		if (home_in_line(buf + off, llen, uid, out, len))
			return 0;
		off += llen + 1;
	}
	return 0;
}

int vs_env_with_home(char *const *env, int root_fd, uid_t uid, char ***out, vs_err *err)
{
	*out = NULL;
	size_t n = 0;
	for (; env && env[n]; n++)
		if (!strncmp(env[n], "HOME=", 5))
			return 0;
	char home[4096];
	if (vs_home_of_uid(root_fd, uid, home, sizeof(home), err) < 0)
		return -1;
	char **v = calloc(n + 2, sizeof(char *));
	if (!v)
		return vs_fail(err, ENOMEM, "HOME");
	for (size_t i = 0; i < n; i++)
		if (!(v[i] = strdup(env[i]))) {
			vs_strv_free(v);
			return vs_fail(err, ENOMEM, "HOME");
		}
	if (asprintf(&v[n], "HOME=%s", home) < 0) {
		v[n] = NULL;
		vs_strv_free(v);
		return vs_fail(err, ENOMEM, "HOME");
	}
	*out = v;
	return 0;
}
