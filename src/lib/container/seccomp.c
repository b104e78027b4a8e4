/* linux.seccomp in the container init: build the libseccomp filter from the
 * parsed profile, load it, and hand a notify listener to the runtime. */
#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <unistd.h>

#include "container/internal.h"
#include "container/sync.h"
#include "oci/seccomp.h"

#define WHERE "linux.seccomp"

static void release_filter(scmp_filter_ctx *f)
{
	if (*f)
		seccomp_release(*f);
}

/* runc's rule: arguments on distinct indices are AND-ed in one rule; when an
 * index repeats, every comparison becomes a rule of its own (OR-ed). */
static bool repeats_an_index(const vs_seccomp_rule *r)
{
	unsigned seen = 0;
	for (size_t i = 0; i < r->n_args; i++) {
		if (seen & (1u << r->args[i].index))
			return true;
		seen |= 1u << r->args[i].index;
	}
	return false;
}

static struct scmp_arg_cmp to_cmp(const vs_seccomp_arg *a)
{
	return (struct scmp_arg_cmp){ .arg = a->index,
				      .op = (enum scmp_compare)a->op,
				      .datum_a = a->value,
				      .datum_b = a->value_two };
}

static int add_rule(scmp_filter_ctx f, const vs_seccomp_rule *r, size_t ri, int nr, vs_err *err)
{
	int rc = 0;
	if (repeats_an_index(r)) {
		for (size_t i = 0; i < r->n_args && rc == 0; i++) {
			struct scmp_arg_cmp one = to_cmp(&r->args[i]);
			rc = seccomp_rule_add_array(f, r->action, nr, 1, &one);
		}
	} else {
		/* Distinct indices: at most six. */
		struct scmp_arg_cmp cmp[6];
		for (size_t i = 0; i < r->n_args; i++)
			cmp[i] = to_cmp(&r->args[i]);
		rc = seccomp_rule_add_array(f, r->action, nr, (unsigned)r->n_args, cmp);
	}
	if (rc < 0) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		vs_fail(err, -rc, WHERE ".syscalls[%zu]: add rule for %s", ri, name ? name : "?");
		free(name);
		return -1;
	}
	return 0;
}

static int build_filter(const vs_seccomp *s, scmp_filter_ctx f, vs_err *err)
{
	int rc;
	for (size_t i = 0; i < s->n_archs; i++)
		if ((rc = seccomp_arch_add(f, s->archs[i])) < 0 && rc != -EEXIST)
			return vs_fail(err, -rc, WHERE ".architectures[%zu]: add 0x%x", i,
				       s->archs[i]);
	/* Kernel errnos, not libseccomp's ECANCELED. */
	if ((rc = seccomp_attr_set(f, SCMP_FLTATR_API_SYSRAWRC, 1)) < 0)
		return vs_fail(err, -rc, WHERE ": set SCMP_FLTATR_API_SYSRAWRC");
	/* libseccomp sets no_new_privs on load unless told not to; the spec
	 * leaves that to process.noNewPrivileges. */
	if ((rc = seccomp_attr_set(f, SCMP_FLTATR_CTL_NNP, 0)) < 0)
		return vs_fail(err, -rc, WHERE ": clear the no_new_privs attribute");
	if (s->flag_tsync && (rc = seccomp_attr_set(f, SCMP_FLTATR_CTL_TSYNC, 1)) < 0)
		return vs_fail(err, -rc, WHERE ".flags: SECCOMP_FILTER_FLAG_TSYNC");
	if (s->flag_log && (rc = seccomp_attr_set(f, SCMP_FLTATR_CTL_LOG, 1)) < 0)
		return vs_fail(err, -rc, WHERE ".flags: SECCOMP_FILTER_FLAG_LOG");
	if (s->flag_spec_allow && (rc = seccomp_attr_set(f, SCMP_FLTATR_CTL_SSB, 1)) < 0)
		return vs_fail(err, -rc, WHERE ".flags: SECCOMP_FILTER_FLAG_SPEC_ALLOW");
	for (size_t i = 0; i < s->n_rules; i++) {
		const vs_seccomp_rule *r = &s->rules[i];
		/* libseccomp refuses a rule that repeats the default; it changes nothing. */
		if (r->action == s->default_action)
			continue;
		for (size_t k = 0; k < r->n_syscalls; k++)
			if (add_rule(f, r, i, r->syscalls[k], err) < 0)
				return -1;
	}
	return 0;
}

/* The listener goes to the runtime, which passes it on to listenerPath. */
static int hand_over_listener(int sync_fd, scmp_filter_ctx f, vs_err *err)
{
	int fd = seccomp_notify_fd(f);
	if (fd < 0)
		return vs_fail(err, -fd, WHERE ": no notify listener after load");
	int rc = 0;
	if (vs_sync_send(sync_fd, VS_SYNC_SECCOMP_FD, NULL) < 0 || vs_sync_send_fd(sync_fd, fd) < 0)
		rc = vs_fail_errno(err, WHERE ": send the notify listener to the runtime");
	close(fd);
	return rc;
}

int vs_seccomp_install(const vs_seccomp *s, bool nnp, bool after_nnp, int sync_fd, vs_err *err)
{
	/* With no_new_privs the filter goes on last, so few syscalls run under
	 * it; without, loading needs CAP_SYS_ADMIN: before capabilities drop. */
	if (!s || nnp != after_nnp)
		return 0;
	__attribute__((cleanup(release_filter))) scmp_filter_ctx f =
		seccomp_init(s->default_action);
	if (!f)
		return vs_fail(err, EINVAL, WHERE ".defaultAction: seccomp_init");
	if (build_filter(s, f, err) < 0)
		return -1;
	int rc = seccomp_load(f);
	if (rc < 0)
		return vs_fail(err, -rc, WHERE ": load the filter");
	return s->has_notify ? hand_over_listener(sync_fd, f, err) : 0;
}
