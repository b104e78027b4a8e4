#include "microvm/hwvirt.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "microvm/annotations.h"
#include "vm/vm.h"

/* The first "flags" line: every CPU of a host has the same. */
static bool cpu_has_hwvirt(const char *cpuinfo)
{
	FILE *f = fopen(cpuinfo, "re");
	if (!f)
		return false;
	char line[8192];
	bool hw = false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		char *save;
		for (char *t = strtok_r(line, " \t\n", &save); t;
		     t = strtok_r(NULL, " \t\n", &save))
			if (!strcmp(t, "vmx") || !strcmp(t, "svm"))
				hw = true;
		break;
	}
	fclose(f);
	return hw;
}

const char *vs_hwvirt_missing(const char *cpuinfo, const char *kvm_dev, bool kvm_emulated)
{
	if (access(kvm_dev, R_OK | W_OK) < 0)
		return "no usable /dev/kvm";
	if (!cpu_has_hwvirt(cpuinfo))
		return "no VT-x/AMD-V under /dev/kvm (no vmx or svm flag in /proc/cpuinfo)";
	if (kvm_emulated)
		return "no VT-x/AMD-V under /dev/kvm (KVM emulates every instruction)";
	return NULL;
}

int vs_hwvirt_check(json_object *annotations, vs_err *err)
{
	const char *allow;
	if (vs_annotation_get(annotations, VS_ANN_ALLOW_EMULATED, &allow, err) < 0)
		return -1;
	if (allow && strcmp(allow, "true") && strcmp(allow, "false"))
		return vs_fail(err, 0, "annotation %s: \"%s\" is not true or false",
			       VS_ANN_ALLOW_EMULATED, allow);
	if (allow && !strcmp(allow, "true"))
		return 0;
	const char *why = vs_hwvirt_missing("/proc/cpuinfo", "/dev/kvm", vs_kvm_is_emulated());
	if (!why)
		return 0;
	return vs_fail(err, 0,
		       "microvm: %s: a Linux guest cannot run here (set the annotation %s=true to "
		       "try anyway)",
		       why, VS_ANN_ALLOW_EMULATED);
}
