/* Passing an fd over a unix socket (SCM_RIGHTS), with a payload. */
#ifndef VESSEL_CORE_FDPASS_H
#define VESSEL_CORE_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

/* One sendmsg of data[0..len) with fd attached; retried on EINTR, never
 * raises SIGPIPE. Returns the bytes sent (maybe fewer than len) or -1. */
ssize_t vs_send_fd(int sock, const void *data, size_t len, int fd);

#endif
