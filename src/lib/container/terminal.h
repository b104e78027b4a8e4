/* process.terminal: a pty made inside the container (its own devpts), the
 * slave as the program's stdio and /dev/console, the master handed to the
 * runtime, which sends it over --console-socket as runc does or keeps it
 * for a foreground proxy. */
#ifndef VESSEL_CONTAINER_TERMINAL_H
#define VESSEL_CONTAINER_TERMINAL_H

#include <stdbool.h>

#include "core/error.h"
#include "oci/config.h"

/* Container side, once the root is the container's: open root_fd's
 * /dev/ptmx (never through a magic link), apply process.consoleSize, send
 * the master to the runtime over sync_fd (VS_SYNC_CONSOLE_FD), bind the
 * slave onto /dev/console if asked, and make it our controlling terminal
 * and fds 0-2. */
int vs_terminal_setup(int root_fd, const vs_process *p, int sync_fd, bool bind_console,
		      vs_err *err);

/* Runtime side, after VS_SYNC_CONSOLE_FD: receive the master; send it to
 * console_socket (one message: "/dev/ptmx" as payload, the fd in
 * SCM_RIGHTS) or, without one, store it in *keep for a foreground relay,
 * sized like our stdin's terminal unless has_size (process.consoleSize);
 * then let the container go on (VS_SYNC_CONSOLE_DONE). */
int vs_console_handoff(int sync_sock, const char *console_socket, int *keep, bool has_size,
		       vs_err *err);

#endif
