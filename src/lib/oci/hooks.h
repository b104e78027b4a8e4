/* OCI lifecycle hooks: parsed from config.json "hooks" and run at the
 * points the runtime-spec names, with the container state on stdin. */
#ifndef VESSEL_OCI_HOOKS_H
#define VESSEL_OCI_HOOKS_H

#include <json-c/json.h>
#include <stddef.h>

#include "core/error.h"

enum vs_hook_kind {
	VS_HOOK_PRESTART = 0, /* deprecated alias of createRuntime, runs first */
	VS_HOOK_CREATE_RUNTIME,
	VS_HOOK_CREATE_CONTAINER,
	VS_HOOK_START_CONTAINER,
	VS_HOOK_POSTSTART,
	VS_HOOK_POSTSTOP,
	VS_HOOK_KINDS
};

typedef struct vs_hook {
	char *path;
	char **args; /* NULL terminated; may be NULL (argv = {path}) */
	char **env;  /* NULL terminated; may be NULL (the runtime's environment) */
	int timeout; /* seconds, 0 = none */
} vs_hook;

typedef struct vs_hooks {
	vs_hook *list[VS_HOOK_KINDS];
	size_t n[VS_HOOK_KINDS];
} vs_hooks;

const char *vs_hook_kind_name(enum vs_hook_kind k);

/* Parse the "hooks" object (may be NULL); where names it in errors
 * ("config.json: hooks"). */
int vs_hooks_parse(json_object *hooks, const char *where, vs_hooks *out, vs_err *err);
void vs_hooks_free(vs_hooks *h);

/* Run every hook of a kind in order with state_json on stdin; stop at the
 * first failure (nonzero exit, signal, timeout) and report it. */
int vs_hooks_run(const vs_hooks *h, enum vs_hook_kind kind, const char *state_json, vs_err *err);

/* poststart and poststop: run every hook of the kind even when one fails;
 * each failure is a warning naming who ("container ID") and the hook.
 * Returns how many failed. */
int vs_hooks_run_all(const vs_hooks *h, enum vs_hook_kind kind, const char *state_json,
		     const char *who);

#endif
