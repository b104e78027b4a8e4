/* Applying linux.resources (oci/resources.h) to a container's cgroup on v1,
 * v2 or hybrid hosts, and the device rules every container gets. */
#ifndef VESSEL_CGROUP_RESOURCES_H
#define VESSEL_CGROUP_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup/cgroup.h"
#include "core/error.h"
#include "oci/resources.h"

/* The device list a container gets: deny everything, then the spec's rules,
 * then an allow rule for each of linux.devices, then the devices every
 * container needs (null, zero, full, tty, random, urandom, pts, ptmx, tun;
 * mknod of any), as runc and crun do. extra may be NULL. */
typedef struct vs_res_device_node {
	char type;
	int64_t major, minor;
} vs_res_device_node;
int vs_resources_container_devices(vs_resources *r, const vs_res_device_node *extra, size_t n_extra,
				   vs_err *err);

/* Apply r to the container's cgroup, each controller where it lives on
 * this host. A value the host cannot apply is an error naming the
 * controller and the file. with_devices: also (re)write the device rules
 * (create does; update leaves them alone). */
int vs_cgroup_apply(const vs_cgroup *cg, const vs_resources *r, bool with_devices, vs_err *err);

#endif
