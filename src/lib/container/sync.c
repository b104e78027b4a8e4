#include "container/sync.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

int vs_sync_send(int fd, int type, const vs_err *e)
{
	vs_sync_msg m = { .type = type };
	if (e) {
		m.errnum = e->errnum;
		memcpy(m.msg, e->msg, sizeof(m.msg));
	}
	ssize_t r;
	do
		r = send(fd, &m, sizeof(m), MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)sizeof(m) ? 0 : -1;
}

int vs_sync_recv(int fd, vs_sync_msg *m, vs_err *err)
{
	ssize_t r;
	do
		r = recv(fd, m, sizeof(*m), 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return vs_fail_errno(err, "sync with container init");
	if (r == 0)
		return vs_fail(err, 0, "container init exited during setup");
	if (r != (ssize_t)sizeof(*m))
		return vs_fail(err, 0, "sync with container init: short message");
	m->msg[sizeof(m->msg) - 1] = '\0';
	return 0;
}
