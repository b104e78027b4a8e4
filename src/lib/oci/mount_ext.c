/* Mount options beyond the runtime-spec flag table: what runc, crun and the
 * engines send (see docs/cli.md, "Mount options", for the full list and
 * what vessel does with each). */
#include "oci/mount_ext.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

enum ext_action { EXT_APPLY, EXT_ENGINE_SIDE, EXT_REFUSE };

static const struct ext {
	const char *name;
	enum ext_action action;
	const char *why; /* for a refused one */
} exts[] = {
	{ "tmpcopyup", EXT_APPLY, NULL },
	{ "notmpcopyup", EXT_APPLY, NULL },
	{ "copy-symlink", EXT_APPLY, NULL },
	{ "idmap", EXT_APPLY, NULL },
	{ "ridmap", EXT_APPLY, NULL },
	/* Done by the engine before the runtime runs: podman relabels (z, Z)
	 * and chowns (U) the source itself; runc passes them to a bind mount
	 * as data, which the kernel ignores. */
	{ "z", EXT_ENGINE_SIDE, NULL },
	{ "Z", EXT_ENGINE_SIDE, NULL },
	{ "U", EXT_ENGINE_SIDE, NULL },
	/* crun's: resolve the source / destination without following a final symlink. */
	{ "src-nofollow", EXT_REFUSE, "crun's no-follow bind source is not supported" },
	{ "dest-nofollow", EXT_REFUSE, "crun's no-follow destination is not supported" },
	/* podman's overlay volume must reach the runtime as an overlay mount. */
	{ "O", EXT_REFUSE, "a podman overlay volume option, not a runtime one" },
};

size_t vs_mount_ext_count(void)
{
	return sizeof(exts) / sizeof(exts[0]);
}

const char *vs_mount_ext_name(size_t i)
{
	return i < vs_mount_ext_count() && exts[i].action != EXT_REFUSE ? exts[i].name : NULL;
}

static void apply(vs_mount *m, const char *name)
{
	if (!strcmp(name, "tmpcopyup"))
		m->tmpcopyup = true;
	else if (!strcmp(name, "notmpcopyup"))
		m->tmpcopyup = false;
	else if (!strcmp(name, "copy-symlink"))
		m->copy_symlink = true;
	else if (!strcmp(name, "idmap") || !strcmp(name, "ridmap")) {
		m->idmap = true;
		m->idmap_recursive = name[0] == 'r';
	}
}

int vs_mount_ext_option(vs_mount *m, const char *opt, const char *field, vs_err *err)
{
	/* crun's form with explicit mappings: idmap=uids=0-1000-10;gids=... */
	if (!strncmp(opt, "idmap=", 6) || !strncmp(opt, "ridmap=", 7)) {
		if (m->idmap_spec)
			return vs_json_fail(err, field, "options", "\"%s\": mappings given twice",
					    opt);
		apply(m, opt[0] == 'r' ? "ridmap" : "idmap");
		m->idmap_spec = strdup(strchr(opt, '=') + 1);
		return m->idmap_spec ? 1 : vs_fail(err, ENOMEM, "%s", field);
	}
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		if (strcmp(exts[i].name, opt))
			continue;
		switch (exts[i].action) {
		case EXT_APPLY:
			apply(m, opt);
			return 1;
		case EXT_ENGINE_SIDE:
			return 1;
		case EXT_REFUSE:
			return vs_json_fail(err, field, "options", "\"%s\": %s", opt, exts[i].why);
		}
	}
	return 0;
}

int vs_mount_ext_record_options(vs_mount *m, char **opts, const char *field, vs_err *err)
{
	size_t len = 1;
	for (char **p = opts; p && *p; p++)
		len += strlen(*p) + 1;
	m->options = calloc(1, len);
	if (!m->options)
		return vs_fail(err, ENOMEM, "%s", field);
	for (char **p = opts; p && *p; p++) {
		if (p != opts)
			strcat(m->options, ",");
		strcat(m->options, *p);
	}
	return 0;
}

int vs_mount_ext_parse(json_object *o, const char *field, vs_mount *m, vs_err *err)
{
	if (vs_config_parse_idmaps(o, field, "uidMappings", &m->uid_mappings, &m->n_uid_mappings,
				   err) < 0 ||
	    vs_config_parse_idmaps(o, field, "gidMappings", &m->gid_mappings, &m->n_gid_mappings,
				   err) < 0)
		return -1;
	/* An empty array is no mapping. */
	if (!m->n_uid_mappings) {
		free(m->uid_mappings);
		m->uid_mappings = NULL;
	}
	if (!m->n_gid_mappings) {
		free(m->gid_mappings);
		m->gid_mappings = NULL;
	}
	return 0;
}

/* "A-B-C" or "@A-B-C" (B relative to the container's mappings) into *out. */
static int parse_triplet(const char *s, const vs_idmap *rel, size_t n_rel, vs_idmap *out,
			 const char *field, const char *opt, vs_err *err)
{
	bool relative = *s == '@';
	if (relative)
		s++;
	unsigned long long v[3];
	for (int i = 0; i < 3; i++) {
		char *end;
		if (*s < '0' || *s > '9')
			return vs_json_fail(err, field, "options",
					    "\"%s\": expected ID-HOSTID-SIZE triplets", opt);
		errno = 0;
		v[i] = strtoull(s, &end, 10);
		if (errno || v[i] > UINT32_MAX)
			return vs_json_fail(err, field, "options", "\"%s\": id out of range", opt);
		s = end;
		if (i < 2 && *s++ != '-')
			return vs_json_fail(err, field, "options",
					    "\"%s\": expected ID-HOSTID-SIZE triplets", opt);
	}
	if (*s)
		return vs_json_fail(err, field, "options", "\"%s\": trailing \"%s\"", opt, s);
	if (v[2] == 0 || v[0] + v[2] - 1 > UINT32_MAX || v[1] + v[2] - 1 > UINT32_MAX)
		return vs_json_fail(err, field, "options", "\"%s\": bad mapping size", opt);
	if (relative) {
		size_t i;
		for (i = 0; i < n_rel; i++)
			if (v[1] >= rel[i].container_id &&
			    v[1] + v[2] <= (unsigned long long)rel[i].container_id + rel[i].size)
				break;
		if (i == n_rel)
			return vs_json_fail(err, field, "options",
					    "\"%s\": @%llu-%llu is not inside the container's "
					    "user namespace mappings",
					    opt, v[1], v[2]);
		v[1] = v[1] - rel[i].container_id + rel[i].host_id;
	}
	*out = (vs_idmap){ (uint32_t)v[0], (uint32_t)v[1], (uint32_t)v[2] };
	return 0;
}

/* "uids=0-1000-10#10-2000-5;gids=..." into the mount's mappings. */
static int parse_idmap_spec(const vs_config *c, vs_mount *m, const char *field, vs_err *err)
{
	char opt[64];
	snprintf(opt, sizeof(opt), "%.50s", m->idmap_spec);
	if (!m->idmap_spec[0])
		return vs_json_fail(err, field, "options", "\"idmap=\": no mappings");
	char *spec = strdup(m->idmap_spec);
	if (!spec)
		return vs_fail(err, ENOMEM, "%s", field);
	int rc = 0;
	char *save = NULL;
	for (char *part = strtok_r(spec, ";", &save); part && rc == 0;
	     part = strtok_r(NULL, ";", &save)) {
		bool uids = !strncmp(part, "uids=", 5);
		if (!uids && strncmp(part, "gids=", 5)) {
			rc = vs_json_fail(err, field, "options",
					  "\"idmap=%s\": expected uids=... or gids=...", opt);
			break;
		}
		vs_idmap **maps = uids ? &m->uid_mappings : &m->gid_mappings;
		size_t *n = uids ? &m->n_uid_mappings : &m->n_gid_mappings;
		if (*n) {
			rc = vs_json_fail(err, field, "options", "\"idmap=%s\": %s given twice",
					  opt, uids ? "uids" : "gids");
			break;
		}
		char *save2 = NULL;
		for (char *t = strtok_r(part + 5, "#", &save2); t && rc == 0;
		     t = strtok_r(NULL, "#", &save2)) {
			vs_idmap *nm = realloc(*maps, (*n + 1) * sizeof(**maps));
			if (!nm) {
				rc = vs_fail(err, ENOMEM, "%s", field);
				break;
			}
			*maps = nm;
			rc = parse_triplet(t, uids ? c->uid_mappings : c->gid_mappings,
					   uids ? c->n_uid_mappings : c->n_gid_mappings, &nm[*n],
					   field, opt, err);
			if (rc == 0)
				++*n;
		}
	}
	free(spec);
	return rc;
}

static int copy_maps(const vs_idmap *src, size_t n, vs_idmap **out, size_t *count, vs_err *err)
{
	*out = malloc(n * sizeof(*src));
	if (!*out)
		return vs_fail(err, ENOMEM, "idmap");
	memcpy(*out, src, n * sizeof(*src));
	*count = n;
	return 0;
}

static int check_one(vs_config *c, vs_mount *m, const char *field, vs_err *err)
{
	if (m->bind && m->data)
		return vs_json_fail(err, field, "options",
				    "\"%s\" is not a mount flag, and a bind mount takes no "
				    "filesystem data",
				    m->data);
	if (m->tmpcopyup && (m->bind || strcmp(m->type, "tmpfs")))
		return vs_json_fail(err, field, "options", "\"tmpcopyup\" applies to tmpfs only");
	if (m->copy_symlink && !m->bind)
		return vs_json_fail(err, field, "options",
				    "\"copy-symlink\" applies to bind mounts only");
	if (m->idmap_spec) {
		if (m->n_uid_mappings || m->n_gid_mappings)
			return vs_json_fail(err, field, "options",
					    "\"idmap=\" mappings and uidMappings/gidMappings "
					    "both given");
		if (parse_idmap_spec(c, m, field, err) < 0)
			return -1;
	}
	if (!m->n_uid_mappings != !m->n_gid_mappings)
		return vs_json_fail(err, field, m->n_uid_mappings ? "gidMappings" : "uidMappings",
				    "required with %s",
				    m->n_uid_mappings ? "uidMappings" : "gidMappings");
	if (m->n_uid_mappings)
		m->idmap = true;
	if (!m->idmap)
		return 0;
	if (!m->bind)
		return vs_json_fail(err, field, "options", "idmapped mounts are bind mounts only");
	/* The idmapped tree is made by the runtime, in its own mount namespace. */
	if (c->ns[VS_NS_MNT].path)
		return vs_json_fail(err, field, "options",
				    "an idmapped mount with a joined mount namespace is not "
				    "supported");
	if (m->n_uid_mappings)
		return 0;
	/* No mappings of its own: the container's user namespace's. */
	if (!c->ns[VS_NS_USER].present)
		return vs_json_fail(err, field, "options",
				    "idmap needs uidMappings/gidMappings or a user namespace");
	if (c->ns[VS_NS_USER].path)
		return 0; /* the runtime maps through the joined namespace itself */
	if (!c->n_uid_mappings || !c->n_gid_mappings)
		return vs_json_fail(err, field, "options",
				    "idmap needs linux.uidMappings and linux.gidMappings");
	return copy_maps(c->uid_mappings, c->n_uid_mappings, &m->uid_mappings, &m->n_uid_mappings,
			 err) < 0 ||
			       copy_maps(c->gid_mappings, c->n_gid_mappings, &m->gid_mappings,
					 &m->n_gid_mappings, err) < 0
		       ? -1
		       : 0;
}

int vs_mount_ext_check(vs_config *c, vs_err *err)
{
	for (size_t i = 0; i < c->n_mounts; i++) {
		char field[64];
		vs_json_index(field, sizeof(field), "config.json: mounts", i);
		if (check_one(c, &c->mounts[i], field, err) < 0)
			return -1;
	}
	return 0;
}

void vs_mount_ext_free(vs_mount *m)
{
	free(m->options);
	free(m->idmap_spec);
	free(m->uid_mappings);
	free(m->gid_mappings);
}
