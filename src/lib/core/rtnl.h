/* The one rtnetlink request vessel makes, written against <linux/rtnetlink.h>.
 *
 * By hand rather than with libmnl: Debian ships libmnl only as a shared
 * library, and vessel's release binary is static because create and run
 * exec it twice (the sealed copy, core/sealed_exe.h), where each dynamic
 * exec costs about a millisecond. */
#ifndef VESSEL_CORE_RTNL_H
#define VESSEL_CORE_RTNL_H

#include "core/error.h"

/* An rtnetlink socket in the caller's network namespace, or -1 with err. */
int vs_rtnl_open(vs_err *err);

/* RTM_NEWLINK for ifindex: move it into the network namespace ns_fd and
 * name it `name` there, and wait for the kernel's answer. */
int vs_rtnl_move_link(int sock, int ifindex, int ns_fd, const char *name, vs_err *err);

#endif
