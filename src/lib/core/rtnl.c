#include "core/rtnl.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdint.h>
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

static void put_attr(struct nlmsghdr *h, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
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

int vs_rtnl_move_link(int sock, int ifindex, int ns_fd, const char *name, vs_err *err)
{
	size_t nlen = strlen(name) + 1;
	if (nlen > IFNAMSIZ)
		return vs_fail(err, ENAMETOOLONG, "interface name %s", name);
	char buf[NLMSG_SPACE(sizeof(struct ifinfomsg)) + 2 * RTA_SPACE(IFNAMSIZ)]
		__attribute__((aligned(NLMSG_ALIGNTO)));
	memset(buf, 0, sizeof(buf));
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	static unsigned counter;
	unsigned seq = (unsigned)time(NULL) + ++counter;
	h->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	h->nlmsg_type = RTM_NEWLINK;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = seq;
	struct ifinfomsg *ifm = NLMSG_DATA(h);
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	uint32_t fd = (uint32_t)ns_fd;
	put_attr(h, IFLA_NET_NS_FD, &fd, sizeof(fd));
	put_attr(h, IFLA_IFNAME, name, nlen);
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t r;
	do
		r = sendto(sock, buf, h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return vs_fail_errno(err, "netlink send");
	if (read_ack(sock, seq, err) < 0)
		return vs_err_wrap(err, "move to the namespace as %s", name);
	return 0;
}
