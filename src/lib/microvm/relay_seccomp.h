/* The host-side relay's seccomp allow-list (docs/microvm.md "The relay
 * trusts the agent little"): once forked, with its fds in hand and its
 * capabilities gone, a relay reads, writes, polls and exits. Nothing that
 * names a path, dials, signals or execs is left to it. */
#ifndef VESSEL_MICROVM_RELAY_SECCOMP_H
#define VESSEL_MICROVM_RELAY_SECCOMP_H

#include "core/error.h"

/* Load the filter on the calling thread; needs no_new_privs or
 * CAP_SYS_ADMIN. A call outside the list fails with EPERM. */
int vs_relay_seccomp_apply(vs_err *err);

#endif
