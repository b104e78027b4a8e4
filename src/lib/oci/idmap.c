/* linux.uidMappings/gidMappings and mounts[].uidMappings/gidMappings: one
 * reader for both (config.c and mount_ext.c). */
#include <stdint.h>

#include "core/json.h"
#include "oci/config.h"

static int parse_idmap(json_object *o, const char *f, size_t i, void *item, void *ctx, vs_err *err)
{
	(void)i;
	(void)ctx;
	int64_t a = -1, b = -1, s = -1;
	if (vs_json_get_int(o, f, "containerID", 0, UINT32_MAX, &a, err) < 0 ||
	    vs_json_get_int(o, f, "hostID", 0, UINT32_MAX, &b, err) < 0 ||
	    vs_json_get_int(o, f, "size", 1, UINT32_MAX, &s, err) < 0)
		return -1;
	if (a < 0 || b < 0 || s < 0)
		return vs_fail(err, 0, "%s: containerID, hostID and size are required", f);
	*(vs_idmap *)item = (vs_idmap){ (uint32_t)a, (uint32_t)b, (uint32_t)s };
	return 0;
}

int vs_config_parse_idmaps(json_object *parent, const char *where, const char *key, vs_idmap **out,
			   size_t *count, vs_err *err)
{
	json_object *arr;
	char field[160];
	vs_json_path(field, sizeof(field), where, key);
	if (vs_json_get_array(parent, where, key, &arr, err) < 0)
		return -1;
	return arr ? vs_json_parse_objects(arr, field, sizeof(vs_idmap), (void **)out, count,
					   parse_idmap, NULL, err)
		   : 0;
}
