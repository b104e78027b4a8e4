/* linux.netDevices, runtime side: move host interfaces into the init's
 * network namespace at create and back to the runtime's at delete. What
 * was moved is recorded in the state dir (netdevs.json). */
#ifndef VESSEL_CONTAINER_NETDEV_H
#define VESSEL_CONTAINER_NETDEV_H

#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "oci/netdev.h"

/* Every host device exists (before anything is made for the container). */
int vs_netdev_check(const vs_netdevs *d, vs_err *err);

/* Record d in state_dir, then move each device into pid's network
 * namespace under its container name. */
int vs_netdev_attach(const char *state_dir, const vs_netdevs *d, pid_t pid, vs_err *err);

/* Move every recorded device still in the namespace of pid (which must
 * still be the process with start_time) back under its host name. A
 * namespace already gone took its devices with it (physical ones return to
 * the host by themselves). */
int vs_netdev_detach(const char *state_dir, pid_t pid, uint64_t start_time, vs_err *err);

/* The backend's detach op: vs_netdev_detach for container c. */
struct vs_container;
int vs_container_detach(struct vs_container *c, vs_err *err);

#endif
