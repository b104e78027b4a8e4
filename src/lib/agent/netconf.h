/* The agent's `network` request (docs/agent-protocol.md): interfaces with
 * a MAC, an MTU and addresses, and routes, read into plain structs so the
 * parsing is testable without a network namespace. */
#ifndef VESSEL_AGENT_NETCONF_H
#define VESSEL_AGENT_NETCONF_H

#include <json-c/json.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct vs_net_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int prefix;
} vs_net_addr;

typedef struct vs_net_iface {
	char name[IFNAMSIZ];
	bool has_mac;
	uint8_t mac[6];
	uint32_t mtu; /* 0: leave it */
	vs_net_addr *addrs;
	size_t n_addrs;
} vs_net_iface;

typedef struct vs_net_route {
	bool is_default;
	vs_net_addr dst; /* family set even for a default route */
	bool has_gateway;
	vs_net_addr gateway;
	char dev[IFNAMSIZ]; /* "" when not given */
} vs_net_route;

typedef struct vs_net_config {
	vs_net_iface *ifaces;
	size_t n_ifaces;
	vs_net_route *routes;
	size_t n_routes;
} vs_net_config;

/* "10.0.0.2/24", "fd00::2/64"; without "/N" when allow_bare (a gateway:
 * prefix = full length). 0, or -1 for anything else. */
int vs_net_parse_addr(const char *s, bool allow_bare, vs_net_addr *out);
/* "02:42:ac:11:00:02". */
int vs_net_parse_mac(const char *s, uint8_t mac[6]);

/* The request's interfaces and routes; errors name the field
 * ("network: interfaces[1].addresses[0]: ..."). */
int vs_net_config_parse(json_object *req, vs_net_config *out, vs_err *err);
void vs_net_config_free(vs_net_config *c);

#endif
