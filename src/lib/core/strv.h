/* NULL-terminated string vectors (argv, env, paths); read them from JSON
 * with vs_json_get_strv (core/json.h). */
#ifndef VESSEL_CORE_STRV_H
#define VESSEL_CORE_STRV_H

#include <stddef.h>

void vs_strv_free(char **v);

#endif
