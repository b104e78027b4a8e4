#include "microvm/select.h"

#include <string.h>

#include "microvm/annotations.h"

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

int vs_backend_select(json_object *annotations, bool vm_default, const char **backend, vs_err *err)
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
	if (sandbox)
		*backend = "container";
	else if (v)
		*backend = v;
	else
		*backend = vm_default ? "microvm" : "container";
	return 0;
}

bool vs_invoked_as_vm(const char *argv0)
{
	if (!argv0)
		return false;
	const char *base = strrchr(argv0, '/');
	return !strcmp(base ? base + 1 : argv0, VS_MICROVM_ARGV0);
}
