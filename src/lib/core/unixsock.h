/* Unix stream sockets by path: the one length check, listeners, and the
 * runc console-socket hand-off, each said the same way everywhere. */
#ifndef VESSEL_CORE_UNIXSOCK_H
#define VESSEL_CORE_UNIXSOCK_H

#include <sys/un.h>

#include "core/error.h"

/* Fill *sa with path; a path too long for sun_path fails ENAMETOOLONG as
 * "WHAT PATH". */
int vs_unix_addr(struct sockaddr_un *sa, const char *path, const char *what, vs_err *err);

/* A close-on-exec stream socket bound to path and listening with backlog;
 * returns the fd or -1 (nothing left open). what names it as in
 * vs_unix_addr. */
int vs_unix_listen(const char *path, int backlog, const char *what, vs_err *err);

/* As runc: connect to --console-socket path and send the pty master fd
 * there in one message, "/dev/ptmx" as payload and fd in SCM_RIGHTS. */
int vs_console_socket_send(const char *path, int fd, vs_err *err);

#endif
