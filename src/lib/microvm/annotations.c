#include "microvm/annotations.h"

int vs_annotation_get(json_object *annotations, const char *key, const char **out, vs_err *err)
{
	json_object *v;
	*out = NULL;
	if (!annotations || !json_object_object_get_ex(annotations, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return vs_fail(err, 0, "annotation %s: must be a string", key);
	*out = json_object_get_string(v);
	return 0;
}
