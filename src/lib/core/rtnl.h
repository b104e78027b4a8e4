/* rtnetlink requests, written by hand against <linux/rtnetlink.h>.
 *
 * By hand rather than with libmnl: Debian ships libmnl only as a shared
 * library, and vessel's release binary is static because create and run
 * exec it twice (the sealed copy, core/sealed_exe.h), where each dynamic
 * exec costs about a millisecond. */
#ifndef VESSEL_CORE_RTNL_H
#define VESSEL_CORE_RTNL_H

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

/* One request being built in a caller's buffer (aligned to NLMSG_ALIGNTO):
 * the netlink header, a fixed family header (ifinfomsg, tcmsg...), then
 * attributes. An attribute that does not fit sets `overflow`, and
 * vs_rtnl_send then refuses the request, so the builders need no checks. */
typedef struct vs_rtnl_req {
	struct nlmsghdr *h;
	size_t size;
	bool overflow;
} vs_rtnl_req;

void vs_rtnl_req_init(vs_rtnl_req *r, void *buf, size_t size, unsigned short type,
		      unsigned short flags, const void *fixed, size_t fixed_len);
void vs_rtnl_put(vs_rtnl_req *r, unsigned short type, const void *data, size_t len);
void vs_rtnl_put_str(vs_rtnl_req *r, unsigned short type, const char *s);
/* A nested attribute: put its members between begin and end. */
struct rtattr *vs_rtnl_nest_begin(vs_rtnl_req *r, unsigned short type);
void vs_rtnl_nest_end(vs_rtnl_req *r, struct rtattr *nest);

/* Send the request with NLM_F_ACK and wait for the kernel's answer: 0, or
 * -1 with the kernel's errno. `what` names the request in the error. */
int vs_rtnl_send(int sock, vs_rtnl_req *r, const char *what, vs_err *err);

/* An rtnetlink socket in the caller's network namespace, or -1 with err. */
int vs_rtnl_open(vs_err *err);

/* RTM_NEWLINK for ifindex: move it into the network namespace ns_fd and
 * name it `name` there, and wait for the kernel's answer. */
int vs_rtnl_move_link(int sock, int ifindex, int ns_fd, const char *name, vs_err *err);

/* RTM_NEWLINK for ifindex: its MAC (mac may be NULL), MTU (0: leave it)
 * and whether it is up. */
int vs_rtnl_link_set(int sock, int ifindex, const unsigned char *mac, unsigned mtu, bool up,
		     vs_err *err);

/* RTM_NEWADDR: addr (4 or 16 bytes for family AF_INET/AF_INET6)/prefix on
 * ifindex. */
int vs_rtnl_addr_add(int sock, int ifindex, int family, const void *addr, int prefix, vs_err *err);

/* RTM_NEWROUTE in the main table: dst/dst_len (dst NULL or dst_len 0: the
 * default route) via gw (may be NULL: on-link) out of oif (0: any). */
int vs_rtnl_route_add(int sock, int family, const void *dst, int dst_len, const void *gw, int oif,
		      vs_err *err);

#endif
