/* The network request (network.c). */
#ifndef VESSEL_AGENT_NETWORK_H
#define VESSEL_AGENT_NETWORK_H

#include <json-c/json.h>

#include "core/error.h"

int net_configure(json_object *req, vs_err *err);

#endif
