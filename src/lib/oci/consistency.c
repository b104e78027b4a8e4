#include "oci/consistency.h"

#include <string.h>

/* Both set the same kernel value: the sysctl, written later, would win
 * silently. A contradiction is the author's mistake: say so. */
static int check_uts_sysctl(const vs_config *c, const char *key, const char *field,
			    const char *value, vs_err *err)
{
	if (!value)
		return 0;
	for (size_t i = 0; i < c->n_sysctl; i++)
		if (!strcmp(c->sysctl[i].key, key) && strcmp(c->sysctl[i].value, value))
			return vs_fail(err, 0,
				       "config.json: linux.sysctl.%s: \"%s\" contradicts %s \"%s\"",
				       key, c->sysctl[i].value, field, value);
	return 0;
}

/* Without a mount namespace the container shares the host's mount table:
 * anything mounted would land (and stay) on the host. runc 1.1 refuses
 * maskedPaths/readonlyPaths there; it performs `mounts` in the host's
 * namespace, which vessel refuses too (it would leave mounts behind). */
int vs_config_check_mount_namespace(const vs_config *c, vs_err *err)
{
	static const char why[] = "needs a mount namespace (linux.namespaces has none: "
				  "it would change the host's mounts)";
	if (c->ns[VS_NS_MNT].present)
		return 0;
	if (c->n_mounts)
		return vs_fail(err, 0, "config.json: mounts[0] (%s): %s", c->mounts[0].destination,
			       why);
	if (c->n_masked_paths)
		return vs_fail(err, 0, "config.json: linux.maskedPaths: %s", why);
	if (c->n_readonly_paths)
		return vs_fail(err, 0, "config.json: linux.readonlyPaths: %s", why);
	if (c->root_readonly)
		return vs_fail(err, 0, "config.json: root.readonly: %s", why);
	if (c->rootfs_propagation)
		return vs_fail(err, 0, "config.json: linux.rootfsPropagation: %s", why);
	if (c->n_devices)
		return vs_fail(err, 0, "config.json: linux.devices: %s", why);
	/* Written through the container's own /proc, which only a mount can give. */
	if (c->n_sysctl)
		return vs_fail(err, 0, "config.json: linux.sysctl: %s", why);
	return 0;
}

int vs_config_check_consistency(const vs_config *c, vs_err *err)
{
	if (check_uts_sysctl(c, "kernel.hostname", "hostname", c->hostname, err) < 0 ||
	    check_uts_sysctl(c, "kernel.domainname", "domainname", c->domainname, err) < 0)
		return -1;
	return 0;
}
