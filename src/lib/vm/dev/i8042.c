/* The i8042 keyboard controller, only as far as guests use it to reset the
 * machine (command 0xfe pulses the CPU reset line; Linux's reboot=k). */
#include <stdlib.h>
#include <string.h>

#include "vm/dev/dev.h"

static void i8042_read(void *dev, uint64_t off, void *data, unsigned len)
{
	(void)dev;
	(void)off;
	/* Status: both buffers empty, so drivers never wait on us. */
	memset(data, 0, len);
}

static void i8042_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	(void)off;
	(void)len;
	vs_vm *vm = dev;
	if (*(const uint8_t *)data == 0xfe)
		vs_vm_end(vm, VS_VM_EXIT_RESET, 0, 0, 0, "guest reset through the i8042");
}

static const vs_bus_ops data_ops = { i8042_read, NULL };
static const vs_bus_ops cmd_ops = { i8042_read, i8042_write };

int vs_i8042_create(vs_vm *vm, vs_err *err)
{
	if (vs_bus_register(&vm->pio, 0x60, 1, &data_ops, vm, "i8042 data", err) < 0)
		return -1;
	return vs_bus_register(&vm->pio, 0x64, 1, &cmd_ops, vm, "i8042 command", err);
}
