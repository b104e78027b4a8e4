/* Documents vessel generates: the default config.json and features JSON. */
#ifndef VESSEL_OCI_SPEC_H
#define VESSEL_OCI_SPEC_H

#include <json-c/json.h>
#include <stdbool.h>

/* The config.json `vessel spec` writes (runc's default, sh as the program). */
json_object *vs_spec_default(bool rootless);

/* The runtime-spec "features" document describing what vessel supports. */
json_object *vs_features(void);

#endif
