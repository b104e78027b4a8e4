#include "microvm/select.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "microvm/annotations.h"
#include "microvm/hostconfig.h"

static int is_sandbox(json_object *annotations, bool *out, vs_err *err)
{
	static const char *const keys[] = { VS_ANN_CRI_TYPE, VS_ANN_CRIO_TYPE };
	*out = false;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v;
		if (vs_annotation_get(annotations, keys[i], &v, err) < 0)
			return -1;
		if (v && !strcmp(v, VS_CRI_SANDBOX))
			*out = true;
	}
	return 0;
}

/* Whether the host config's vm.allow-container is true (absent: false). */
static int container_allowed(const char *config_file, bool *out, vs_err *err)
{
	*out = false;
	json_object *doc, *vm;
	if (vs_host_config_vm(config_file, &doc, &vm, err) < 0)
		return -1;
	char where[PATH_MAX + 8];
	snprintf(where, sizeof(where), "%s: vm", config_file ? config_file : "");
	int rc = vm ? vs_json_get_bool(vm, where, "allow-container", out, err) : 0;
	json_object_put(doc);
	return rc < 0 ? -1 : 0;
}

int vs_backend_select(json_object *annotations, bool vm_default, const char *config_file,
		      const char **backend, vs_err *err)
{
	const char *v;
	bool sandbox;
	if (vs_annotation_get(annotations, VS_ANN_BACKEND, &v, err) < 0 ||
	    is_sandbox(annotations, &sandbox, err) < 0)
		return -1;
	/* The pause container holds the pod's namespaces for every other
	 * container of the pod: it must share them, not own them in a VM. Pod
	 * annotations reach it too (containerd's pod_annotations), so even an
	 * explicit microvm does not make it one. */
	if (sandbox) {
		*backend = "container";
		return 0;
	}
	*backend = v ? v : vm_default ? "microvm" : "container";
	/* Under vessel-vm (a VM RuntimeClass) the annotation is the tenant's:
	 * it must not buy back the host's kernel unless the host says so. */
	if (vm_default && v && !strcmp(v, "container")) {
		bool ok;
		if (container_allowed(config_file, &ok, err) < 0)
			return -1;
		if (!ok)
			return vs_fail(err, EPERM,
				       "annotation %s=container: refused under %s (every workload "
				       "is a microVM; the host allows containers with "
				       "{\"vm\":{\"allow-container\":true}} in %s)",
				       VS_ANN_BACKEND, VS_MICROVM_ARGV0, VS_CONFIG_FILE);
	}
	return 0;
}

bool vs_invoked_as_vm(const char *argv0)
{
	if (!argv0)
		return false;
	const char *base = strrchr(argv0, '/');
	return !strcmp(base ? base + 1 : argv0, VS_MICROVM_ARGV0);
}
