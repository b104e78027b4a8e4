/* Stand-in until the backend's lifecycle lands: create checks the host and
 * fails, so nothing else is ever called on a live microvm workload. */
#include "microvm/backend.h"

#include "microvm/hwvirt.h"

static int stub_create(vs_container *c, const vs_config *cfg, const vs_create_opts *opts,
		       vs_err *err)
{
	(void)c;
	(void)opts;
	if (vs_hwvirt_check(cfg->annotations, err) < 0)
		return -1;
	return vs_fail(err, 0, "backend \"microvm\" is not available yet");
}

static vs_status stub_status(vs_container *c)
{
	(void)c;
	return VS_STATUS_STOPPED;
}

static int stub_nothing(vs_container *c, vs_err *err)
{
	(void)c;
	(void)err;
	return 0;
}

static int stub_kill(vs_container *c, int sig, bool all, vs_err *err)
{
	(void)sig;
	(void)all;
	return stub_nothing(c, err);
}

const vs_backend_ops vs_microvm_backend = {
	.name = "microvm",
	.create = stub_create,
	.status = stub_status,
	.kill = stub_kill,
	.destroy = stub_nothing,
};
