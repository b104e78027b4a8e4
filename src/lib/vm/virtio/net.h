/* virtio-net on a tap (virtio/net.c). The constructor is exposed so unit
 * tests can drive the device over any datagram fd without KVM. */
#ifndef VESSEL_VM_VIRTIO_NET_H
#define VESSEL_VM_VIRTIO_NET_H

#include "vm/virtio/virtio.h"

/* A device on `tap` (already set to a 12-byte vnet header; owned by the
 * device once this succeeds) with MAC `mac`; ctx NULL: unit tests, mem then
 * given. NULL on failure (the caller still owns tap). */
vs_virtio_dev *vs_virtio_net_new(vs_dev_ctx *ctx, const vs_guest_mem *mem, int tap,
				 const uint8_t mac[6], vs_err *err);

/* "tap=NAME[,mac=MAC]" or "fd=N[,mac=MAC]" (net_tap.c): the tap fd, set up
 * for the device, and the MAC (random, locally administered, when none is
 * given); -1 with err naming the option. */
int vs_net_tap_open(const char *spec, uint8_t mac[6], vs_err *err);

#endif
