/* Port-I/O and MMIO buses: devices register address ranges with an ops table
 * (kvmtool style), and the vCPU run loop only dispatches. Ranges are
 * registered before the vCPUs start and never change afterwards, so lookups
 * need no lock; each device serialises its own state. */
#ifndef VESSEL_VM_BUS_H
#define VESSEL_VM_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

typedef struct vs_bus_ops {
	/* off is relative to the range base; len is 1, 2, 4 or 8. */
	void (*read)(void *dev, uint64_t off, void *data, unsigned len);
	void (*write)(void *dev, uint64_t off, const void *data, unsigned len);
} vs_bus_ops;

typedef struct vs_bus_range {
	uint64_t base, len;
	const vs_bus_ops *ops;
	void *dev;
	const char *name;
} vs_bus_range;

#define VS_BUS_MAX 32

typedef struct vs_bus {
	const char *name;
	vs_bus_range r[VS_BUS_MAX];
	int n;
} vs_bus;

int vs_bus_register(vs_bus *bus, uint64_t base, uint64_t len, const vs_bus_ops *ops, void *dev,
		    const char *name, vs_err *err);

/* Returns false when no device claims addr (reads then see all ones). */
bool vs_bus_access(const vs_bus *bus, uint64_t addr, void *data, unsigned len, bool write);

#endif
