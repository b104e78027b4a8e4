/* The i8042 keyboard controller, only as far as guests use it to reset the
 * machine (command 0xfe pulses the CPU reset line; Linux's reboot=k). */
#include <stdlib.h>
#include <string.h>

#include "vm/device.h"

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
	vs_dev_ctx *ctx = dev;
	if (*(const uint8_t *)data == 0xfe)
		ctx->end(ctx->host, VS_VM_EXIT_RESET, 0, "guest reset through the i8042");
}

static const vs_bus_ops data_ops = { i8042_read, NULL };
static const vs_bus_ops cmd_ops = { i8042_read, i8042_write };

static int i8042_create(vs_dev_ctx *ctx, const vs_vm_config *cfg, void **state, vs_err *err)
{
	(void)cfg;
	(void)state;
	if (vs_bus_register(ctx->pio, 0x60, 1, &data_ops, ctx, "i8042 data", err) < 0)
		return -1;
	return vs_bus_register(ctx->pio, 0x64, 1, &cmd_ops, ctx, "i8042 command", err);
}

const vs_device vs_i8042_device = { .name = "i8042", .create = i8042_create };
