#include "oci/refused.h"

#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"

/* What each refused field needs from the host, and how to tell it is there
 * (the same probes runc uses). */
static const struct refused {
	bool in_process; /* else under linux */
	const char *key;
	bool is_label; /* a string: "" means unset */
	const char *facility, *probe;
} refused[] = {
	{ true, "apparmorProfile", true, "AppArmor", "/sys/kernel/security/apparmor" },
	{ true, "selinuxLabel", true, "SELinux", "/sys/fs/selinux" },
	{ false, "mountLabel", true, "SELinux", "/sys/fs/selinux" },
	{ false, "intelRdt", false, "resctrl", "/sys/fs/resctrl/info" },
};

static int refuse(const struct refused *r, const char *where, vs_err *err)
{
	if (access(r->probe, F_OK) < 0)
		return vs_json_fail(err, where, r->key,
				    "%s is not enabled on this host (%s missing)", r->facility,
				    r->probe);
	return vs_json_fail(err, where, r->key, "%s is not supported by vessel", r->facility);
}

int vs_config_refuse_unapplied(json_object *process, json_object *linux_, vs_err *err)
{
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const struct refused *r = &refused[i];
		json_object *parent = r->in_process ? process : linux_;
		const char *where = r->in_process ? "config.json: process" : "config.json: linux";
		int rc;
		if (r->is_label) {
			const char *label = NULL;
			rc = vs_json_get_cstr(parent, where, r->key, &label, err);
			if (rc > 0 && !label[0])
				rc = 0;
		} else {
			json_object *o;
			rc = vs_json_get_object(parent, where, r->key, &o, err);
		}
		if (rc < 0 || (rc > 0 && refuse(r, where, err) < 0))
			return -1;
	}
	return 0;
}

int vs_refuse_option(const char *option, const char *key, vs_err *err)
{
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const struct refused *r = &refused[i];
		if (strcmp(r->key, key))
			continue;
		if (access(r->probe, F_OK) < 0)
			return vs_fail(err, 0, "%s: %s is not enabled on this host (%s missing)",
				       option, r->facility, r->probe);
		return vs_fail(err, 0, "%s: %s is not supported by vessel", option, r->facility);
	}
	return vs_fail(err, 0, "%s: not supported by vessel", option);
}
