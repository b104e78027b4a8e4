/* The init's identity for the microvm backend (identity.h). */
#include "microvm/identity.h"

#include <string.h>
#include <sys/capability.h>

/* Our permitted set: what the init can keep (a host may bound it). */
static uint64_t own_caps(void)
{
	uint64_t bits = 0;
	cap_t caps = cap_get_proc();
	if (!caps)
		return 0;
	for (int c = 0; c < 64 && c < (int)cap_max_bits(); c++) {
		cap_flag_value_t v = CAP_CLEAR;
		if (cap_get_flag(caps, c, CAP_PERMITTED, &v) == 0 && v == CAP_SET)
			bits |= 1ULL << c;
	}
	cap_free(caps);
	return bits;
}

void vs_microvm_init_identity(const vs_config *cfg, vs_config *m, char **env)
{
	*m = *cfg;
	vs_process *p = &m->process;
	int oom = p->oom_score_adj;
	bool has_oom = p->has_oom_score_adj;
	memset(p, 0, sizeof(*p));
	p->has_oom_score_adj = has_oom;
	p->oom_score_adj = oom;
	p->env = env;
	p->cwd = "/";
	p->has_caps = true;
	uint64_t mine = own_caps();
	for (int s = 0; s < VS_CAP_SETS; s++)
		p->caps[s] = s == VS_CAP_AMBIENT ? 0 : mine;
	m->seccomp = NULL;
	memset(&m->process_attrs, 0, sizeof(m->process_attrs));
}

int vs_microvm_create_init(vs_container *c, const vs_config *cfg, const vs_create_opts *opts,
			   vs_exec_instead *instead, char **env, vs_err *err)
{
	vs_create_opts o = *opts;
	o.instead = instead;
	o.console_socket = NULL;
	o.console_proxy = false;
	vs_config m;
	vs_microvm_init_identity(cfg, &m, env);
	return vs_container_backend.create(c, &m, &o, err);
}
