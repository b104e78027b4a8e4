/* Typed reads of JSON members with one error style: every message names the
 * exact key path, "<where>.<key>: expected an integer". config.json, the
 * cgroup resources and the seccomp profile all read through these.
 *
 * `where` is the parent's full name including the document, for example
 * "config.json: linux.resources.memory"; a `where` ending in ':' (the
 * document itself) is joined with a space instead of a dot.
 *
 * Each getter returns 1 when the member is present and valid (out set),
 * 0 when it is absent or null (out untouched), -1 on a type or range error
 * (err filled). */
#ifndef VESSEL_CORE_JSON_H
#define VESSEL_CORE_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* "<where>.<key>" (or "<where> <key>" after a ':') into buf. */
const char *vs_json_path(char *buf, size_t len, const char *where, const char *key);
/* "<where>[i]" into buf. */
const char *vs_json_index(char *buf, size_t len, const char *where, size_t i);

/* vs_fail with "<where>.<key>: " before the formatted message. */
int vs_json_fail(vs_err *err, const char *where, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* obj[key] unless obj is NULL, key is missing or its value is null. */
json_object *vs_json_member(json_object *obj, const char *key);

int vs_json_get_string(json_object *obj, const char *where, const char *key, char **out,
		       vs_err *err);
/* Like vs_json_get_string, but borrows the string from the document. */
int vs_json_get_cstr(json_object *obj, const char *where, const char *key, const char **out,
		     vs_err *err);
int vs_json_get_bool(json_object *obj, const char *where, const char *key, bool *out, vs_err *err);
/* A signed integer in [min, max]. */
int vs_json_get_int(json_object *obj, const char *where, const char *key, int64_t min, int64_t max,
		    int64_t *out, vs_err *err);
/* An unsigned integer in [0, max] (json-c keeps values above INT64_MAX). */
int vs_json_get_u64(json_object *obj, const char *where, const char *key, uint64_t max,
		    uint64_t *out, vs_err *err);
int vs_json_get_object(json_object *obj, const char *where, const char *key, json_object **out,
		       vs_err *err);
int vs_json_get_array(json_object *obj, const char *where, const char *key, json_object **out,
		      vs_err *err);
/* An array of strings as a malloc'd NULL-terminated vector (vs_strv_free). */
int vs_json_get_strv(json_object *obj, const char *where, const char *key, char ***out,
		     size_t *count, vs_err *err);

/* A string naming one of names (ended by a NULL name) into its value;
 * an unknown one fails with "<path>: unknown <noun> \"X\"". */
typedef struct vs_json_enum {
	const char *name;
	int64_t value;
} vs_json_enum;
int vs_json_get_enum(json_object *obj, const char *where, const char *key,
		     const vs_json_enum *names, const char *noun, int64_t *out, vs_err *err);

/* The same checks on a bare value (an array element): `what` is its full name. */
int vs_json_as_u64(json_object *v, const char *what, uint64_t max, uint64_t *out, vs_err *err);
int vs_json_as_int(json_object *v, const char *what, int64_t min, int64_t max, int64_t *out,
		   vs_err *err);
int vs_json_as_enum(json_object *v, const char *what, const vs_json_enum *names, const char *noun,
		    int64_t *out, vs_err *err);

/* The walk every array of objects shares: allocate a zeroed array of n
 * elements of size bytes into *items, check each element is an object, and
 * hand it to fn with its name ("<name>[3]"). *count grows before each call,
 * so the caller's free also frees a half-parsed element. */
typedef int (*vs_json_element_fn)(json_object *o, const char *field, size_t i, void *item,
				  void *ctx, vs_err *err);
int vs_json_parse_objects(json_object *arr, const char *name, size_t size, void **items,
			  size_t *count, vs_json_element_fn fn, void *ctx, vs_err *err);

#endif
