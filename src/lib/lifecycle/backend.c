#include "lifecycle/backend.h"

#include <string.h>

#include "microvm/backend.h"

#define VS_BACKEND_ANNOTATION "io.vessel.backend"

static const vs_backend_ops *extra;

void vs_backend_register_extra(const vs_backend_ops *ops)
{
	extra = ops;
}

const vs_backend_ops *vs_backend_by_name(const char *name, vs_err *err)
{
	if (!strcmp(name, vs_container_backend.name))
		return &vs_container_backend;
	if (extra && !strcmp(name, extra->name))
		return extra;
	if (!strcmp(name, vs_microvm_backend.name))
		return &vs_microvm_backend;
	vs_fail(err, 0, "unknown backend \"%s\" (expected container or microvm)", name);
	return NULL;
}

const vs_backend_ops *vs_backend_for_config(const vs_config *cfg, vs_err *err)
{
	json_object *v;
	if (cfg->annotations &&
	    json_object_object_get_ex(cfg->annotations, VS_BACKEND_ANNOTATION, &v))
		return vs_backend_by_name(json_object_get_string(v), err);
	return &vs_container_backend;
}
