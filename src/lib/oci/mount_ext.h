/* Mount options that are not kernel flags nor filesystem data: the
 * extensions runc, crun and the engines (podman, containerd, CRI-O) put in
 * mounts[].options, and mounts[].uidMappings/gidMappings. */
#ifndef VESSEL_OCI_MOUNT_EXT_H
#define VESSEL_OCI_MOUNT_EXT_H

#include <json-c/json.h>

#include "core/error.h"
#include "oci/config.h"

/* One option of mounts[i] (field is "config.json: mounts[i]"): 1 if it is
 * an extension vessel applies (recorded in m), 0 if it is not an extension
 * (filesystem data), -1 if it is one vessel refuses (err names it). */
int vs_mount_ext_option(vs_mount *m, const char *opt, const char *field, vs_err *err);

/* Keep the option list as given, comma-joined, for error messages. */
int vs_mount_ext_record_options(vs_mount *m, char **opts, const char *field, vs_err *err);

/* mounts[i].uidMappings and gidMappings. */
int vs_mount_ext_parse(json_object *o, const char *field, vs_mount *m, vs_err *err);

/* Once the whole config is read: checks that need the mount's type and the
 * container's namespaces, and crun's idmap=uids=... mappings (whose '@'
 * entries are relative to the container's user namespace). */
int vs_mount_ext_check(vs_config *c, vs_err *err);

void vs_mount_ext_free(vs_mount *m);

/* For `features` mountOptions: the i-th extension, NULL for a refused one. */
size_t vs_mount_ext_count(void);
const char *vs_mount_ext_name(size_t i);

#endif
