/* Control file I/O shared by the writers, stats and freezer. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/internal.h"
#include "core/cleanup.h"
#include "core/fs.h"

static int fail_file(const char *ctrl, const char *dir, const char *file, const char *what,
		     vs_err *err)
{
	int e = errno;
	if (e == ENOENT)
		return vs_fail(
			err, 0,
			"cgroup %s: %s/%s does not exist (this host's %s controller lacks it)%s%s",
			ctrl, dir, file, ctrl, what ? ": cannot set " : "", what ? what : "");
	if (what)
		return vs_fail(err, e, "cgroup %s: write \"%s\" to %s/%s", ctrl, what, dir, file);
	return vs_fail(err, e, "cgroup %s: open %s/%s", ctrl, dir, file);
}

int vs_cg_open(const char *ctrl, const char *dir, const char *file, vs_err *err)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return vs_fail(err, ENAMETOOLONG, "cgroup %s: %s/%s", ctrl, dir, file);
	/* O_TRUNC is what a shell's ">" does; cgroupfs ignores it, a fake tree needs it. */
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return fail_file(ctrl, dir, file, NULL, err);
	return fd;
}

int vs_cg_write_line(int fd, const char *ctrl, const char *dir, const char *file, const char *line,
		     vs_err *err)
{
	char buf[4096];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return vs_fail(err, E2BIG, "cgroup %s: value for %s/%s", ctrl, dir, file);
	ssize_t w;
	do
		w = write(fd, buf, (size_t)n);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return fail_file(ctrl, dir, file, line, err);
	if (w != n)
		return vs_fail(err, EIO, "cgroup %s: short write of \"%s\" to %s/%s", ctrl, line,
			       dir, file);
	return 0;
}

int vs_cg_write(const char *ctrl, const char *dir, const char *file, const char *val, vs_err *err)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return vs_fail(err, ENAMETOOLONG, "cgroup %s: %s/%s", ctrl, dir, file);
	vs_autoclose int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return fail_file(ctrl, dir, file, val, err);
	return vs_cg_write_line(fd, ctrl, dir, file, val, err);
}

int vs_cg_writef(const char *ctrl, const char *dir, const char *file, vs_err *err, const char *fmt,
		 ...)
{
	char val[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(val))
		return vs_fail(err, E2BIG, "cgroup %s: value for %s/%s", ctrl, dir, file);
	return vs_cg_write(ctrl, dir, file, val, err);
}

bool vs_cg_exists(const char *dir, const char *file)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

char *vs_cg_read(const char *dir, const char *file)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return NULL;
	char *text = NULL;
	if (vs_read_file(path, &text, NULL, NULL) < 0)
		return NULL;
	return text;
}

static int parse_u64(const char *s, uint64_t *v)
{
	while (*s == ' ' || *s == '\t')
		s++;
	if (!strncmp(s, "max", 3)) {
		*v = UINT64_MAX;
		return 0;
	}
	char *end;
	errno = 0;
	/* v1 reports "unlimited" as -1 in a few files (cfs_quota_us). */
	if (*s == '-') {
		long long n = strtoll(s, &end, 10);
		if (errno || end == s)
			return -1;
		*v = n < 0 ? UINT64_MAX : (uint64_t)n;
		return 0;
	}
	unsigned long long n = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	*v = n;
	return 0;
}

int vs_cg_read_u64(const char *dir, const char *file, uint64_t *v)
{
	vs_autofree char *text = vs_cg_read(dir, file);
	if (!text)
		return -1;
	return parse_u64(text, v);
}

int vs_cg_read_key(const char *dir, const char *file, const char *key, uint64_t *v)
{
	vs_autofree char *text = vs_cg_read(dir, file);
	if (!text)
		return -1;
	size_t kl = strlen(key);
	for (char *p = text; p && *p;) {
		/* Keys can be whole lines ("oom_kill 3") or fields ("rbytes=12"). */
		if (!strncmp(p, key, kl) && (p[kl] == ' ' || p[kl] == '=') &&
		    (p == text || p[-1] == '\n' || p[-1] == ' '))
			return parse_u64(p + kl + 1, v);
		p = strpbrk(p, " \n");
		if (p)
			p++;
	}
	return -1;
}

void vs_cg_number(int64_t v, const char *negative, char *buf, size_t len)
{
	if (v < 0)
		snprintf(buf, len, "%s", negative);
	else
		snprintf(buf, len, "%" PRId64, v);
}
