#include "microvm/hostconfig.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "core/cleanup.h"
#include "core/fs.h"
#include "core/json.h"

int vs_host_config_vm(const char *file, json_object **doc, json_object **vm, vs_err *err)
{
	*doc = *vm = NULL;
	vs_autofree char *text = NULL;
	vs_err rerr = { 0 };
	if (!file)
		return 0;
	if (vs_read_file(file, &text, NULL, &rerr) < 0) {
		if (rerr.errnum == ENOENT)
			return 0;
		*err = rerr;
		return -1;
	}
	json_object *d = json_tokener_parse(text);
	if (!d || !json_object_is_type(d, json_type_object)) {
		json_object_put(d);
		return vs_fail(err, 0, "%s: not a JSON object", file);
	}
	char where[PATH_MAX + 8];
	snprintf(where, sizeof(where), "%s:", file);
	if (vs_json_get_object(d, where, "vm", vm, err) < 0) {
		json_object_put(d);
		return -1;
	}
	*doc = d;
	return 0;
}
