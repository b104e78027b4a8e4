/* The test stand-in (standin.h): the agent runs as the container's init in
 * place of the VM monitor. Nothing here exists without VS_TEST_HOOKS. */
#ifdef VS_TEST_HOOKS

#include "microvm/standin.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/fs.h"
#include "core/unixsock.h"
#include "lifecycle/container.h"
#include "microvm/backend.h"
#include "microvm/identity.h"

const char *vs_microvm_standin_agent(void)
{
	const char *p = getenv(VS_MICROVM_STANDIN_ENV);
	return p && p[0] ? p : NULL;
}

const char *vs_microvm_test_guest(void)
{
	const char *p = getenv(VS_MICROVM_TEST_GUEST_ENV);
	return p && p[0] ? p : NULL;
}

bool vs_microvm_test_no_virtiofsd(void)
{
	const char *dir = vs_microvm_test_guest();
	char file[PATH_MAX];
	return dir && vs_path_join(file, sizeof(file), dir, "no-virtiofsd", NULL) == 0 &&
	       access(file, F_OK) == 0;
}

/* The agent's listener in the state dir: the workload never sees it. */
static int listen_socket(const vs_container *c, vs_err *err)
{
	char path[PATH_MAX];
	if (vs_path_join(path, sizeof(path), c->dir, VS_MICROVM_AGENT_SOCK, err) < 0)
		return -1;
	return vs_unix_listen(path, 16, "agent socket", err);
}

int vs_microvm_standin_create(vs_container *c, const vs_config *cfg, const vs_create_opts *opts,
			      const char *agent, vs_err *err)
{
	vs_autoclose int agent_fd = open(agent, O_PATH | O_CLOEXEC);
	if (agent_fd < 0)
		return vs_fail_errno(err, "%s: open %s", VS_MICROVM_STANDIN_ENV, agent);
	vs_autoclose int ls = listen_socket(c, err);
	if (ls < 0)
		return -1;
	char fdnum[16];
	snprintf(fdnum, sizeof(fdnum), "%d", 3 + opts->preserve_fds);
	char *argv[] = { "vessel-agent", "--listen-fd", fdnum, NULL };
	char *env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	vs_exec_instead instead = { .fd = agent_fd, .argv = argv, .pass_fd = ls };
	return vs_microvm_create_init(c, cfg, opts, &instead, env, err);
}

#endif
