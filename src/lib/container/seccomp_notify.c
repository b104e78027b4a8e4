/* Runtime side of SCMP_ACT_NOTIFY: the init's listener fd goes, with the
 * container process state (runtime-spec config-linux.md "The Container
 * Process State"), to the agent at linux.seccomp.listenerPath. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "container/internal.h"
#include "container/sync.h"
#include "core/cleanup.h"
#include "core/fdpass.h"
#include "lifecycle/container.h"
#include "oci/seccomp.h"
#include "oci/state.h"
#include "oci/version.h"

static json_object *process_state(const vs_container *c, const vs_seccomp *s)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ociVersion", json_object_new_string(VS_OCI_VERSION));
	json_object *fds = json_object_new_array();
	json_object_array_add(fds, json_object_new_string("seccompFd"));
	json_object_object_add(o, "fds", fds);
	json_object_object_add(o, "pid", json_object_new_int(c->state.pid));
	if (s->listener_metadata)
		json_object_object_add(o, "metadata", json_object_new_string(s->listener_metadata));
	json_object_object_add(o, "state", vs_state_to_oci_json(&c->state, VS_STATUS_CREATING));
	return o;
}

/* The fd rides with the first bytes; the rest of the document follows. */
static int send_with_fd(int sock, const char *data, size_t len, int fd)
{
	ssize_t r = vs_send_fd(sock, data, len, fd);
	if (r < 0)
		return -1;
	for (size_t off = (size_t)r; off < len; off += (size_t)r) {
		do
			r = send(sock, data + off, len - off, MSG_NOSIGNAL);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return -1;
	}
	return 0;
}

int vs_seccomp_notify_handoff(vs_container *c, const vs_config *cfg, int sock, vs_err *err)
{
	const vs_seccomp *s = cfg->seccomp;
	vs_autoclose int listener = -1;
	if (vs_sync_recv_fd(sock, &listener, err) < 0)
		return -1;
	if (!s || !s->listener_path)
		return vs_fail(err, 0, "container init sent a seccomp listener nobody asked for");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", s->listener_path);
	vs_autoclose int agent = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (agent < 0)
		return vs_fail_errno(err, "config.json: linux.seccomp.listenerPath: socket");
	if (connect(agent, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return vs_fail_errno(err, "config.json: linux.seccomp.listenerPath: connect %s",
				     s->listener_path);
	json_object *doc = process_state(c, s);
	const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	int rc = send_with_fd(agent, text, strlen(text), listener);
	json_object_put(doc);
	if (rc < 0)
		return vs_fail_errno(err, "config.json: linux.seccomp.listenerPath: send to %s",
				     s->listener_path);
	return 0;
}
