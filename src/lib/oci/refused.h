/* config.json fields vessel does not apply: the runtime-spec says a runtime
 * MUST error on what it does not support, so each is refused by name with
 * why (the host lacks it, or vessel does not implement it). */
#ifndef VESSEL_OCI_REFUSED_H
#define VESSEL_OCI_REFUSED_H

#include <json-c/json.h>

#include "core/error.h"

/* process.apparmorProfile, process.selinuxLabel, linux.mountLabel (empty
 * strings, which podman sends when unset, are accepted) and linux.intelRdt.
 * process and linux_ may be NULL. */
int vs_config_refuse_unapplied(json_object *process, json_object *linux_, vs_err *err);

/* A command-line option asking for one of them (exec --apparmor names the
 * key "apparmorProfile"): always an error, saying why. */
int vs_refuse_option(const char *option, const char *key, vs_err *err);

#endif
