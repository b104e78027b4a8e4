#include "core/strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int vs_strv_from_json(json_object *arr, const char *field, char ***out, size_t *count, vs_err *err)
{
	if (!json_object_is_type(arr, json_type_array))
		return vs_fail(err, 0, "config.json: %s: expected an array", field);
	size_t n = json_object_array_length(arr);
	char **v = calloc(n + 1, sizeof(char *));
	if (!v)
		return vs_fail(err, ENOMEM, "config.json: %s", field);
	*out = v;
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(s, json_type_string))
			return vs_fail(err, 0, "config.json: %s[%zu]: expected a string", field, i);
		if (!(v[i] = strdup(json_object_get_string(s))))
			return vs_fail(err, ENOMEM, "config.json: %s", field);
	}
	if (count)
		*count = n;
	return 0;
}

void vs_strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}
