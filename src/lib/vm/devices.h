/* The table of every device the VMM can attach. */
#ifndef VESSEL_VM_DEVICES_H
#define VESSEL_VM_DEVICES_H

#include "vm/device.h"

/* In attach order (virtio windows and GSIs are handed out in this order, so
 * it is part of the guest ABI). NULL-ended. */
extern const vs_device *const vs_devices[];

#endif
