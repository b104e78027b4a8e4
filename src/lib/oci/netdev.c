#include "oci/netdev.h"

#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

#define WHERE "config.json: linux.netDevices"

bool vs_netdev_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p))
			return false;
	return true;
}

static int parse_one(const char *host, json_object *v, vs_netdev *d, vs_err *err)
{
	char where[128];
	vs_json_path(where, sizeof(where), WHERE, host);
	if (!vs_netdev_name_ok(host))
		return vs_fail(err, 0, "%s: not a valid interface name", where);
	if (!json_object_is_type(v, json_type_object))
		return vs_fail(err, 0, "%s: expected an object", where);
	json_object_object_foreach(v, key, val)
	{
		(void)val;
		if (strcmp(key, "name"))
			return vs_json_fail(err, where, key, "unknown field");
	}
	if (!(d->host_name = strdup(host)))
		return vs_fail(err, ENOMEM, "%s", where);
	if (vs_json_get_string(v, where, "name", &d->name, err) < 0)
		return -1;
	if (d->name && !vs_netdev_name_ok(d->name))
		return vs_json_fail(err, where, "name", "\"%s\" is not a valid interface name",
				    d->name);
	if (!d->name && !(d->name = strdup(host)))
		return vs_fail(err, ENOMEM, "%s", where);
	return 0;
}

int vs_netdevs_parse(json_object *linux_, bool new_netns, vs_netdevs *out, vs_err *err)
{
	json_object *obj;
	memset(out, 0, sizeof(*out));
	int rc = vs_json_get_object(linux_, "config.json: linux", "netDevices", &obj, err);
	if (rc <= 0)
		return rc; /* absent (0) or not an object (-1) */
	size_t n = (size_t)json_object_object_length(obj);
	if (n && !new_netns)
		return vs_fail(err, 0, WHERE ": moving devices needs a new network namespace");
	if (!(out->v = calloc(n ? n : 1, sizeof(*out->v))))
		return vs_fail(err, ENOMEM, WHERE);
	json_object_object_foreach(obj, host, v)
	{
		if (parse_one(host, v, &out->v[out->n++], err) < 0)
			return -1;
		for (size_t i = 0; i + 1 < out->n; i++)
			if (!strcmp(out->v[i].name, out->v[out->n - 1].name))
				return vs_fail(err, 0, WHERE ": %s and %s both become \"%s\"",
					       out->v[i].host_name, host, out->v[i].name);
	}
	return 0;
}

void vs_netdevs_free(vs_netdevs *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].host_name);
		free(d->v[i].name);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}
