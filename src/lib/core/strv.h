/* NULL-terminated string vectors from JSON arrays (argv, env, paths). */
#ifndef VESSEL_CORE_STRV_H
#define VESSEL_CORE_STRV_H

#include <json-c/json.h>
#include <stddef.h>

#include "core/error.h"

/* arr must be a JSON array of strings; field names it in errors
 * ("config.json: process.args[2]: expected a string"). On failure *out may
 * hold a partial vector the caller frees. */
int vs_strv_from_json(json_object *arr, const char *field, char ***out, size_t *count, vs_err *err);
void vs_strv_free(char **v);

#endif
