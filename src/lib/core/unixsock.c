/* Unix stream sockets by path (unixsock.h). */
#include "core/unixsock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/fdpass.h"

int vs_unix_addr(struct sockaddr_un *sa, const char *path, const char *what, vs_err *err)
{
	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa->sun_path))
		return vs_fail(err, ENAMETOOLONG, "%s %s", what, path);
	strcpy(sa->sun_path, path);
	return 0;
}

int vs_unix_listen(const char *path, int backlog, const char *what, vs_err *err)
{
	struct sockaddr_un sa;
	if (vs_unix_addr(&sa, path, what, err) < 0)
		return -1;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return vs_fail_errno(err, "socket");
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, backlog) < 0) {
		vs_fail_errno(err, "listen on %s", path);
		close(s);
		return -1;
	}
	return s;
}

int vs_console_socket_send(const char *path, int fd, vs_err *err)
{
	struct sockaddr_un sa;
	if (vs_unix_addr(&sa, path, "--console-socket", err) < 0)
		return -1;
	vs_autoclose int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return vs_fail_errno(err, "--console-socket %s: connect", path);
	static const char name[] = "/dev/ptmx";
	if (vs_send_fd(s, name, sizeof(name) - 1, fd) < 0)
		return vs_fail_errno(err, "--console-socket %s: send the pty master", path);
	return 0;
}
