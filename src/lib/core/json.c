#include "core/json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strv.h"

const char *vs_json_path(char *buf, size_t len, const char *where, const char *key)
{
	size_t wl = strlen(where);
	if (!wl)
		snprintf(buf, len, "%s", key);
	else
		snprintf(buf, len, "%s%s%s", where, where[wl - 1] == ':' ? " " : ".", key);
	return buf;
}

const char *vs_json_index(char *buf, size_t len, const char *where, size_t i)
{
	snprintf(buf, len, "%s[%zu]", where, i);
	return buf;
}

int vs_json_fail(vs_err *err, const char *where, const char *key, const char *fmt, ...)
{
	char path[512], msg[VS_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vs_fail(err, 0, "%s: %s", key ? vs_json_path(path, sizeof(path), where, key) : where,
		       msg);
}

json_object *vs_json_member(json_object *obj, const char *key)
{
	json_object *v;
	if (!obj || !json_object_object_get_ex(obj, key, &v) ||
	    json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

static json_object *typed(json_object *obj, const char *where, const char *key, json_type t,
			  const char *want, int *rc, vs_err *err)
{
	json_object *v = vs_json_member(obj, key);
	*rc = 0;
	if (v && !json_object_is_type(v, t)) {
		*rc = vs_json_fail(err, where, key, "expected %s", want);
		return NULL;
	}
	if (v)
		*rc = 1;
	return v;
}

int vs_json_get_cstr(json_object *obj, const char *where, const char *key, const char **out,
		     vs_err *err)
{
	int rc;
	json_object *v = typed(obj, where, key, json_type_string, "a string", &rc, err);
	if (v)
		*out = json_object_get_string(v);
	return rc;
}

int vs_json_get_string(json_object *obj, const char *where, const char *key, char **out,
		       vs_err *err)
{
	const char *s = NULL;
	int rc = vs_json_get_cstr(obj, where, key, &s, err);
	if (rc <= 0)
		return rc;
	if (!(*out = strdup(s)))
		return vs_json_fail(err, where, key, "out of memory");
	return 1;
}

int vs_json_get_bool(json_object *obj, const char *where, const char *key, bool *out, vs_err *err)
{
	int rc;
	json_object *v = typed(obj, where, key, json_type_boolean, "a boolean", &rc, err);
	if (v)
		*out = json_object_get_boolean(v);
	return rc;
}

int vs_json_as_int(json_object *v, const char *what, int64_t min, int64_t max, int64_t *out,
		   vs_err *err)
{
	if (!json_object_is_type(v, json_type_int))
		return vs_fail(err, 0, "%s: expected an integer", what);
	int64_t x = json_object_get_int64(v);
	/* json-c keeps values above INT64_MAX as uint64 and clamps get_int64. */
	if (x == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
		return vs_fail(err, 0, "%s: %" PRIu64 " is out of range [%" PRId64 ", %" PRId64 "]",
			       what, json_object_get_uint64(v), min, max);
	if (x < min || x > max)
		return vs_fail(err, 0, "%s: %" PRId64 " is out of range [%" PRId64 ", %" PRId64 "]",
			       what, x, min, max);
	*out = x;
	return 1;
}

int vs_json_as_u64(json_object *v, const char *what, uint64_t max, uint64_t *out, vs_err *err)
{
	if (!json_object_is_type(v, json_type_int))
		return vs_fail(err, 0, "%s: expected an integer", what);
	if (json_object_get_int64(v) < 0)
		return vs_fail(err, 0, "%s: must not be negative", what);
	uint64_t x = json_object_get_uint64(v);
	if (x > max)
		return vs_fail(err, 0, "%s: must be at most %" PRIu64, what, max);
	*out = x;
	return 1;
}

int vs_json_get_int(json_object *obj, const char *where, const char *key, int64_t min, int64_t max,
		    int64_t *out, vs_err *err)
{
	json_object *v = vs_json_member(obj, key);
	if (!v)
		return 0;
	char path[512];
	return vs_json_as_int(v, vs_json_path(path, sizeof(path), where, key), min, max, out, err);
}

int vs_json_get_u64(json_object *obj, const char *where, const char *key, uint64_t max,
		    uint64_t *out, vs_err *err)
{
	json_object *v = vs_json_member(obj, key);
	if (!v)
		return 0;
	char path[512];
	return vs_json_as_u64(v, vs_json_path(path, sizeof(path), where, key), max, out, err);
}

int vs_json_get_object(json_object *obj, const char *where, const char *key, json_object **out,
		       vs_err *err)
{
	int rc;
	*out = typed(obj, where, key, json_type_object, "an object", &rc, err);
	return rc;
}

int vs_json_get_array(json_object *obj, const char *where, const char *key, json_object **out,
		      vs_err *err)
{
	int rc;
	*out = typed(obj, where, key, json_type_array, "an array", &rc, err);
	return rc;
}

int vs_json_get_strv(json_object *obj, const char *where, const char *key, char ***out,
		     size_t *count, vs_err *err)
{
	json_object *arr;
	int rc = vs_json_get_array(obj, where, key, &arr, err);
	if (rc <= 0)
		return rc;
	char path[512];
	vs_json_path(path, sizeof(path), where, key);
	size_t n = json_object_array_length(arr);
	char **v = calloc(n + 1, sizeof(char *));
	if (!v)
		return vs_fail(err, ENOMEM, "%s", path);
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(s, json_type_string)) {
			vs_strv_free(v);
			return vs_fail(err, 0, "%s[%zu]: expected a string", path, i);
		}
		if (!(v[i] = strdup(json_object_get_string(s)))) {
			vs_strv_free(v);
			return vs_fail(err, ENOMEM, "%s", path);
		}
	}
	*out = v;
	if (count)
		*count = n;
	return 1;
}

int vs_json_as_enum(json_object *v, const char *what, const vs_json_enum *names, const char *noun,
		    int64_t *out, vs_err *err)
{
	if (!json_object_is_type(v, json_type_string))
		return vs_fail(err, 0, "%s: expected a string", what);
	const char *s = json_object_get_string(v);
	for (const vs_json_enum *n = names; n->name; n++)
		if (!strcmp(n->name, s)) {
			*out = n->value;
			return 1;
		}
	return vs_fail(err, 0, "%s: unknown %s \"%s\"", what, noun, s);
}

int vs_json_get_enum(json_object *obj, const char *where, const char *key,
		     const vs_json_enum *names, const char *noun, int64_t *out, vs_err *err)
{
	json_object *v = vs_json_member(obj, key);
	if (!v)
		return 0;
	char path[512];
	return vs_json_as_enum(v, vs_json_path(path, sizeof(path), where, key), names, noun, out,
			       err);
}

int vs_json_parse_objects(json_object *arr, const char *name, size_t size, void **items,
			  size_t *count, vs_json_element_fn fn, void *ctx, vs_err *err)
{
	size_t n = json_object_array_length(arr);
	char *v = calloc(n ? n : 1, size);
	if (!v)
		return vs_fail(err, ENOMEM, "%s", name);
	*items = v;
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		char field[128];
		vs_json_index(field, sizeof(field), name, i);
		++*count;
		if (!json_object_is_type(o, json_type_object))
			return vs_json_fail(err, field, NULL, "expected an object");
		if (fn(o, field, i, v + i * size, ctx, err) < 0)
			return -1;
	}
	return 0;
}
