/* Checks across config.json fields that each parse fine alone but
 * contradict each other, or ask for what the namespaces given cannot do. */
#ifndef VESSEL_OCI_CONSISTENCY_H
#define VESSEL_OCI_CONSISTENCY_H

#include "core/error.h"
#include "oci/config.h"

/* kernel.hostname/kernel.domainname sysctls against hostname/domainname. */
int vs_config_check_consistency(const vs_config *c, vs_err *err);

/* For backends that build a rootfs with mounts (the container backend):
 * without a mount namespace, refuse every field that would mount on the host. */
int vs_config_check_mount_namespace(const vs_config *c, vs_err *err);

#endif
