/* What a device sees of the VM: guest memory, the buses to claim addresses
 * on, interrupt lines, and a few hooks back into the VM (end the run, write
 * console output, watch an fd on the I/O thread, take console input). A
 * device includes this header only, never the VM's internals, and registers
 * itself through a descriptor (vs_device) listed in devices.c; vm.c walks
 * that table and names no device.
 *
 * Adding a device: one file defining a `const vs_device`, one line in
 * devices.c's table. */
#ifndef VESSEL_VM_DEVICE_H
#define VESSEL_VM_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "vm/bus.h"
#include "vm/memory.h"
#include "vm/vm.h"

#define VS_VIRTIO_MMIO_BASE 0xd0000000ULL
#define VS_VIRTIO_MMIO_SIZE 0x1000
#define VS_VIRTIO_MAX	    5 /* GSIs 5, 6, 7, 10, 11: free ISA lines */

/* Power-management ports (declared in the FADT) and test helpers. */
#define VS_PORT_PM1_EVT	   0x600 /* 4 bytes */
#define VS_PORT_PM1_CNT	   0x604 /* 2 bytes */
#define VS_PORT_RESET	   0xcf9
#define VS_PORT_DEBUG_EXIT 0xf4 /* like QEMU's isa-debug-exit */
#define VS_SCI_IRQ	   9

/* A virtio-mmio window handed out to a device, for the DSDT. */
typedef struct vs_dev_window {
	uint64_t base;
	unsigned gsi;
} vs_dev_window;

/* Console input goes to every sink; room (optional) bounds each read so a
 * device that is full is not overrun. */
typedef struct vs_console_sink {
	size_t (*room)(void *arg);
	void (*input)(void *arg, const uint8_t *buf, size_t len);
	void *arg;
} vs_console_sink;

typedef struct vs_dev_ctx vs_dev_ctx;
struct vs_dev_ctx {
	/* Guest RAM. mem->fd is the memfd behind it, for a vhost-user
	 * backend's SET_MEM_TABLE. */
	const vs_guest_mem *mem;
	vs_bus *pio, *mmio;
	/* For KVM_IRQFD / KVM_IOEVENTFD; -1 in unit tests (no KVM). */
	int vm_fd;
	bool has_irqfd, has_ioeventfd;
	vs_dev_window virtio[VS_VIRTIO_MAX];
	int nvirtio;

	/* Hooks into the VM; host is their first argument. */
	void *host;
	/* Drive GSI gsi to level (KVM_IRQ_LINE). */
	int (*set_irq)(void *host, unsigned gsi, int level);
	/* End the run (first caller wins); code is for VS_VM_EXIT_GUEST_CODE. */
	void (*end)(void *host, vs_vm_exit reason, int code, const char *detail);
	void (*console_write)(void *host, const void *buf, size_t len);
	/* Call fn on the I/O thread when fd is readable; fn < 0: stop. */
	int (*add_io)(void *host, int fd, int (*fn)(void *arg, int fd), void *arg, vs_err *err);
	int (*add_console_sink)(void *host, const vs_console_sink *sink, vs_err *err);
};

/* Hand out the next virtio-mmio window and GSI; NULL when all are taken. */
const vs_dev_window *vs_dev_next_window(vs_dev_ctx *ctx);

typedef struct vs_device {
	const char *name;
	/* Whether the VM's options ask for this device (NULL: always). */
	bool (*wanted)(const vs_vm_config *cfg);
	/* Claim addresses, interrupts, fds. *state is set as soon as there is
	 * something to free, and destroy(*state) runs whatever create returns. */
	int (*create)(vs_dev_ctx *ctx, const vs_vm_config *cfg, void **state, vs_err *err);
	void (*destroy)(void *state);
} vs_device;

#endif
