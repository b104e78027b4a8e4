#include "net/tcredirect.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>

#include "core/rtnl.h"

#define REQ_SIZE      1024
#define FILTER_PRIO   1
#define INGRESS_QDISC TC_H_MAKE(TC_H_INGRESS, 0) /* ffff: */

static int open_tap(int tun_fd, const char *name, bool persistent, vs_err *err)
{
	struct ifreq ifr = { 0 };
	if (strlen(name) >= IFNAMSIZ || !*name)
		return vs_fail(err, EINVAL, "tap name \"%s\": 1-%d bytes", name, IFNAMSIZ - 1);
	int fd = tun_fd >= 0 ? fcntl(tun_fd, F_DUPFD_CLOEXEC, 0)
			     : open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return vs_fail_errno(err, "open /dev/net/tun");
	memcpy(ifr.ifr_name, name, strlen(name));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	/* TUNSETIFF attaches to an existing tap of that name: refuse one that
	 * is already there, so teardown never removes a device it did not make. */
	if (if_nametoindex(name)) {
		close(fd);
		return vs_fail(err, EEXIST, "tap %s", name);
	}
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		close(fd);
		return vs_fail(err, e, "tap %s: TUNSETIFF", name);
	}
	if (persistent && ioctl(fd, TUNSETPERSIST, 1) < 0) {
		int e = errno;
		close(fd);
		return vs_fail(err, e, "tap %s: TUNSETPERSIST", name);
	}
	return fd;
}

static int link_up(int nl, int ifindex, const char *name, vs_err *err)
{
	char buf[REQ_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct ifinfomsg ifm = { .ifi_family = AF_UNSPEC,
				 .ifi_index = ifindex,
				 .ifi_flags = IFF_UP,
				 .ifi_change = IFF_UP };
	vs_rtnl_req r;
	vs_rtnl_req_init(&r, buf, sizeof(buf), RTM_NEWLINK, 0, &ifm, sizeof(ifm));
	char what[64];
	snprintf(what, sizeof(what), "set %s up", name);
	return vs_rtnl_send(nl, &r, what, err);
}

static int del_link(int nl, int ifindex, const char *name, vs_err *err)
{
	char buf[REQ_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct ifinfomsg ifm = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	vs_rtnl_req r;
	vs_rtnl_req_init(&r, buf, sizeof(buf), RTM_DELLINK, 0, &ifm, sizeof(ifm));
	char what[64];
	snprintf(what, sizeof(what), "delete %s", name);
	return vs_rtnl_send(nl, &r, what, err);
}

/* `tc qdisc add|del dev IFINDEX ingress` */
static int ingress_qdisc(int nl, unsigned short type, int ifindex, const char *name, vs_err *err)
{
	char buf[REQ_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct tcmsg tcm = { .tcm_family = AF_UNSPEC,
			     .tcm_ifindex = ifindex,
			     .tcm_handle = INGRESS_QDISC,
			     .tcm_parent = TC_H_INGRESS };
	vs_rtnl_req r;
	vs_rtnl_req_init(&r, buf, sizeof(buf), type,
			 type == RTM_NEWQDISC ? NLM_F_CREATE | NLM_F_EXCL : 0, &tcm, sizeof(tcm));
	vs_rtnl_put_str(&r, TCA_KIND, "ingress");
	char what[64];
	snprintf(what, sizeof(what), "%s the ingress qdisc of %s",
		 type == RTM_NEWQDISC ? "add" : "delete", name);
	return vs_rtnl_send(nl, &r, what, err);
}

/* `tc filter add dev FROM parent ffff: protocol all prio 1 u32 match u32 0 0
 *  action mirred egress redirect dev TO` */
static int redirect_filter(int nl, int from, const char *from_name, int to, vs_err *err)
{
	char buf[REQ_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct tcmsg tcm = { .tcm_family = AF_UNSPEC,
			     .tcm_ifindex = from,
			     .tcm_parent = INGRESS_QDISC,
			     .tcm_info = TC_H_MAKE(FILTER_PRIO << 16, htons(ETH_P_ALL)) };
	vs_rtnl_req r;
	vs_rtnl_req_init(&r, buf, sizeof(buf), RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, &tcm,
			 sizeof(tcm));
	vs_rtnl_put_str(&r, TCA_KIND, "u32");
	struct rtattr *opts = vs_rtnl_nest_begin(&r, TCA_OPTIONS);
	/* One key with mask 0 matches every packet. */
	struct {
		struct tc_u32_sel sel;
		struct tc_u32_key key;
	} sel = { .sel = { .flags = TC_U32_TERMINAL, .nkeys = 1 } };
	vs_rtnl_put(&r, TCA_U32_SEL, &sel, sizeof(sel));
	struct rtattr *acts = vs_rtnl_nest_begin(&r, TCA_U32_ACT);
	struct rtattr *act = vs_rtnl_nest_begin(&r, 1); /* action order 1 */
	vs_rtnl_put_str(&r, TCA_ACT_KIND, "mirred");
	struct rtattr *aopts = vs_rtnl_nest_begin(&r, TCA_ACT_OPTIONS);
	struct tc_mirred m = { .action = TC_ACT_STOLEN,
			       .eaction = TCA_EGRESS_REDIR,
			       .ifindex = (__u32)to };
	vs_rtnl_put(&r, TCA_MIRRED_PARMS, &m, sizeof(m));
	vs_rtnl_nest_end(&r, aopts);
	vs_rtnl_nest_end(&r, act);
	vs_rtnl_nest_end(&r, acts);
	vs_rtnl_nest_end(&r, opts);
	char what[80];
	snprintf(what, sizeof(what), "add the u32/mirred redirect filter on %s", from_name);
	return vs_rtnl_send(nl, &r, what, err);
}

static int setup(int tun_fd, const char *veth, const char *tap, bool persistent, vs_tc_redirect *r,
		 vs_err *err)
{
	*r = (vs_tc_redirect){ .tap_fd = -1 };
	r->veth_ifindex = (int)if_nametoindex(veth);
	if (!r->veth_ifindex)
		return vs_fail(err, errno ? errno : ENODEV, "veth %s", veth);
	int nl = vs_rtnl_open(err);
	if (nl < 0)
		return -1;
	int fd = open_tap(tun_fd, tap, persistent, err);
	if (fd < 0) {
		close(nl);
		return -1;
	}
	r->tap_ifindex = (int)if_nametoindex(tap);
	if (persistent)
		close(fd);
	else
		r->tap_fd = fd;
	if (!r->tap_ifindex) {
		vs_fail(err, errno, "tap %s: no index after creating it", tap);
		goto undo;
	}
	if (link_up(nl, r->tap_ifindex, tap, err) < 0 ||
	    ingress_qdisc(nl, RTM_NEWQDISC, r->veth_ifindex, veth, err) < 0)
		goto undo;
	r->veth_qdisc = true;
	if (ingress_qdisc(nl, RTM_NEWQDISC, r->tap_ifindex, tap, err) < 0 ||
	    redirect_filter(nl, r->veth_ifindex, veth, r->tap_ifindex, err) < 0 ||
	    redirect_filter(nl, r->tap_ifindex, tap, r->veth_ifindex, err) < 0)
		goto undo;
	close(nl);
	return 0;
undo:
	close(nl);
	vs_err ignored;
	vs_tc_redirect_teardown(r, &ignored);
	return -1;
}

int vs_tc_redirect_setup(const char *veth, const char *tap, bool persistent, vs_tc_redirect *r,
			 vs_err *err)
{
	return setup(-1, veth, tap, persistent, r, err);
}

int vs_tc_redirect_setup_tun(int tun_fd, const char *veth, const char *tap, vs_tc_redirect *r,
			     vs_err *err)
{
	if (tun_fd < 0)
		return vs_fail(err, EBADF, "tap %s: no /dev/net/tun", tap);
	return setup(tun_fd, veth, tap, false, r, err);
}

int vs_tc_redirect_reclaim(const char *veth, vs_err *err)
{
	int ifindex = (int)if_nametoindex(veth);
	if (!ifindex)
		return vs_fail(err, errno ? errno : ENODEV, "veth %s", veth);
	int nl = vs_rtnl_open(err);
	if (nl < 0)
		return -1;
	vs_err e = { 0 };
	int rc = ingress_qdisc(nl, RTM_DELQDISC, ifindex, veth, &e);
	close(nl);
	/* None there: EINVAL (or ENOENT on some kernels). */
	if (rc < 0 && e.errnum != EINVAL && e.errnum != ENOENT) {
		*err = e;
		return -1;
	}
	return 0;
}

int vs_tc_redirect_teardown(vs_tc_redirect *r, vs_err *err)
{
	int nl = vs_rtnl_open(err);
	if (nl < 0)
		return -1;
	int rc = 0;
	char name[IF_NAMESIZE];
	if (r->veth_qdisc) {
		if (!if_indextoname((unsigned)r->veth_ifindex, name))
			snprintf(name, sizeof(name), "ifindex %d", r->veth_ifindex);
		if (ingress_qdisc(nl, RTM_DELQDISC, r->veth_ifindex, name, err) < 0)
			rc = -1;
		r->veth_qdisc = false;
	}
	if (r->tap_ifindex) {
		if (!if_indextoname((unsigned)r->tap_ifindex, name))
			snprintf(name, sizeof(name), "ifindex %d", r->tap_ifindex);
		/* The tap is ours; deleting it takes its qdisc and filter along. */
		vs_err e;
		if (del_link(nl, r->tap_ifindex, name, rc < 0 ? &e : err) < 0)
			rc = -1;
		r->tap_ifindex = 0;
	}
	if (r->tap_fd >= 0) {
		close(r->tap_fd);
		r->tap_fd = -1;
	}
	close(nl);
	return rc;
}
