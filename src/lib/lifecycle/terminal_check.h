/* The terminal rules every backend shares, as runc: a detached
 * process.terminal needs a receiver for its master (--console-socket, or
 * a foreground proxy), and --console-socket needs a terminal to send. */
#ifndef VESSEL_LIFECYCLE_TERMINAL_CHECK_H
#define VESSEL_LIFECYCLE_TERMINAL_CHECK_H

#include "core/error.h"
#include "lifecycle/backend.h"
#include "oci/config.h"

int vs_create_check_terminal(const vs_config *cfg, const vs_create_opts *opts, vs_err *err);

#endif
