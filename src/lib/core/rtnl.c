#include "core/rtnl.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int vs_rtnl_open(vs_err *err)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return vs_fail_errno(err, "netlink socket");
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return vs_fail(err, e, "netlink bind");
	}
	return fd;
}

/* The kernel's answer to the request numbered seq: 0, or -1 with its errno. */
static int read_ack(int sock, unsigned seq, vs_err *err)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	for (;;) {
		ssize_t n = recv(sock, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vs_fail_errno(err, "netlink receive");
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
				return vs_fail(err, EPROTO, "netlink: short error message");
			const struct nlmsgerr *e = NLMSG_DATA(h);
			if (e->error)
				return vs_fail(err, -e->error, "netlink");
			return 0;
		}
	}
}

void vs_rtnl_req_init(vs_rtnl_req *r, void *buf, size_t size, unsigned short type,
		      unsigned short flags, const void *fixed, size_t fixed_len)
{
	memset(buf, 0, size);
	r->h = buf;
	r->size = size;
	r->overflow = NLMSG_LENGTH(fixed_len) > size;
	if (r->overflow)
		return;
	r->h->nlmsg_len = NLMSG_LENGTH(fixed_len);
	r->h->nlmsg_type = type;
	r->h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	memcpy(NLMSG_DATA(r->h), fixed, fixed_len);
}

void vs_rtnl_put(vs_rtnl_req *r, unsigned short type, const void *data, size_t len)
{
	size_t at = NLMSG_ALIGN(r->h->nlmsg_len);
	if (r->overflow || RTA_LENGTH(len) > 0xffff || at + RTA_SPACE(len) > r->size) {
		r->overflow = true;
		return;
	}
	struct rtattr *a = (struct rtattr *)((char *)r->h + at);
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->h->nlmsg_len = (uint32_t)(at + RTA_ALIGN(a->rta_len));
}

void vs_rtnl_put_str(vs_rtnl_req *r, unsigned short type, const char *s)
{
	vs_rtnl_put(r, type, s, strlen(s) + 1);
}

struct rtattr *vs_rtnl_nest_begin(vs_rtnl_req *r, unsigned short type)
{
	struct rtattr *a = (struct rtattr *)((char *)r->h + NLMSG_ALIGN(r->h->nlmsg_len));
	vs_rtnl_put(r, type | NLA_F_NESTED, NULL, 0);
	return r->overflow ? NULL : a;
}

void vs_rtnl_nest_end(vs_rtnl_req *r, struct rtattr *nest)
{
	if (r->overflow || !nest)
		return;
	size_t len = (size_t)((char *)r->h + r->h->nlmsg_len - (char *)nest);
	if (len > 0xffff) {
		r->overflow = true;
		return;
	}
	nest->rta_len = (unsigned short)len;
}

int vs_rtnl_send(int sock, vs_rtnl_req *r, const char *what, vs_err *err)
{
	if (r->overflow)
		return vs_fail(err, EMSGSIZE, "netlink: %s: request too large", what);
	static unsigned counter;
	unsigned seq = (unsigned)time(NULL) + ++counter;
	r->h->nlmsg_seq = seq;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t n;
	do
		n = sendto(sock, r->h, r->h->nlmsg_len, 0, (struct sockaddr *)&kernel,
			   sizeof(kernel));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return vs_fail_errno(err, "netlink send");
	if (read_ack(sock, seq, err) < 0)
		return vs_err_wrap(err, "%s", what);
	return 0;
}

int vs_rtnl_move_link(int sock, int ifindex, int ns_fd, const char *name, vs_err *err)
{
	size_t nlen = strlen(name) + 1;
	if (nlen > IFNAMSIZ)
		return vs_fail(err, ENAMETOOLONG, "interface name %s", name);
	char buf[NLMSG_SPACE(sizeof(struct ifinfomsg)) + 2 * RTA_SPACE(IFNAMSIZ)]
		__attribute__((aligned(NLMSG_ALIGNTO)));
	struct ifinfomsg ifm = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	vs_rtnl_req r;
	vs_rtnl_req_init(&r, buf, sizeof(buf), RTM_NEWLINK, 0, &ifm, sizeof(ifm));
	uint32_t fd = (uint32_t)ns_fd;
	vs_rtnl_put(&r, IFLA_NET_NS_FD, &fd, sizeof(fd));
	vs_rtnl_put(&r, IFLA_IFNAME, name, nlen);
	char what[64];
	snprintf(what, sizeof(what), "move to the namespace as %s", name);
	return vs_rtnl_send(sock, &r, what, err);
}

int vs_rtnl_link_set(int sock, int ifindex, const unsigned char *mac, unsigned mtu, bool up,
		     vs_err *err)
{
	char buf[NLMSG_SPACE(sizeof(struct ifinfomsg)) + 2 * RTA_SPACE(8)]
		__attribute__((aligned(NLMSG_ALIGNTO)));
	struct ifinfomsg ifm = { .ifi_family = AF_UNSPEC,
				 .ifi_index = ifindex,
				 .ifi_flags = up ? IFF_UP : 0,
				 .ifi_change = IFF_UP };
	vs_rtnl_req r;
	vs_rtnl_req_init(&r, buf, sizeof(buf), RTM_NEWLINK, 0, &ifm, sizeof(ifm));
	if (mac)
		vs_rtnl_put(&r, IFLA_ADDRESS, mac, 6);
	if (mtu) {
		uint32_t m = mtu;
		vs_rtnl_put(&r, IFLA_MTU, &m, sizeof(m));
	}
	return vs_rtnl_send(sock, &r, up ? "set link up" : "set link", err);
}

static size_t addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

int vs_rtnl_addr_add(int sock, int ifindex, int family, const void *addr, int prefix, vs_err *err)
{
	char buf[NLMSG_SPACE(sizeof(struct ifaddrmsg)) + 2 * RTA_SPACE(16)]
		__attribute__((aligned(NLMSG_ALIGNTO)));
	struct ifaddrmsg ifa = { .ifa_family = (unsigned char)family,
				 .ifa_prefixlen = (unsigned char)prefix,
				 .ifa_index = (unsigned)ifindex };
	vs_rtnl_req r;
	vs_rtnl_req_init(&r, buf, sizeof(buf), RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &ifa,
			 sizeof(ifa));
	vs_rtnl_put(&r, IFA_LOCAL, addr, addr_len(family));
	vs_rtnl_put(&r, IFA_ADDRESS, addr, addr_len(family));
	return vs_rtnl_send(sock, &r, "add address", err);
}

int vs_rtnl_route_add(int sock, int family, const void *dst, int dst_len, const void *gw, int oif,
		      vs_err *err)
{
	char buf[NLMSG_SPACE(sizeof(struct rtmsg)) + 3 * RTA_SPACE(16)]
		__attribute__((aligned(NLMSG_ALIGNTO)));
	struct rtmsg rtm = { .rtm_family = (unsigned char)family,
			     .rtm_dst_len = (unsigned char)(dst ? dst_len : 0),
			     .rtm_table = RT_TABLE_MAIN,
			     .rtm_protocol = RTPROT_BOOT,
			     .rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
			     .rtm_type = RTN_UNICAST };
	vs_rtnl_req r;
	vs_rtnl_req_init(&r, buf, sizeof(buf), RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &rtm,
			 sizeof(rtm));
	if (dst && dst_len)
		vs_rtnl_put(&r, RTA_DST, dst, addr_len(family));
	if (gw)
		vs_rtnl_put(&r, RTA_GATEWAY, gw, addr_len(family));
	if (oif) {
		uint32_t o = (uint32_t)oif;
		vs_rtnl_put(&r, RTA_OIF, &o, sizeof(o));
	}
	return vs_rtnl_send(sock, &r, "add route", err);
}
