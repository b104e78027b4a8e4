#include "microvm/relay_seccomp.h"

#include <errno.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>

/* backend_exec.c's relay_run, pump, drain, send_size and forward_signal,
 * the agent client's frames (recv/send on connected sockets, json-c's
 * malloc), dprintf and _exit; and what ASan's runtime calls on the way. */
static const int allowed[] = {
	SCMP_SYS(read),		SCMP_SYS(write),       SCMP_SYS(readv),
	SCMP_SYS(writev),	SCMP_SYS(recvfrom),    SCMP_SYS(recvmsg),
	SCMP_SYS(sendto),	SCMP_SYS(sendmsg),     SCMP_SYS(poll),
	SCMP_SYS(ppoll),	SCMP_SYS(close),       SCMP_SYS(shutdown),
	SCMP_SYS(fstat),	SCMP_SYS(newfstatat),  SCMP_SYS(clock_gettime),
	SCMP_SYS(brk),		SCMP_SYS(mmap),	       SCMP_SYS(munmap),
	SCMP_SYS(mremap),	SCMP_SYS(mprotect),    SCMP_SYS(madvise),
	SCMP_SYS(futex),	SCMP_SYS(getrandom),   SCMP_SYS(getpid),
	SCMP_SYS(gettid),	SCMP_SYS(sched_yield), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall),
	SCMP_SYS(exit),		SCMP_SYS(exit_group),
};

/* The host pty's size, read to send on as `resize`; a terminal's attrs. */
static const unsigned long allowed_ioctls[] = { TIOCGWINSZ, TCGETS };

int vs_relay_seccomp_apply(vs_err *err)
{
	/* EPERM, not a kill: a relay on a path the list missed fails that one
	 * call (and says so) instead of dying with the exit status unsent;
	 * what matters is that open, connect, kill and execve never succeed. */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return vs_fail(err, ENOMEM, "relay seccomp filter");
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* The kernel takes ioctl's request as 32 bits: compare those only. */
	for (size_t i = 0; rc == 0 && i < sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, allowed_ioctls[i]));
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc < 0 ? vs_fail(err, -rc, "relay seccomp filter") : 0;
}
