#include "lifecycle/backend.h"

#include <string.h>

#include "microvm/annotations.h"
#include "microvm/backend.h"
#include "microvm/hostconfig.h"
#include "microvm/select.h"

static const vs_backend_ops *extra;

void vs_backend_register_extra(const vs_backend_ops *ops)
{
	extra = ops;
}

const vs_backend_ops *vs_backend_by_name(const char *name, vs_err *err)
{
	if (!strcmp(name, vs_container_backend.name))
		return &vs_container_backend;
	if (!strcmp(name, vs_microvm_backend.name))
		return &vs_microvm_backend;
	if (extra && !strcmp(name, extra->name))
		return extra;
	vs_fail(err, 0, "unknown backend \"%s\" (expected container or microvm)", name);
	return NULL;
}

const vs_backend_ops *vs_backend_for_config(const vs_config *cfg, bool vm_default, vs_err *err)
{
	const char *name;
	if (vs_backend_select(cfg->annotations, vm_default, VS_CONFIG_FILE, &name, err) < 0)
		return NULL;
	const vs_backend_ops *ops = vs_backend_by_name(name, err);
	/* The defaults always exist: an unknown name is the annotation's. */
	if (!ops)
		vs_err_wrap(err, "annotation %s", VS_ANN_BACKEND);
	return ops;
}
