#include "microvm/agent_link.h"

#include <limits.h>
#include <unistd.h>

#include "core/fs.h"

int vs_microvm_agent_dial(vs_container *c, int *fd, vs_err *err)
{
	char path[PATH_MAX];
	if (vs_path_join(path, sizeof(path), c->dir, VS_MICROVM_AGENT_SOCK, err) < 0)
		return -1;
	if (access(path, F_OK) == 0)
		return vs_agent_dial_unix(path, fd, err);
	if (vs_path_join(path, sizeof(path), c->dir, VS_MICROVM_VSOCK_SOCK, err) < 0)
		return -1;
	return vs_agent_dial_vsock(path, VS_AGENT_VSOCK_PORT, VS_AGENT_TIMEOUT_MS, fd, err);
}

int vs_microvm_agent_open(vs_container *c, vs_agent_client *ac, vs_err *err)
{
	int fd;
	if (vs_microvm_agent_dial(c, &fd, err) < 0)
		return -1;
	return vs_agent_client_open(ac, fd, VS_AGENT_TIMEOUT_MS, err);
}
