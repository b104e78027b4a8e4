/* Device rules on cgroup v1: devices.deny / devices.allow, in list order
 * (later rules win, as the spec requires). The list starts with "deny all"
 * (see vs_resources_container_devices), which empties the whitelist. */
#include <inttypes.h>
#include <stdio.h>

#include "cgroup/internal.h"
#include "core/cleanup.h"

int vs_cg_devices_v1(const char *dir, const vs_resources *r, vs_err *err)
{
	const char *D = "devices";
	vs_autoclose int allow = vs_cg_open(D, dir, "devices.allow", err);
	if (allow < 0)
		return -1;
	vs_autoclose int deny = vs_cg_open(D, dir, "devices.deny", err);
	if (deny < 0)
		return -1;
	for (size_t i = 0; i < r->n_devices; i++) {
		const vs_res_device *d = &r->devices[i];
		char line[96], ma[24], mi[24];
		if (d->type == 'a') {
			/* "a" switches the whole cgroup to allow-all or deny-all. */
			snprintf(line, sizeof(line), "a");
		} else {
			if (!d->access[0])
				continue; /* grants or takes away nothing */
			vs_cg_number(d->major, "*", ma, sizeof(ma));
			vs_cg_number(d->minor, "*", mi, sizeof(mi));
			snprintf(line, sizeof(line), "%c %s:%s %s", d->type, ma, mi, d->access);
		}
		if (vs_cg_write_line(d->allow ? allow : deny, D, dir,
				     d->allow ? "devices.allow" : "devices.deny", line, err) < 0)
			return -1;
	}
	return 0;
}
