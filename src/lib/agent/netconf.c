#include "agent/netconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/json.h"

int vs_net_parse_addr(const char *s, bool allow_bare, vs_net_addr *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	char *slash = strchr(buf, '/');
	if (!slash && !allow_bare)
		return -1;
	if (slash)
		*slash = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6;
	else
		return -1;
	int max = out->family == AF_INET ? 32 : 128;
	out->prefix = max;
	if (slash) {
		const char *p = slash + 1;
		if (!*p || strlen(p) > 3)
			return -1;
		int v = 0;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			v = v * 10 + (*p - '0');
		}
		if (v > max)
			return -1;
		out->prefix = v;
	}
	return 0;
}

int vs_net_parse_mac(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		if (i < 5 && p[2] != ':')
			return -1;
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = p[k];
			int d = c >= '0' && c <= '9'   ? c - '0'
				: c >= 'a' && c <= 'f' ? c - 'a' + 10
				: c >= 'A' && c <= 'F' ? c - 'A' + 10
						       : -1;
			if (d < 0)
				return -1;
			v = v * 16 + d;
		}
		mac[i] = (uint8_t)v;
	}
	return 0;
}

static int get_ifname(json_object *o, const char *where, const char *key, bool required,
		      char out[IFNAMSIZ], vs_err *err)
{
	const char *s = NULL;
	int r = vs_json_get_cstr(o, where, key, &s, err);
	if (r < 0)
		return -1;
	if (r == 0) {
		if (required)
			return vs_json_fail(err, where, key, "required");
		out[0] = '\0';
		return 0;
	}
	if (!s[0] || strlen(s) >= IFNAMSIZ || strchr(s, '/'))
		return vs_json_fail(err, where, key, "\"%s\" is not an interface name", s);
	strcpy(out, s);
	return 0;
}

static int parse_iface(json_object *o, const char *field, size_t i, void *item, void *ctx,
		       vs_err *err)
{
	(void)i;
	(void)ctx;
	vs_net_iface *f = item;
	if (get_ifname(o, field, "name", true, f->name, err) < 0)
		return -1;
	const char *mac = NULL;
	int r = vs_json_get_cstr(o, field, "mac", &mac, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		if (vs_net_parse_mac(mac, f->mac) < 0)
			return vs_json_fail(err, field, "mac", "\"%s\" is not a MAC address", mac);
		f->has_mac = true;
	}
	int64_t mtu = 0;
	if (vs_json_get_int(o, field, "mtu", 68, 65535, &mtu, err) < 0)
		return -1;
	f->mtu = (uint32_t)mtu;
	json_object *addrs = NULL;
	if (vs_json_get_array(o, field, "addresses", &addrs, err) < 0)
		return -1;
	size_t n = addrs ? json_object_array_length(addrs) : 0;
	f->addrs = calloc(n ? n : 1, sizeof(*f->addrs));
	if (!f->addrs)
		return vs_fail(err, ENOMEM, "%s", field);
	char where[128];
	vs_json_path(where, sizeof(where), field, "addresses");
	for (size_t k = 0; k < n; k++) {
		json_object *v = json_object_array_get_idx(addrs, k);
		char what[160];
		vs_json_index(what, sizeof(what), where, k);
		if (!json_object_is_type(v, json_type_string) ||
		    vs_net_parse_addr(json_object_get_string(v), false, &f->addrs[k]) < 0)
			return vs_fail(err, EINVAL, "%s: expected an address/prefix (CIDR)", what);
		f->n_addrs++;
	}
	return 0;
}

static int parse_route(json_object *o, const char *field, size_t i, void *item, void *ctx,
		       vs_err *err)
{
	(void)i;
	(void)ctx;
	vs_net_route *rt = item;
	const char *dst = NULL, *gw = NULL;
	int r = vs_json_get_cstr(o, field, "dst", &dst, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return vs_json_fail(err, field, "dst", "required (\"default\" or a CIDR)");
	if (vs_json_get_cstr(o, field, "gateway", &gw, err) < 0)
		return -1;
	if (gw) {
		if (vs_net_parse_addr(gw, true, &rt->gateway) < 0)
			return vs_json_fail(err, field, "gateway", "\"%s\" is not an address", gw);
		rt->has_gateway = true;
	}
	if (!strcmp(dst, "default")) {
		rt->is_default = true;
		rt->dst.family = gw ? rt->gateway.family : AF_INET;
		rt->dst.prefix = 0;
	} else if (vs_net_parse_addr(dst, false, &rt->dst) < 0) {
		return vs_json_fail(err, field, "dst", "\"%s\" is not \"default\" or a CIDR", dst);
	}
	if (gw && rt->gateway.family != rt->dst.family)
		return vs_json_fail(err, field, "gateway", "not of dst's address family");
	if (get_ifname(o, field, "dev", false, rt->dev, err) < 0)
		return -1;
	if (!gw && !rt->dev[0])
		return vs_fail(err, EINVAL, "%s: needs a gateway or a dev", field);
	return 0;
}

int vs_net_config_parse(json_object *req, vs_net_config *out, vs_err *err)
{
	memset(out, 0, sizeof(*out));
	json_object *ifs = NULL, *routes = NULL;
	if (vs_json_get_array(req, "network:", "interfaces", &ifs, err) < 0 ||
	    vs_json_get_array(req, "network:", "routes", &routes, err) < 0)
		return -1;
	if (ifs && vs_json_parse_objects(ifs, "network: interfaces", sizeof(vs_net_iface),
					 (void **)&out->ifaces, &out->n_ifaces, parse_iface, NULL,
					 err) < 0)
		return -1;
	if (routes && vs_json_parse_objects(routes, "network: routes", sizeof(vs_net_route),
					    (void **)&out->routes, &out->n_routes, parse_route,
					    NULL, err) < 0)
		return -1;
	return 0;
}

void vs_net_config_free(vs_net_config *c)
{
	for (size_t i = 0; i < c->n_ifaces; i++)
		free(c->ifaces[i].addrs);
	free(c->ifaces);
	free(c->routes);
	memset(c, 0, sizeof(*c));
}
