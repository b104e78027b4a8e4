/* Power management: the ACPI PM1 event/control registers the FADT points at
 * (SLP_EN ends the VM as power-off), the 0xcf9 reset control register the
 * FADT names as reset register, and a debug-exit port (0xf4, as QEMU's
 * isa-debug-exit) through which test guests end the VM with a status. */
#include <stdio.h>
#include <string.h>

#include "vm/device.h"

#define PM1_SCI_EN 0x0001
#define PM1_SLP_EN 0x2000

static void pm1_cnt_read(void *dev, uint64_t off, void *data, unsigned len)
{
	(void)dev;
	uint16_t v = PM1_SCI_EN; /* always in ACPI mode */
	memset(data, 0, len);
	if (off == 0)
		memcpy(data, &v, len < 2 ? len : 2);
}

static void pm1_cnt_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	vs_dev_ctx *ctx = dev;
	uint16_t v = 0;
	memcpy(&v, data, len < 2 ? len : 2);
	if (off == 1)
		v = (uint16_t)(v << 8);
	if (v & PM1_SLP_EN) {
		char what[64];
		snprintf(what, sizeof(what), "guest powered off (ACPI S%u)", (v >> 10) & 7);
		ctx->end(ctx->host, VS_VM_EXIT_POWEROFF, 0, what);
	}
}

static void zero_read(void *dev, uint64_t off, void *data, unsigned len)
{
	(void)dev;
	(void)off;
	memset(data, 0, len);
}

static void reset_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	(void)off;
	(void)len;
	vs_dev_ctx *ctx = dev;
	if (*(const uint8_t *)data & 0x04)
		ctx->end(ctx->host, VS_VM_EXIT_RESET, 0, "guest reset through port 0xcf9");
}

static void debug_exit_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	(void)off;
	(void)len;
	vs_dev_ctx *ctx = dev;
	int code = *(const uint8_t *)data;
	char what[32];
	snprintf(what, sizeof(what), "guest exit code %d", code);
	ctx->end(ctx->host, VS_VM_EXIT_GUEST_CODE, code, what);
}

static const vs_bus_ops evt_ops = { zero_read, NULL };
static const vs_bus_ops cnt_ops = { pm1_cnt_read, pm1_cnt_write };
static const vs_bus_ops reset_ops = { zero_read, reset_write };
static const vs_bus_ops exit_ops = { zero_read, debug_exit_write };

static int power_create(vs_dev_ctx *ctx, const vs_vm_config *cfg, void **state, vs_err *err)
{
	(void)cfg;
	(void)state;
	vs_bus *pio = ctx->pio;
	if (vs_bus_register(pio, VS_PORT_PM1_EVT, 4, &evt_ops, ctx, "PM1 event", err) < 0 ||
	    vs_bus_register(pio, VS_PORT_PM1_CNT, 2, &cnt_ops, ctx, "PM1 control", err) < 0 ||
	    vs_bus_register(pio, VS_PORT_RESET, 1, &reset_ops, ctx, "reset control", err) < 0)
		return -1;
	return vs_bus_register(pio, VS_PORT_DEBUG_EXIT, 1, &exit_ops, ctx, "debug exit", err);
}

const vs_device vs_power_device = { .name = "power management", .create = power_create };
