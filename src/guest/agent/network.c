/* network: the guest's interfaces get the container's MAC, MTU, addresses
 * and routes (agent/netconf.h parses, core/rtnl.h applies). */
#include "guest/agent/network.h"

#include <errno.h>
#include <net/if.h>
#include <unistd.h>

#include "agent/netconf.h"
#include "core/rtnl.h"

static int apply_iface(int sock, const vs_net_iface *f, size_t i, vs_err *err)
{
	int idx = (int)if_nametoindex(f->name);
	if (!idx)
		return vs_fail(err, ENODEV, "network: interfaces[%zu].name: no interface \"%s\"", i,
			       f->name);
	/* MAC and MTU while down (not every driver changes them live), then up. */
	if ((f->has_mac || f->mtu) &&
	    vs_rtnl_link_set(sock, idx, f->has_mac ? f->mac : NULL, f->mtu, false, err) < 0)
		return vs_err_wrap(err, "network: interfaces[%zu] (%s)", i, f->name);
	if (vs_rtnl_link_set(sock, idx, NULL, 0, true, err) < 0)
		return vs_err_wrap(err, "network: interfaces[%zu] (%s)", i, f->name);
	for (size_t k = 0; k < f->n_addrs; k++) {
		const vs_net_addr *a = &f->addrs[k];
		if (vs_rtnl_addr_add(sock, idx, a->family, a->addr, a->prefix, err) < 0)
			return vs_err_wrap(err, "network: interfaces[%zu].addresses[%zu]", i, k);
	}
	return 0;
}

static int apply_route(int sock, const vs_net_route *rt, size_t i, vs_err *err)
{
	int oif = 0;
	if (rt->dev[0] && !(oif = (int)if_nametoindex(rt->dev)))
		return vs_fail(err, ENODEV, "network: routes[%zu].dev: no interface \"%s\"", i,
			       rt->dev);
	if (vs_rtnl_route_add(sock, rt->dst.family, rt->is_default ? NULL : rt->dst.addr,
			      rt->dst.prefix, rt->has_gateway ? rt->gateway.addr : NULL, oif,
			      err) < 0)
		return vs_err_wrap(err, "network: routes[%zu]", i);
	return 0;
}

int net_configure(json_object *req, vs_err *err)
{
	vs_net_config c;
	if (vs_net_config_parse(req, &c, err) < 0) {
		vs_net_config_free(&c);
		return -1;
	}
	int sock = vs_rtnl_open(err);
	int rc = sock < 0 ? -1 : 0;
	for (size_t i = 0; rc == 0 && i < c.n_ifaces; i++)
		rc = apply_iface(sock, &c.ifaces[i], i, err);
	for (size_t i = 0; rc == 0 && i < c.n_routes; i++)
		rc = apply_route(sock, &c.routes[i], i, err);
	if (sock >= 0)
		close(sock);
	vs_net_config_free(&c);
	return rc;
}
