#include <json-c/json.h>
#include <sys/capability.h>

#include "oci/config.h"
#include "oci/mount_ext.h"
#include "oci/process_attrs.h"
#include "oci/seccomp.h"
#include "oci/spec.h"
#include "oci/version.h"

static json_object *array_of(const char *const *v)
{
	json_object *a = json_object_new_array();
	for (; *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

json_object *vs_features(void)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ociVersionMin", json_object_new_string(VS_OCI_VERSION_MIN));
	json_object_object_add(o, "ociVersionMax", json_object_new_string(VS_OCI_VERSION));
	json_object *hooks = json_object_new_array();
	for (int k = 0; k < VS_HOOK_KINDS; k++)
		json_object_array_add(hooks, json_object_new_string(vs_hook_kind_name(k)));
	json_object_object_add(o, "hooks", hooks);

	json_object *mo = json_object_new_array();
	for (size_t i = 0; i < vs_mount_option_count(); i++)
		json_object_array_add(mo, json_object_new_string(vs_mount_option_name(i)));
	for (size_t i = 0; i < vs_mount_ext_count(); i++)
		if (vs_mount_ext_name(i))
			json_object_array_add(mo, json_object_new_string(vs_mount_ext_name(i)));
	json_object_object_add(o, "mountOptions", mo);

	json_object *lx = json_object_new_object();
	json_object *ns = json_object_new_array();
	for (int t = 0; t < VS_NS_COUNT; t++)
		json_object_array_add(ns, json_object_new_string(vs_ns_name(t)));
	json_object_object_add(lx, "namespaces", ns);
	json_object *caps = json_object_new_array();
	for (int c = 0; c < (int)cap_max_bits(); c++) {
		char *name = cap_to_name(c);
		if (!name)
			continue;
		/* libcap prints lower case ("cap_chown"); the spec uses CAP_CHOWN. */
		char up[64];
		size_t i;
		for (i = 0; name[i] && i < sizeof(up) - 1; i++)
			up[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
		up[i] = '\0';
		cap_free(name);
		json_object_array_add(caps, json_object_new_string(up));
	}
	json_object_object_add(lx, "capabilities", caps);
	json_object *cg = json_object_new_object();
	json_object_object_add(cg, "v1", json_object_new_boolean(1));
	json_object_object_add(cg, "v2", json_object_new_boolean(1));
	json_object_object_add(cg, "systemd", json_object_new_boolean(0));
	json_object_object_add(cg, "systemdUser", json_object_new_boolean(0));
	json_object_object_add(lx, "cgroup", cg);
	json_object_object_add(lx, "seccomp", vs_seccomp_features());
	json_object *off = json_object_new_object();
	json_object_object_add(off, "enabled", json_object_new_boolean(0));
	json_object_object_add(lx, "apparmor", off);
	json_object_object_add(lx, "selinux", json_object_get(off));
	json_object_object_add(lx, "intelRdt", json_object_get(off));
	json_object *nd = json_object_new_object();
	json_object_object_add(nd, "enabled", json_object_new_boolean(1));
	json_object_object_add(lx, "netDevices", nd);
	json_object *idmap = json_object_new_object(), *mx = json_object_new_object();
	json_object_object_add(idmap, "enabled", json_object_new_boolean(1));
	json_object_object_add(mx, "idmap", idmap);
	json_object_object_add(lx, "mountExtensions", mx);
	json_object_object_add(o, "linux", lx);

	json_object *ann = json_object_new_object();
	json_object_object_add(ann, "io.vessel.backend", json_object_new_string("container"));
	vs_process_attrs_features(lx, ann);
	json_object_object_add(o, "annotations", ann);
	(void)array_of;
	return o;
}
