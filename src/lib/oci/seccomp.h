/* linux.seccomp (runtime-spec config-linux.md "Seccomp") parsed into a typed
 * profile: names resolved to libseccomp's values, so that applying it in the
 * container init cannot fail on a spelling. */
#ifndef VESSEL_OCI_SECCOMP_H
#define VESSEL_OCI_SECCOMP_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct vs_seccomp_arg {
	unsigned index; /* 0..5 */
	int op;		/* enum scmp_compare */
	uint64_t value, value_two;
} vs_seccomp_arg;

typedef struct vs_seccomp_rule {
	int *syscalls; /* native numbers (or libseccomp pseudo numbers); unknown names dropped */
	size_t n_syscalls;
	uint32_t action; /* SCMP_ACT_*, errno/trace data included */
	vs_seccomp_arg *args;
	size_t n_args;
} vs_seccomp_rule;

typedef struct vs_seccomp {
	uint32_t default_action;
	uint32_t *archs; /* SCMP_ARCH_* tokens added next to the native one */
	size_t n_archs;
	bool flag_tsync, flag_log, flag_spec_allow;
	char *listener_path;	 /* NULL unless a rule notifies */
	char *listener_metadata; /* NULL if absent */
	bool has_notify;	 /* some rule has SCMP_ACT_NOTIFY */
	vs_seccomp_rule *rules;
	size_t n_rules;
} vs_seccomp;

/* Parse parent's "seccomp" member; `where` names the parent ("config.json: linux").
 * *out is NULL when it is absent. Unknown syscall names are skipped with a
 * warning, as runc does. */
int vs_seccomp_parse(json_object *parent, const char *where, vs_seccomp **out, vs_err *err);
void vs_seccomp_free(vs_seccomp *s);

/* Names vessel knows, NULL terminated (for `features`). vs_seccomp_archs
 * lists every SCMP_ARCH_* name; those libseccomp cannot resolve are refused. */
extern const char *const vs_seccomp_actions[];
extern const char *const vs_seccomp_operators[];
extern const char *const vs_seccomp_flags[];
extern const char *const vs_seccomp_archs[];

/* The features.json linux.seccomp object (seccomp_features.c). */
json_object *vs_seccomp_features(void);

/* "SCMP_ARCH_X86_64" to its token, 0 if libseccomp does not know it. */
uint32_t vs_seccomp_arch_token(const char *name);

#endif
