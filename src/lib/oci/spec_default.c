#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "oci/spec.h"
#include "oci/version.h"

static json_object *strings(const char *const *v)
{
	json_object *a = json_object_new_array();
	for (; *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

static json_object *mount(const char *dest, const char *type, const char *src,
			  const char *const *opts)
{
	json_object *m = json_object_new_object();
	json_object_object_add(m, "destination", json_object_new_string(dest));
	json_object_object_add(m, "type", json_object_new_string(type));
	json_object_object_add(m, "source", json_object_new_string(src));
	if (opts)
		json_object_object_add(m, "options", strings(opts));
	return m;
}

static json_object *idmap(unsigned host)
{
	json_object *a = json_object_new_array(), *m = json_object_new_object();
	json_object_object_add(m, "containerID", json_object_new_int(0));
	json_object_object_add(m, "hostID", json_object_new_int64(host));
	json_object_object_add(m, "size", json_object_new_int(1));
	json_object_array_add(a, m);
	return a;
}

json_object *vs_spec_default(bool rootless)
{
	static const char *const caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE",
					    NULL };
	static const char *const args[] = { "sh", NULL };
	static const char *const env[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm",
		NULL
	};
	static const char *const masked[] = { "/proc/acpi",
					      "/proc/asound",
					      "/proc/kcore",
					      "/proc/keys",
					      "/proc/latency_stats",
					      "/proc/timer_list",
					      "/proc/timer_stats",
					      "/proc/sched_debug",
					      "/sys/firmware",
					      "/proc/scsi",
					      NULL };
	static const char *const ro[] = { "/proc/bus",		 "/proc/fs",
					  "/proc/irq",		 "/proc/sys",
					  "/proc/sysrq-trigger", NULL };

	json_object *o = json_object_new_object();
	json_object_object_add(o, "ociVersion", json_object_new_string(VS_OCI_VERSION));

	json_object *p = json_object_new_object();
	json_object_object_add(p, "terminal", json_object_new_boolean(0));
	json_object *user = json_object_new_object();
	json_object_object_add(user, "uid", json_object_new_int(0));
	json_object_object_add(user, "gid", json_object_new_int(0));
	json_object_object_add(p, "user", user);
	json_object_object_add(p, "args", strings(args));
	json_object_object_add(p, "env", strings(env));
	json_object_object_add(p, "cwd", json_object_new_string("/"));
	json_object *cp = json_object_new_object();
	static const char *const sets[] = { "bounding", "effective", "permitted", "ambient", NULL };
	for (const char *const *s = sets; *s; s++)
		json_object_object_add(cp, *s, strings(caps));
	json_object_object_add(p, "capabilities", cp);
	json_object *rl = json_object_new_array(), *nofile = json_object_new_object();
	json_object_object_add(nofile, "type", json_object_new_string("RLIMIT_NOFILE"));
	json_object_object_add(nofile, "hard", json_object_new_int(1024));
	json_object_object_add(nofile, "soft", json_object_new_int(1024));
	json_object_array_add(rl, nofile);
	json_object_object_add(p, "rlimits", rl);
	json_object_object_add(p, "noNewPrivileges", json_object_new_boolean(1));
	json_object_object_add(o, "process", p);

	json_object *root = json_object_new_object();
	json_object_object_add(root, "path", json_object_new_string("rootfs"));
	json_object_object_add(root, "readonly", json_object_new_boolean(1));
	json_object_object_add(o, "root", root);
	json_object_object_add(o, "hostname", json_object_new_string("vessel"));

	json_object *mounts = json_object_new_array();
	json_object_array_add(mounts, mount("/proc", "proc", "proc", NULL));
	json_object_array_add(mounts,
			      mount("/dev", "tmpfs", "tmpfs",
				    (const char *const[]){ "nosuid", "strictatime", "mode=755",
							   "size=65536k", NULL }));
	json_object_array_add(
		mounts,
		mount("/dev/pts", "devpts", "devpts",
		      (const char *const[]){ "nosuid", "noexec", "newinstance", "ptmxmode=0666",
					     "mode=0620", rootless ? NULL : "gid=5", NULL }));
	json_object_array_add(mounts,
			      mount("/dev/shm", "tmpfs", "shm",
				    (const char *const[]){ "nosuid", "noexec", "nodev", "mode=1777",
							   "size=65536k", NULL }));
	json_object_array_add(mounts,
			      mount("/dev/mqueue", "mqueue", "mqueue",
				    (const char *const[]){ "nosuid", "noexec", "nodev", NULL }));
	if (rootless)
		json_object_array_add(mounts,
				      mount("/sys", "none", "/sys",
					    (const char *const[]){ "rbind", "nosuid", "noexec",
								   "nodev", "ro", NULL }));
	else
		json_object_array_add(mounts, mount("/sys", "sysfs", "sysfs",
						    (const char *const[]){ "nosuid", "noexec",
									   "nodev", "ro", NULL }));
	json_object_array_add(mounts, mount("/sys/fs/cgroup", "cgroup", "cgroup",
					    (const char *const[]){ "nosuid", "noexec", "nodev",
								   "relatime", "ro", NULL }));
	json_object_object_add(o, "mounts", mounts);

	json_object *lx = json_object_new_object();
	if (!rootless) {
		json_object *res = json_object_new_object(), *devs = json_object_new_array(),
			    *deny = json_object_new_object();
		json_object_object_add(deny, "allow", json_object_new_boolean(0));
		json_object_object_add(deny, "access", json_object_new_string("rwm"));
		json_object_array_add(devs, deny);
		json_object_object_add(res, "devices", devs);
		json_object_object_add(lx, "resources", res);
	} else {
		json_object_object_add(lx, "uidMappings", idmap(getuid()));
		json_object_object_add(lx, "gidMappings", idmap(getgid()));
	}
	json_object *ns = json_object_new_array();
	static const char *const nss[] = {
		"pid", "network", "ipc", "uts", "mount", "cgroup", NULL
	};
	for (const char *const *n = nss; *n; n++) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "type", json_object_new_string(*n));
		json_object_array_add(ns, e);
	}
	if (rootless) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "type", json_object_new_string("user"));
		json_object_array_add(ns, e);
	}
	json_object_object_add(lx, "namespaces", ns);
	json_object_object_add(lx, "maskedPaths", strings(masked));
	json_object_object_add(lx, "readonlyPaths", strings(ro));
	json_object_object_add(o, "linux", lx);
	return o;
}
