/* config.json (OCI runtime-spec, Linux) parsed into typed structs. Parsing
 * validates types and values so that create fails before touching the host. */
#ifndef VESSEL_OCI_CONFIG_H
#define VESSEL_OCI_CONFIG_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "oci/hooks.h"
#include "oci/process_attrs.h"
#include "oci/netdev.h"

enum vs_ns_type {
	VS_NS_PID = 0,
	VS_NS_NET,
	VS_NS_MNT,
	VS_NS_IPC,
	VS_NS_UTS,
	VS_NS_USER,
	VS_NS_CGROUP,
	VS_NS_TIME,
	VS_NS_COUNT
};

typedef struct vs_namespace {
	bool present; /* listed in linux.namespaces */
	char *path;   /* join this namespace instead of creating one */
} vs_namespace;

typedef struct vs_idmap {
	uint32_t container_id, host_id, size;
} vs_idmap;

typedef struct vs_mount {
	char *destination;
	char *source;
	char *type;
	char *data;		     /* options the kernel gets as a string */
	unsigned long flags;	     /* MS_* set on the mount */
	unsigned long propagation;   /* MS_SHARED/... | MS_REC, 0 if none */
	uint64_t attr_set, attr_clr; /* MOUNT_ATTR_* for recursive r* options */
	bool atime_set;		     /* an r*atime option: replace the atime mode */
	uint64_t atime_mode;	     /* MOUNT_ATTR_RELATIME (0), _NOATIME or _STRICTATIME */
	bool bind;		     /* bind or rbind */
	bool has_rw;		     /* "rw" given: clears MS_RDONLY on remount */
	char *options;		     /* the options as given, comma-joined, for messages */
	/* Runtime extensions (runc, crun, engines): oci/mount_ext.c. */
	bool tmpcopyup;	      /* a tmpfs starts with the image's contents there */
	bool copy_symlink;    /* a symlink source is recreated, not followed */
	bool idmap;	      /* idmapped bind (idmap, ridmap or uid/gidMappings) */
	bool idmap_recursive; /* ridmap: every submount is idmapped too */
	char *idmap_spec;     /* crun's "idmap=uids=...;gids=..." value */
	vs_idmap *uid_mappings, *gid_mappings; /* the mount's own, else the container's */
	size_t n_uid_mappings, n_gid_mappings;
} vs_mount;

typedef struct vs_rlimit {
	int resource;
	uint64_t soft, hard;
} vs_rlimit;

typedef struct vs_device {
	char *path;
	char type; /* 'c', 'b', 'u', 'p' */
	int64_t major, minor;
	bool has_mode, has_uid, has_gid;
	mode_t mode;
	uid_t uid;
	gid_t gid;
} vs_device;

enum vs_cap_set {
	VS_CAP_BOUNDING = 0,
	VS_CAP_EFFECTIVE,
	VS_CAP_INHERITABLE,
	VS_CAP_PERMITTED,
	VS_CAP_AMBIENT,
	VS_CAP_SETS
};

typedef struct vs_process {
	bool terminal;
	char **args; /* NULL terminated */
	char **env;  /* NULL terminated */
	char *cwd;
	uid_t uid;
	gid_t gid;
	bool has_umask;
	mode_t umask;
	gid_t *additional_gids;
	size_t n_additional_gids;
	vs_rlimit *rlimits;
	size_t n_rlimits;
	bool has_caps; /* process.capabilities present at all */
	uint64_t caps[VS_CAP_SETS];
	bool no_new_privileges;
	bool has_oom_score_adj;
	int oom_score_adj;
	bool has_console_size; /* process.consoleSize, applied with TIOCSWINSZ */
	unsigned short console_height, console_width;
} vs_process;

/* Parse one process object (config.json's, or `exec --process`'s); where
 * names it in errors ("config.json: process"). Free with vs_process_free. */
int vs_process_parse(json_object *proc, const char *where, vs_process *p, vs_err *err);
void vs_process_free(vs_process *p);
/* oci/console_size.c: process.consoleSize {height, width}. */
int vs_console_size_parse(json_object *proc, const char *where, vs_process *p, vs_err *err);

typedef struct vs_kv {
	char *key, *value;
} vs_kv;

struct vs_seccomp;

typedef struct vs_config {
	json_object *doc; /* the parsed document (owns raw sections) */
	char *bundle;	  /* absolute bundle dir: base of relative paths */
	char *oci_version;
	char *root_path; /* absolute (bundle-relative paths resolved) */
	bool root_readonly;
	char *hostname;
	char *domainname;
	vs_mount *mounts;
	size_t n_mounts;
	bool has_process;
	vs_process process;
	vs_namespace ns[VS_NS_COUNT];
	vs_idmap *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	int64_t time_offsets[2][2]; /* [monotonic|boottime][secs|nanosecs] */
	bool has_time_offsets;
	vs_device *devices;
	size_t n_devices;
	char **masked_paths;
	size_t n_masked_paths;
	char **readonly_paths;
	size_t n_readonly_paths;
	vs_kv *sysctl;
	size_t n_sysctl;
	unsigned long rootfs_propagation; /* 0: default (rslave) */
	char *cgroups_path;
	json_object *resources;	  /* linux.resources, borrowed from doc */
	json_object *annotations; /* borrowed from doc, may be NULL */
	vs_hooks hooks;
	json_object *hooks_json;	/* the raw "hooks" object, borrowed from doc */
	struct vs_seccomp *seccomp;	/* linux.seccomp (oci/seccomp.h), NULL if absent */
	vs_process_attrs process_attrs; /* personality, scheduler, I/O priority, memory policy */
	vs_netdevs net_devices;		/* linux.netDevices */
} vs_config;

/* Parse and validate bundle/config.json. root.path is resolved against bundle. */
int vs_config_load(const char *bundle, vs_config **out, vs_err *err);
int vs_config_parse(const char *json_text, const char *bundle, vs_config **out, vs_err *err);
void vs_config_free(vs_config *c);

const char *vs_ns_name(enum vs_ns_type t);
int vs_ns_clone_flag(enum vs_ns_type t);

/* Parse one mount option into m; returns false if it is not a known flag
 * (the caller then passes it to the filesystem as data). */
bool vs_mount_option_apply(vs_mount *m, const char *opt);

/* An array of {containerID, hostID, size} at parent[key] ("where.key[i]" in errors). */
int vs_config_parse_idmaps(json_object *parent, const char *where, const char *key, vs_idmap **out,
			   size_t *count, vs_err *err);

/* Number of mount option names known (for `features`), and the i-th name. */
size_t vs_mount_option_count(void);
const char *vs_mount_option_name(size_t i);

/* rlimit name ("RLIMIT_NOFILE") to resource number, -1 if unknown. */
int vs_rlimit_from_name(const char *name);

/* A capability name ("CAP_CHOWN") to its number, -1 if unknown. */
int vs_cap_from_name(const char *name);

#endif
