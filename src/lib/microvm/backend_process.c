/* An exec'd process (vs_process, runc's defaults merged in) as the OCI
 * process object the agent parses with vessel's own parser. */
#include <stdio.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include "microvm/backend_process.h"

static json_object *strv(char *const *v)
{
	json_object *a = json_object_new_array();
	for (; v && *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

static const char *const rlimit_names[] = {
	"RLIMIT_AS",	 "RLIMIT_CORE",	  "RLIMIT_CPU",	       "RLIMIT_DATA",
	"RLIMIT_FSIZE",	 "RLIMIT_LOCKS",  "RLIMIT_MEMLOCK",    "RLIMIT_MSGQUEUE",
	"RLIMIT_NICE",	 "RLIMIT_NOFILE", "RLIMIT_NPROC",      "RLIMIT_RSS",
	"RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
};

static const char *rlimit_name(int resource)
{
	for (size_t i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++)
		if (vs_rlimit_from_name(rlimit_names[i]) == resource)
			return rlimit_names[i];
	return NULL;
}

static json_object *cap_set(uint64_t bits)
{
	json_object *a = json_object_new_array();
	for (int c = 0; c < 64 && c < (int)cap_max_bits(); c++) {
		if (!(bits & (1ULL << c)))
			continue;
		char *name = cap_to_name(c), up[64];
		if (!name)
			continue;
		size_t i;
		for (i = 0; name[i] && i < sizeof(up) - 1; i++)
			up[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
		up[i] = '\0';
		cap_free(name);
		json_object_array_add(a, json_object_new_string(up));
	}
	return a;
}

static json_object *user(const vs_process *p)
{
	json_object *u = json_object_new_object();
	json_object_object_add(u, "uid", json_object_new_int64(p->uid));
	json_object_object_add(u, "gid", json_object_new_int64(p->gid));
	if (p->has_umask)
		json_object_object_add(u, "umask", json_object_new_int64(p->umask));
	if (p->n_additional_gids) {
		json_object *g = json_object_new_array();
		for (size_t i = 0; i < p->n_additional_gids; i++)
			json_object_array_add(g, json_object_new_int64(p->additional_gids[i]));
		json_object_object_add(u, "additionalGids", g);
	}
	return u;
}

json_object *vs_microvm_process_json(const vs_process *p)
{
	static const char *const set_names[VS_CAP_SETS] = {
		[VS_CAP_BOUNDING] = "bounding",	      [VS_CAP_EFFECTIVE] = "effective",
		[VS_CAP_INHERITABLE] = "inheritable", [VS_CAP_PERMITTED] = "permitted",
		[VS_CAP_AMBIENT] = "ambient",
	};
	json_object *o = json_object_new_object();
	json_object_object_add(o, "terminal", json_object_new_boolean(p->terminal));
	json_object_object_add(o, "args", strv(p->args));
	json_object_object_add(o, "env", strv(p->env));
	json_object_object_add(o, "cwd", json_object_new_string(p->cwd ? p->cwd : "/"));
	json_object_object_add(o, "user", user(p));
	if (p->has_caps) {
		json_object *caps = json_object_new_object();
		for (int s = 0; s < VS_CAP_SETS; s++)
			json_object_object_add(caps, set_names[s], cap_set(p->caps[s]));
		json_object_object_add(o, "capabilities", caps);
	}
	if (p->n_rlimits) {
		json_object *rl = json_object_new_array();
		for (size_t i = 0; i < p->n_rlimits; i++) {
			const char *name = rlimit_name(p->rlimits[i].resource);
			if (!name)
				continue;
			json_object *r = json_object_new_object();
			json_object_object_add(r, "type", json_object_new_string(name));
			json_object_object_add(r, "hard",
					       json_object_new_uint64(p->rlimits[i].hard));
			json_object_object_add(r, "soft",
					       json_object_new_uint64(p->rlimits[i].soft));
			json_object_array_add(rl, r);
		}
		json_object_object_add(o, "rlimits", rl);
	}
	json_object_object_add(o, "noNewPrivileges", json_object_new_boolean(p->no_new_privileges));
	if (p->has_oom_score_adj)
		json_object_object_add(o, "oomScoreAdj", json_object_new_int(p->oom_score_adj));
	if (p->has_console_size) {
		json_object *cs = json_object_new_object();
		json_object_object_add(cs, "height", json_object_new_int(p->console_height));
		json_object_object_add(cs, "width", json_object_new_int(p->console_width));
		json_object_object_add(o, "consoleSize", cs);
	}
	return o;
}
