#include "oci/seccomp.h"

#include <ctype.h>
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "core/json.h"
#include "core/log.h"
#include "core/strv.h"

/* SECCOMP_RET_DATA holds 16 bits; an errno beyond MAX_ERRNO is no errno. */
#define ERRNO_MAX 4095
#define TRACE_MAX 65535
#define ARGS_MAX  6

const char *const vs_seccomp_actions[] = {
	"SCMP_ACT_KILL",	"SCMP_ACT_KILL_PROCESS",
	"SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
	"SCMP_ACT_ERRNO",	"SCMP_ACT_TRACE",
	"SCMP_ACT_ALLOW",	"SCMP_ACT_LOG",
	"SCMP_ACT_NOTIFY",	NULL,
};

const char *const vs_seccomp_operators[] = {
	"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",	    "SCMP_CMP_EQ",
	"SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL,
};
static const int operator_values[] = {
	SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE,	      SCMP_CMP_EQ,
	SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ,
};

const char *const vs_seccomp_flags[] = {
	"SECCOMP_FILTER_FLAG_TSYNC",
	"SECCOMP_FILTER_FLAG_LOG",
	"SECCOMP_FILTER_FLAG_SPEC_ALLOW",
	NULL,
};

const char *const vs_seccomp_archs[] = {
	"SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",	    "SCMP_ARCH_ARM",
	"SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",	   "SCMP_ARCH_MIPS64",	    "SCMP_ARCH_MIPS64N32",
	"SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
	"SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",	    "SCMP_ARCH_S390X",
	"SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",	    "SCMP_ARCH_LOONGARCH64",
	"SCMP_ARCH_M68K",    "SCMP_ARCH_SH",	   "SCMP_ARCH_SHEB",	    NULL,
};

uint32_t vs_seccomp_arch_token(const char *name)
{
	static const char prefix[] = "SCMP_ARCH_";
	if (strncmp(name, prefix, sizeof(prefix) - 1))
		return 0;
	char lower[32];
	size_t i;
	const char *s = name + sizeof(prefix) - 1;
	for (i = 0; s[i] && i < sizeof(lower) - 1; i++)
		lower[i] = (char)tolower((unsigned char)s[i]);
	if (s[i] || !i)
		return 0;
	lower[i] = '\0';
	return seccomp_arch_resolve_name(lower);
}

static int index_of(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

static const struct {
	const char *name;
	uint32_t action;
} action_values[] = {
	{ "SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD }, /* the spec's KILL is the thread's */
	{ "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS },
	{ "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD },
	{ "SCMP_ACT_TRAP", SCMP_ACT_TRAP },
	{ "SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0) },
	{ "SCMP_ACT_TRACE", SCMP_ACT_TRACE(0) },
	{ "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW },
	{ "SCMP_ACT_LOG", SCMP_ACT_LOG },
	{ "SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY },
};

/* action + errnoRet into one libseccomp action. `obj` holds both keys
 * (`akey`, `ekey`), `where` names obj. */
static int parse_action(json_object *obj, const char *where, const char *akey, const char *ekey,
			uint32_t *out, vs_err *err)
{
	const char *name = NULL;
	int rc = vs_json_get_cstr(obj, where, akey, &name, err);
	if (rc <= 0)
		return rc < 0 ? -1 : vs_json_fail(err, where, akey, "required");
	size_t i = 0, n = sizeof(action_values) / sizeof(action_values[0]);
	while (i < n && strcmp(action_values[i].name, name))
		i++;
	if (i == n)
		return vs_json_fail(err, where, akey, "unknown action \"%s\"", name);
	uint32_t act = action_values[i].action;
	bool is_errno = act == SCMP_ACT_ERRNO(0), is_trace = act == SCMP_ACT_TRACE(0);
	int64_t ret = EPERM; /* the default for TRACE too, as runc */
	rc = vs_json_get_int(obj, where, ekey, 0, is_trace ? TRACE_MAX : ERRNO_MAX, &ret, err);
	if (rc < 0)
		return -1;
	if (rc > 0 && !is_errno && !is_trace)
		return vs_json_fail(err, where, ekey,
				    "only applies to SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not %s",
				    name);
	*out = is_errno	  ? SCMP_ACT_ERRNO((uint16_t)ret)
	       : is_trace ? SCMP_ACT_TRACE((uint16_t)ret)
			  : act;
	return 0;
}

static int parse_arg(json_object *a, const char *where, vs_seccomp_arg *out, vs_err *err)
{
	if (!json_object_is_type(a, json_type_object))
		return vs_fail(err, 0, "%s: expected an object", where);
	int64_t index;
	int rc = vs_json_get_int(a, where, "index", 0, ARGS_MAX - 1, &index, err);
	if (rc <= 0)
		return rc < 0 ? -1 : vs_json_fail(err, where, "index", "required");
	out->index = (unsigned)index;
	rc = vs_json_get_u64(a, where, "value", UINT64_MAX, &out->value, err);
	if (rc <= 0)
		return rc < 0 ? -1 : vs_json_fail(err, where, "value", "required");
	if (vs_json_get_u64(a, where, "valueTwo", UINT64_MAX, &out->value_two, err) < 0)
		return -1;
	const char *op = NULL;
	rc = vs_json_get_cstr(a, where, "op", &op, err);
	if (rc <= 0)
		return rc < 0 ? -1 : vs_json_fail(err, where, "op", "required");
	int i = index_of(vs_seccomp_operators, op);
	if (i < 0)
		return vs_json_fail(err, where, "op", "unknown operator \"%s\"", op);
	out->op = operator_values[i];
	return 0;
}

static int parse_names(json_object *sc, const char *where, vs_seccomp_rule *r, vs_err *err)
{
	json_object *names;
	int rc = vs_json_get_array(sc, where, "names", &names, err);
	if (rc <= 0)
		return rc < 0 ? -1 : vs_json_fail(err, where, "names", "required");
	size_t n = json_object_array_length(names);
	r->syscalls = calloc(n ? n : 1, sizeof(*r->syscalls));
	if (!r->syscalls)
		return vs_fail(err, ENOMEM, "%s", where);
	char base[512], what[560];
	vs_json_path(base, sizeof(base), where, "names");
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(names, i);
		vs_json_index(what, sizeof(what), base, i);
		if (!json_object_is_type(v, json_type_string))
			return vs_fail(err, 0, "%s: expected a string", what);
		const char *name = json_object_get_string(v);
		int nr = seccomp_syscall_resolve_name(name);
		if (nr == __NR_SCMP_ERROR) {
			/* A newer profile on an older kernel or libseccomp: runc skips too. */
			vs_warn("%s: unknown syscall \"%s\", skipped", what, name);
			continue;
		}
		r->syscalls[r->n_syscalls++] = nr;
	}
	return 0;
}

static bool rule_names_write(const vs_seccomp_rule *r)
{
	int nr = seccomp_syscall_resolve_name("write");
	for (size_t i = 0; i < r->n_syscalls; i++)
		if (r->syscalls[i] == nr)
			return true;
	return false;
}

static int parse_rule(json_object *sc, const char *where, vs_seccomp_rule *r, vs_err *err)
{
	if (!json_object_is_type(sc, json_type_object))
		return vs_fail(err, 0, "%s: expected an object", where);
	if (parse_names(sc, where, r, err) < 0 ||
	    parse_action(sc, where, "action", "errnoRet", &r->action, err) < 0)
		return -1;
	/* The init writes its errors to the runtime after loading the filter. */
	if (r->action == SCMP_ACT_NOTIFY && rule_names_write(r))
		return vs_json_fail(err, where, "action",
				    "SCMP_ACT_NOTIFY cannot be used for the write syscall");
	json_object *args;
	int rc = vs_json_get_array(sc, where, "args", &args, err);
	if (rc <= 0)
		return rc;
	size_t n = json_object_array_length(args);
	r->args = calloc(n ? n : 1, sizeof(*r->args));
	if (!r->args)
		return vs_fail(err, ENOMEM, "%s", where);
	char base[512], what[560];
	vs_json_path(base, sizeof(base), where, "args");
	for (size_t i = 0; i < n; i++) {
		vs_json_index(what, sizeof(what), base, i);
		if (parse_arg(json_object_array_get_idx(args, i), what, &r->args[i], err) < 0)
			return -1;
		r->n_args++;
	}
	return 0;
}

static int parse_rules(json_object *obj, const char *where, vs_seccomp *s, vs_err *err)
{
	json_object *arr;
	int rc = vs_json_get_array(obj, where, "syscalls", &arr, err);
	if (rc <= 0)
		return rc;
	size_t n = json_object_array_length(arr);
	s->rules = calloc(n ? n : 1, sizeof(*s->rules));
	if (!s->rules)
		return vs_fail(err, ENOMEM, "%s", where);
	char base[512], what[560];
	vs_json_path(base, sizeof(base), where, "syscalls");
	for (size_t i = 0; i < n; i++) {
		vs_json_index(what, sizeof(what), base, i);
		s->n_rules++; /* counted first: a half-parsed rule is freed too */
		if (parse_rule(json_object_array_get_idx(arr, i), what, &s->rules[i], err) < 0)
			return -1;
		if (s->rules[i].action == SCMP_ACT_NOTIFY)
			s->has_notify = true;
	}
	return 0;
}

static int parse_archs(json_object *obj, const char *where, vs_seccomp *s, vs_err *err)
{
	char **names = NULL;
	size_t n = 0;
	int rc = vs_json_get_strv(obj, where, "architectures", &names, &n, err);
	if (rc <= 0)
		return rc;
	s->archs = calloc(n ? n : 1, sizeof(*s->archs));
	if (!s->archs) {
		vs_strv_free(names);
		return vs_fail(err, ENOMEM, "%s", where);
	}
	char base[512];
	vs_json_path(base, sizeof(base), where, "architectures");
	for (size_t i = 0; i < n; i++) {
		uint32_t tok = vs_seccomp_arch_token(names[i]);
		if (!tok) {
			vs_fail(err, 0, "%s[%zu]: unknown architecture \"%s\"", base, i, names[i]);
			vs_strv_free(names);
			return -1;
		}
		s->archs[s->n_archs++] = tok;
	}
	vs_strv_free(names);
	return 0;
}

static int parse_flags(json_object *obj, const char *where, vs_seccomp *s, vs_err *err)
{
	char **flags = NULL;
	size_t n = 0;
	int rc = vs_json_get_strv(obj, where, "flags", &flags, &n, err);
	if (rc <= 0)
		return rc;
	char base[512];
	vs_json_path(base, sizeof(base), where, "flags");
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!strcmp(flags[i], "SECCOMP_FILTER_FLAG_TSYNC"))
			s->flag_tsync = true;
		else if (!strcmp(flags[i], "SECCOMP_FILTER_FLAG_LOG"))
			s->flag_log = true;
		else if (!strcmp(flags[i], "SECCOMP_FILTER_FLAG_SPEC_ALLOW"))
			s->flag_spec_allow = true;
		else if (!strcmp(flags[i], "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"))
			rc = vs_fail(err, 0, "%s[%zu]: %s is not supported (libseccomp %u.%u.%u)",
				     base, i, flags[i], seccomp_version()->major,
				     seccomp_version()->minor, seccomp_version()->micro);
		else
			rc = vs_fail(err, 0, "%s[%zu]: unknown flag \"%s\"", base, i, flags[i]);
	}
	vs_strv_free(flags);
	return rc;
}

static int parse_listener(json_object *obj, const char *where, vs_seccomp *s, vs_err *err)
{
	if (vs_json_get_string(obj, where, "listenerPath", &s->listener_path, err) < 0 ||
	    vs_json_get_string(obj, where, "listenerMetadata", &s->listener_metadata, err) < 0)
		return -1;
	if (s->listener_path && !s->listener_path[0]) {
		free(s->listener_path);
		s->listener_path = NULL;
	}
	if (s->has_notify && !s->listener_path)
		return vs_json_fail(err, where, "listenerPath",
				    "required by the SCMP_ACT_NOTIFY rules");
	if (!s->has_notify && s->listener_path)
		return vs_json_fail(err, where, "listenerPath",
				    "set without a SCMP_ACT_NOTIFY rule");
	if (s->listener_path &&
	    strlen(s->listener_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return vs_json_fail(err, where, "listenerPath", "longer than %zu bytes",
				    sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	return 0;
}

static int parse(json_object *obj, const char *where, vs_seccomp *s, vs_err *err)
{
	if (parse_action(obj, where, "defaultAction", "defaultErrnoRet", &s->default_action, err) <
	    0)
		return -1;
	if (s->default_action == SCMP_ACT_NOTIFY)
		return vs_json_fail(err, where, "defaultAction",
				    "SCMP_ACT_NOTIFY cannot be the default action");
	return parse_archs(obj, where, s, err) < 0 || parse_flags(obj, where, s, err) < 0 ||
			       parse_rules(obj, where, s, err) < 0 ||
			       parse_listener(obj, where, s, err) < 0
		       ? -1
		       : 0;
}

int vs_seccomp_parse(json_object *parent, const char *where, vs_seccomp **out, vs_err *err)
{
	json_object *obj;
	*out = NULL;
	int rc = vs_json_get_object(parent, where, "seccomp", &obj, err);
	if (rc <= 0)
		return rc;
	char self[512];
	vs_json_path(self, sizeof(self), where, "seccomp");
	vs_seccomp *s = calloc(1, sizeof(*s));
	if (!s)
		return vs_fail(err, ENOMEM, "%s", self);
	if (parse(obj, self, s, err) < 0) {
		vs_seccomp_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

void vs_seccomp_free(vs_seccomp *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_rules; i++) {
		free(s->rules[i].syscalls);
		free(s->rules[i].args);
	}
	free(s->rules);
	free(s->archs);
	free(s->listener_path);
	free(s->listener_metadata);
	free(s);
}
