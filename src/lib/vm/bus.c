#include "vm/bus.h"

#include <string.h>

int vs_bus_register(vs_bus *bus, uint64_t base, uint64_t len, const vs_bus_ops *ops, void *dev,
		    const char *name, vs_err *err)
{
	if (!len || base + len < base)
		return vs_fail(err, 0, "%s: bad range for %s", bus->name, name);
	for (int i = 0; i < bus->n; i++) {
		const vs_bus_range *r = &bus->r[i];
		if (base < r->base + r->len && r->base < base + len)
			return vs_fail(err, 0, "%s: %s at 0x%llx overlaps %s", bus->name, name,
				       (unsigned long long)base, r->name);
	}
	if (bus->n == VS_BUS_MAX)
		return vs_fail(err, 0, "%s: too many devices", bus->name);
	bus->r[bus->n++] = (vs_bus_range){ base, len, ops, dev, name };
	return 0;
}

bool vs_bus_access(const vs_bus *bus, uint64_t addr, void *data, unsigned len, bool write)
{
	for (int i = 0; i < bus->n; i++) {
		const vs_bus_range *r = &bus->r[i];
		if (addr < r->base || addr - r->base >= r->len)
			continue;
		uint64_t off = addr - r->base;
		if (write) {
			if (r->ops->write)
				r->ops->write(r->dev, off, data, len);
		} else if (r->ops->read) {
			r->ops->read(r->dev, off, data, len);
		} else {
			memset(data, 0, len);
		}
		return true;
	}
	if (!write)
		memset(data, 0xff, len);
	return false;
}
