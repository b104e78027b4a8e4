/* linux.netDevices (runtime-spec 1.2): host network interfaces moved into
 * the container's new network namespace at create, optionally renamed. */
#ifndef VESSEL_OCI_NETDEV_H
#define VESSEL_OCI_NETDEV_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

typedef struct vs_netdev {
	char *host_name; /* the key: the interface on the host */
	char *name;	 /* its name in the container (host_name when not given) */
} vs_netdev;

typedef struct vs_netdevs {
	vs_netdev *v;
	size_t n;
} vs_netdevs;

/* An interface name the kernel accepts: 1..15 bytes, not "." or "..", no
 * '/', ':' or whitespace. */
bool vs_netdev_name_ok(const char *name);

/* Parse linux.netDevices of the linux object (absent: none). new_netns says
 * whether the config creates a network namespace, which moving needs.
 * 0 or -1; on error *out may hold some entries (vs_netdevs_free). */
int vs_netdevs_parse(json_object *linux_, bool new_netns, vs_netdevs *out, vs_err *err);
void vs_netdevs_free(vs_netdevs *d);

#endif
