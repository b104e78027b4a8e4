/* The container's interface, read for the agent's network request
 * (netinfo.h): a child enters the namespace and dumps it with rtnetlink,
 * and sends the fields back as JSON (the parent never changes namespace). */
#include "microvm/netinfo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/rtnl.h"

#define DUMP_BUF 32768

static json_object *cidr(int family, const void *addr, int prefix)
{
	char s[INET6_ADDRSTRLEN + 8];
	if (!inet_ntop(family, addr, s, INET6_ADDRSTRLEN))
		return NULL;
	if (prefix >= 0)
		snprintf(s + strlen(s), 8, "/%d", prefix);
	return json_object_new_string(s);
}

/* One RTM_GET* dump, each message given to fn. */
static int dump(int nl, unsigned short type, int family, void (*fn)(struct nlmsghdr *h, void *arg),
		void *arg)
{
	struct {
		struct nlmsghdr h;
		struct rtgenmsg g;
	} req = { .h = { .nlmsg_len = sizeof(req),
			 .nlmsg_type = type,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			 .nlmsg_seq = 1 },
		  .g = { .rtgen_family = (unsigned char)family } };
	if (send(nl, &req, sizeof(req), 0) < 0)
		return -1;
	static char buf[DUMP_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	for (;;) {
		ssize_t n = recv(nl, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -1;
			fn(h, arg);
		}
	}
}

typedef struct collect {
	int ifindex;
	json_object *list;
} collect;

static void on_addr(struct nlmsghdr *h, void *arg)
{
	collect *c = arg;
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	if (h->nlmsg_type != RTM_NEWADDR || (int)ifa->ifa_index != c->ifindex ||
	    ifa->ifa_scope != RT_SCOPE_UNIVERSE)
		return;
	int len = (int)IFA_PAYLOAD(h);
	const void *addr = NULL;
	for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == IFA_ADDRESS || (a->rta_type == IFA_LOCAL && !addr))
			addr = RTA_DATA(a);
	json_object *s = addr ? cidr(ifa->ifa_family, addr, ifa->ifa_prefixlen) : NULL;
	if (s)
		json_object_array_add(c->list, s);
}

static void on_route(struct nlmsghdr *h, void *arg)
{
	collect *c = arg;
	struct rtmsg *rt = NLMSG_DATA(h);
	if (h->nlmsg_type != RTM_NEWROUTE || rt->rtm_table != RT_TABLE_MAIN ||
	    rt->rtm_type != RTN_UNICAST || rt->rtm_protocol == RTPROT_KERNEL)
		return;
	int len = (int)RTM_PAYLOAD(h), oif = 0;
	const void *dst = NULL, *gw = NULL;
	for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_DST)
			dst = RTA_DATA(a);
		else if (a->rta_type == RTA_GATEWAY)
			gw = RTA_DATA(a);
		else if (a->rta_type == RTA_OIF)
			oif = *(int *)RTA_DATA(a);
	}
	if (oif != c->ifindex)
		return;
	json_object *r = json_object_new_object();
	json_object_object_add(r, "dst",
			       rt->rtm_dst_len && dst ? cidr(rt->rtm_family, dst, rt->rtm_dst_len)
						      : json_object_new_string("default"));
	if (gw)
		json_object_object_add(r, "gateway", cidr(rt->rtm_family, gw, -1));
	json_object_object_add(r, "dev", json_object_new_string("eth0"));
	json_object_array_add(c->list, r);
}

/* In the child, in the namespace: the fields as a JSON string, or NULL
 * (no such interface: "null"). */
static char *read_fields(const char *ifname)
{
	int idx = (int)if_nametoindex(ifname);
	if (!idx)
		return strdup("null");
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
		return NULL;
	const unsigned char *m = (const unsigned char *)ifr.ifr_hwaddr.sa_data;
	char mac[18];
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
		 m[5]);
	if (ioctl(s, SIOCGIFMTU, &ifr) < 0)
		return NULL;
	close(s);
	vs_err err;
	int nl = vs_rtnl_open(&err);
	if (nl < 0)
		return NULL;
	collect addrs = { idx, json_object_new_array() }, routes = { idx, json_object_new_array() };
	if (dump(nl, RTM_GETADDR, AF_UNSPEC, on_addr, &addrs) < 0 ||
	    dump(nl, RTM_GETROUTE, AF_INET, on_route, &routes) < 0 ||
	    dump(nl, RTM_GETROUTE, AF_INET6, on_route, &routes) < 0)
		return NULL;
	close(nl);
	json_object *iface = json_object_new_object();
	json_object_object_add(iface, "name", json_object_new_string("eth0"));
	json_object_object_add(iface, "mac", json_object_new_string(mac));
	json_object_object_add(iface, "mtu", json_object_new_int(ifr.ifr_mtu));
	json_object_object_add(iface, "addresses", addrs.list);
	json_object *f = json_object_new_object(), *ifs = json_object_new_array();
	json_object_array_add(ifs, iface);
	json_object_object_add(f, "interfaces", ifs);
	json_object_object_add(f, "routes", routes.list);
	char *out = strdup(json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN));
	json_object_put(f);
	return out;
}

int vs_microvm_netinfo(pid_t pid, const char *ifname, json_object **fields, vs_err *err)
{
	*fields = NULL;
	char ns[64];
	snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int)pid);
	vs_autoclose int nsfd = open(ns, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return vs_fail_errno(err, "open %s", ns);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return vs_fail_errno(err, "pipe");
	pid_t c = fork();
	if (c < 0) {
		close(p[0]);
		close(p[1]);
		return vs_fail_errno(err, "fork");
	}
	if (c == 0) {
		close(p[0]);
		char *s = setns(nsfd, CLONE_NEWNET) == 0 ? read_fields(ifname) : NULL;
		size_t n = s ? strlen(s) : 0, off = 0;
		while (off < n) {
			ssize_t w = write(p[1], s + off, n - off);
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		_exit(s ? 0 : 1);
	}
	close(p[1]);
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = len + 8192);
			if (!nb)
				break;
			buf = nb;
		}
		ssize_t r = read(p[0], buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(p[0]);
	int st = 0;
	while (waitpid(c, &st, 0) < 0 && errno == EINTR)
		;
	if (!buf || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		free(buf);
		return vs_fail(err, EIO, "microvm: reading %s in the network namespace of pid %d",
			       ifname, (int)pid);
	}
	buf[len] = '\0';
	json_object *f = json_tokener_parse(buf);
	free(buf);
	if (f && json_object_is_type(f, json_type_object))
		*fields = f;
	else
		json_object_put(f);
	return 0;
}
