/* A VM in a pod's network namespace gets the pod's network: a tap for the
 * VMM, and tc rules that redirect every frame between the pod's veth and
 * the tap, both ways (what Kata calls tcfilter). Per direction: an ingress
 * qdisc on the device and a u32 match-all filter whose mirred action
 * redirects to the other device's egress. u32 and mirred because that is
 * what kernels have without matchall or flower. Everything is built by hand
 * on core/rtnl.h: the release binary is static and Debian's libmnl is not. */
#ifndef VESSEL_NET_TCREDIRECT_H
#define VESSEL_NET_TCREDIRECT_H

#include <stdbool.h>

#include "core/error.h"

typedef struct vs_tc_redirect {
	int tap_fd; /* the tap's queue for the VMM; -1 for a persistent tap */
	int veth_ifindex, tap_ifindex;
	bool veth_qdisc; /* we added the veth's ingress qdisc */
} vs_tc_redirect;

/* In the caller's network namespace: create tap `tap` (IFF_TAP|IFF_NO_PI|
 * IFF_VNET_HDR, so each frame starts with a struct virtio_net_hdr), bring it
 * up, and redirect veth <-> tap. `persistent`: the tap outlives its fd
 * (TUNSETPERSIST; r->tap_fd is -1 and the VMM attaches by name later), else
 * r->tap_fd holds it and closing it removes the tap. On failure, whatever
 * was made is removed again. */
int vs_tc_redirect_setup(const char *veth, const char *tap, bool persistent, vs_tc_redirect *r,
			 vs_err *err);

/* As vs_tc_redirect_setup (not persistent), with the tap made on tun_fd,
 * an fd of /dev/net/tun opened earlier (the microvm monitor's, from before
 * pivot_root; ours to keep on success: r->tap_fd is a duplicate). */
int vs_tc_redirect_setup_tun(int tun_fd, const char *veth, const char *tap, vs_tc_redirect *r,
			     vs_err *err);

/* Remove veth's ingress qdisc (with its filters) if it has one: what a
 * redirect leaves on the veth when its VMM died without teardown. Only for
 * a caller that knows no live tap of its own uses it. */
int vs_tc_redirect_reclaim(const char *veth, vs_err *err);

/* Remove it: the veth's ingress qdisc (its filter goes with it) and the tap
 * (with its qdisc and filter); the veth itself is left as it was. */
int vs_tc_redirect_teardown(vs_tc_redirect *r, vs_err *err);

#endif
