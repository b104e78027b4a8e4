/* The device rules every container gets (runc's AllowedDevices). */
#include <errno.h>
#include <stdlib.h>

#include "cgroup/resources.h"

int vs_resources_container_devices(vs_resources *r, const vs_res_device_node *extra, size_t n_extra,
				   vs_err *err)
{
	/* runc's AllowedDevices / crun's default_devices. */
	static const vs_res_device defaults[] = {
		{ true, 'c', -1, -1, "m" }, { true, 'b', -1, -1, "m" },
		{ true, 'c', 1, 3, "rwm" }, { true, 'c', 1, 8, "rwm" },
		{ true, 'c', 1, 7, "rwm" }, { true, 'c', 5, 0, "rwm" },
		{ true, 'c', 1, 5, "rwm" }, { true, 'c', 1, 9, "rwm" },
		{ true, 'c', 5, 1, "rwm" }, { true, 'c', 136, -1, "rwm" },
		{ true, 'c', 5, 2, "rwm" }, { true, 'c', 10, 200, "rwm" },
	};
	size_t nd = sizeof(defaults) / sizeof(defaults[0]);
	size_t total = 1 + r->n_devices + n_extra + nd;
	vs_res_device *v = calloc(total, sizeof(*v));
	if (!v)
		return vs_fail(err, ENOMEM, "device rules");
	size_t k = 0;
	v[k++] = (vs_res_device){ false, 'a', -1, -1, "rwm" };
	for (size_t i = 0; i < r->n_devices; i++)
		v[k++] = r->devices[i];
	for (size_t i = 0; i < n_extra; i++) {
		/* linux.devices of type 'u' are character devices ("unbuffered"). */
		char t = extra[i].type == 'b' ? 'b' : 'c';
		if (extra[i].type == 'p')
			continue; /* FIFOs are not device-controlled */
		v[k++] = (vs_res_device){ true, t, extra[i].major, extra[i].minor, "rwm" };
	}
	for (size_t i = 0; i < nd; i++)
		v[k++] = defaults[i];
	free(r->devices);
	r->devices = v;
	r->n_devices = k;
	r->has_devices = true;
	return 0;
}
