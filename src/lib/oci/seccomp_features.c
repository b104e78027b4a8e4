/* features.json linux.seccomp (runtime-spec features.md): what vessel
 * parses, and which flags this kernel takes. */
#include <errno.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "oci/seccomp.h"

static json_object *names(const char *const *v)
{
	json_object *a = json_object_new_array();
	for (; *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

/* The kernel checks the flags before it reads the (NULL) program: EFAULT
 * means it knows the flag, EINVAL that it does not (runc probes the same way). */
static bool kernel_takes_flag(unsigned long flag)
{
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flag, NULL) < 0 && errno == EFAULT;
}

json_object *vs_seccomp_features(void)
{
	static const unsigned long flag_values[] = { SECCOMP_FILTER_FLAG_TSYNC,
						     SECCOMP_FILTER_FLAG_LOG,
						     SECCOMP_FILTER_FLAG_SPEC_ALLOW };
	json_object *o = json_object_new_object();
	json_object_object_add(o, "enabled", json_object_new_boolean(1));
	json_object_object_add(o, "actions", names(vs_seccomp_actions));
	json_object_object_add(o, "operators", names(vs_seccomp_operators));
	json_object *archs = json_object_new_array();
	for (const char *const *a = vs_seccomp_archs; *a; a++)
		if (vs_seccomp_arch_token(*a))
			json_object_array_add(archs, json_object_new_string(*a));
	json_object_object_add(o, "archs", archs);
	json_object_object_add(o, "knownFlags", names(vs_seccomp_flags));
	json_object *supported = json_object_new_array();
	for (size_t i = 0; vs_seccomp_flags[i]; i++)
		if (kernel_takes_flag(flag_values[i]))
			json_object_array_add(supported,
					      json_object_new_string(vs_seccomp_flags[i]));
	json_object_object_add(o, "supportedFlags", supported);
	return o;
}
