/* The device table vm.c walks. Order matters to the guest: the legacy ports
 * first, then virtio devices in the order their MMIO windows and GSIs are
 * handed out (console, blk, rng: the order vessel always used). */
#include "vm/devices.h"

extern const vs_device vs_serial_device, vs_i8042_device, vs_power_device;
extern const vs_device vs_virtio_console_device, vs_virtio_blk_device, vs_virtio_rng_device;
extern const vs_device vs_virtio_net_device;
extern const vs_device vs_virtio_vsock_device;
extern const vs_device vs_virtio_fs_device;

const vs_device *const vs_devices[] = {
	&vs_serial_device,     &vs_i8042_device,
	&vs_power_device,      &vs_virtio_console_device,
	&vs_virtio_blk_device, &vs_virtio_rng_device,
	&vs_virtio_net_device, &vs_virtio_vsock_device,
	&vs_virtio_fs_device,  NULL,
};
