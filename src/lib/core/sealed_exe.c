#include "core/sealed_exe.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: say we mean to exec it (no dmesg warning) */
#endif

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

static bool fd_is_sealed(int fd)
{
	int s = fcntl(fd, F_GET_SEALS);
	return s >= 0 && (s & SEALS) == SEALS;
}

bool vs_self_is_sealed(void)
{
	vs_autoclose int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	return fd >= 0 && fd_is_sealed(fd);
}

static int sealed_copy(int src, vs_err *err)
{
	struct stat st;
	if (fstat(src, &st) < 0)
		return vs_fail_errno(err, "sealed copy of vessel: fstat /proc/self/exe");
	int fd = memfd_create("vessel", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (fd < 0 && errno == EINVAL) /* kernels before 6.3 */
		fd = memfd_create("vessel", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return vs_fail_errno(err, "sealed copy of vessel: memfd_create");
	off_t off = 0;
	while (off < st.st_size) {
		ssize_t n = sendfile(fd, src, &off, (size_t)(st.st_size - off));
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			close(fd);
			return vs_fail(err, e, "sealed copy of vessel: copy /proc/self/exe");
		}
	}
	if (fcntl(fd, F_ADD_SEALS, SEALS) < 0) {
		int e = errno;
		close(fd);
		return vs_fail(err, e, "sealed copy of vessel: seal memfd");
	}
	return fd;
}

int vs_reexec_sealed(char *const argv[], vs_err *err)
{
	vs_autoclose int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return vs_fail_errno(err, "sealed copy of vessel: open /proc/self/exe");
	if (fd_is_sealed(self))
		return 0;
	int fd = sealed_copy(self, err);
	if (fd < 0)
		return -1;
	/* fexecve of a close-on-exec fd works for an ELF binary (no #! to reopen it). */
	fexecve(fd, argv, environ);
	int e = errno;
	close(fd);
	return vs_fail(err, e, "sealed copy of vessel: fexecve");
}
