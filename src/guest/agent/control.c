/* The control requests of docs/agent-protocol.md. Field errors are
 * answered with an error naming the field and the connection stays; a
 * protocol error (no or unknown type) closes it. */
#include "guest/agent/control.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/json.h"
#include "guest/agent/info.h"
#include "guest/agent/network.h"
#include "guest/agent/proc.h"
#include "guest/agent/stdio.h"
#include "oci/version.h"

#define AGENT_VERSION 1

/* A stdio connection's only frame: send an error, then close. */
static int stdio_refuse(agent *a, conn *c, int errnum, const char *msg)
{
	conn_error(a, c, 0, errnum, msg);
	return -1;
}

int conn_first_frame(agent *a, conn *c, json_object *msg)
{
	vs_err err = { 0 };
	const char *type = NULL;
	uint64_t id = 0;
	if (vs_json_get_cstr(msg, "frame:", "type", &type, &err) <= 0 ||
	    vs_json_get_u64(msg, "frame:", "id", UINT64_MAX, &id, &err) < 0) {
		if (!type && !err.msg[0])
			vs_fail(&err, 0, "frame: type: required");
		return stdio_refuse(a, c, EPROTO, err.msg);
	}
	if (!strcmp(type, "hello")) {
		uint64_t v = 0;
		int r = vs_json_get_u64(msg, "hello:", "version", UINT32_MAX, &v, &err);
		if (r <= 0 || v != AGENT_VERSION) {
			char m[VS_ERR_MSG_MAX + 32];
			snprintf(m, sizeof(m), "hello: version: %s",
				 r < 0	  ? err.msg
				 : r == 0 ? "required"
					  : "unsupported (this agent speaks version 1)");
			conn_error(a, c, id, EPROTONOSUPPORT, m);
			return -1;
		}
		c->control = true;
		json_object *rep = json_object_new_object();
		json_object_object_add(rep, "version", json_object_new_int(AGENT_VERSION));
		json_object_object_add(rep, "agent",
				       json_object_new_string("vessel-agent " VS_VERSION));
		conn_reply(a, c, id, rep);
		return 0;
	}
	if (strcmp(type, "stdio") != 0) {
		char m[128];
		snprintf(m, sizeof(m),
			 "frame: type: a connection starts with hello or stdio, not \"%.40s\"",
			 type);
		return stdio_refuse(a, c, EPROTO, m);
	}
	const char *pid = NULL, *stream = NULL;
	if (vs_json_get_cstr(msg, "stdio:", "process", &pid, &err) <= 0 ||
	    vs_json_get_cstr(msg, "stdio:", "stream", &stream, &err) <= 0)
		return stdio_refuse(a, c, EINVAL,
				    err.msg[0] ? err.msg
					       : "stdio: process and stream are required");
	int s = stream_from_name(stream);
	if (s < 0) {
		char m[128];
		snprintf(m, sizeof(m), "stdio: stream: unknown stream \"%.40s\"", stream);
		return stdio_refuse(a, c, EINVAL, m);
	}
	proc *p = proc_find(a, pid);
	if (!p) {
		char m[128];
		snprintf(m, sizeof(m), "stdio: process: no process \"%.64s\"", pid);
		return stdio_refuse(a, c, ESRCH, m);
	}
	/* Only a connection with nothing queued for it can be handed over. */
	if (c->out_len)
		return stdio_refuse(a, c, EPROTO, "stdio: frames before the stream");
	int fd = conn_take_socket(a, c);
	if (stdio_attach(a, p, (enum stream)s, fd, &err) == -1) {
		/* Best effort: the socket is ours again, say why and close. */
		json_object *m = json_object_new_object();
		json_object_object_add(m, "type", json_object_new_string("error"));
		json_object_object_add(m, "id", json_object_new_int(0));
		json_object_object_add(m, "message", json_object_new_string(err.msg));
		json_object_object_add(m, "errno", json_object_new_int(err.errnum));
		vs_agent_send(fd, m, &err);
		json_object_put(m);
		close(fd);
	}
	return 1;
}

static proc *req_proc(agent *a, json_object *req, const char *type, vs_err *err)
{
	char where[32];
	snprintf(where, sizeof(where), "%s:", type);
	const char *id = NULL;
	int r = vs_json_get_cstr(req, where, "process_id", &id, err);
	if (r < 0)
		return NULL;
	if (r == 0) {
		vs_fail(err, EINVAL, "%s process_id: required", type);
		return NULL;
	}
	proc *p = proc_find(a, id);
	if (!p)
		vs_fail(err, ESRCH, "%s process_id: no process \"%.64s\"", type, id);
	return p;
}

static int do_create(agent *a, conn *c, json_object *req, const char *type, uint64_t id,
		     vs_err *err)
{
	bool start = !strcmp(type, "exec");
	char where[32];
	snprintf(where, sizeof(where), "%s:", type);
	const char *pid = NULL, *hostname = NULL;
	json_object *process = NULL, *stdio = NULL;
	int r = vs_json_get_cstr(req, where, "process_id", &pid, err);
	if (r == 0)
		return vs_fail(err, EINVAL, "%s process_id: required", type);
	if (r < 0 || vs_json_get_object(req, where, "process", &process, err) < 0 ||
	    vs_json_get_cstr(req, where, "hostname", &hostname, err) < 0 ||
	    vs_json_get_array(req, where, "stdio", &stdio, err) < 0)
		return -1;
	if (!process)
		return vs_fail(err, EINVAL, "%s process: required", type);
	proc *p = NULL;
	if (proc_create(a, start ? c : NULL, pid, process, hostname, stdio, start, &p, err) < 0)
		return -1;
	json_object *rep = json_object_new_object();
	json_object_object_add(rep, "pid", json_object_new_int(p->pid));
	conn_reply(a, c, id, rep);
	return 0;
}

static int do_signal(agent *a, json_object *req, vs_err *err)
{
	proc *p = req_proc(a, req, "signal", err);
	if (!p)
		return -1;
	int64_t sig = 0;
	bool all = false;
	int r = vs_json_get_int(req, "signal:", "signal", 0, 64, &sig, err);
	if (r < 0 || vs_json_get_bool(req, "signal:", "all", &all, err) < 0)
		return -1;
	if (r == 0)
		return vs_fail(err, EINVAL, "signal signal: required");
	if (all) {
		vs_err e2 = { 0 };
		json_object *pids = info_ps(&e2);
		if (!pids)
			return vs_fail(err, e2.errnum, "%s", e2.msg);
		for (size_t i = 0; i < json_object_array_length(pids); i++)
			kill(json_object_get_int(json_object_array_get_idx(pids, i)), (int)sig);
		json_object_put(pids);
		return 0;
	}
	if (p->state == P_EXITED)
		return vs_fail(err, ESRCH, "signal: process \"%s\" has exited", p->id);
	if (kill(p->pid, (int)sig) < 0)
		return vs_fail_errno(err, "signal: kill %d", (int)p->pid);
	return 0;
}

static int do_resize(agent *a, json_object *req, vs_err *err);

void control_dispatch(agent *a, conn *c, json_object *req)
{
	vs_err err = { 0 };
	const char *type = NULL;
	uint64_t id = 0;
	if (vs_json_get_u64(req, "request:", "id", UINT64_MAX, &id, &err) < 0 ||
	    vs_json_get_cstr(req, "request:", "type", &type, &err) <= 0) {
		conn_error(a, c, id, EPROTO, err.msg[0] ? err.msg : "request: type: required");
		c->closing = true;
		return;
	}
	int r = 0;
	json_object *rep = NULL;
	if (!strcmp(type, "hello")) {
		r = vs_fail(&err, EPROTO, "hello: already said on this connection");
	} else if (!strcmp(type, "create") || !strcmp(type, "exec")) {
		if (do_create(a, c, req, type, id, &err) == 0)
			return;
		r = -1;
	} else if (!strcmp(type, "start")) {
		proc *p = req_proc(a, req, "start", &err);
		r = p ? proc_start(a, p, &err) : -1;
	} else if (!strcmp(type, "signal")) {
		r = do_signal(a, req, &err);
	} else if (!strcmp(type, "wait")) {
		proc *p = req_proc(a, req, "wait", &err);
		if (p) {
			proc_add_wait(a, p, c, id);
			return;
		}
		r = -1;
	} else if (!strcmp(type, "resize")) {
		r = do_resize(a, req, &err);
	} else if (!strcmp(type, "ps")) {
		json_object *pids = info_ps(&err);
		if (pids) {
			rep = json_object_new_object();
			json_object_object_add(rep, "pids", pids);
		} else {
			r = -1;
		}
	} else if (!strcmp(type, "stats")) {
		rep = info_stats(&err);
		r = rep ? 0 : -1;
	} else if (!strcmp(type, "oom_watch")) {
		if (oom_watch_add(a, c, id, &err) == 0)
			return;
		r = -1;
	} else if (!strcmp(type, "network")) {
		r = net_configure(req, &err);
	} else if (!strcmp(type, "shutdown")) {
		conn_reply(a, c, id, NULL);
		a->shutdown = true;
		return;
	} else {
		char m[128];
		snprintf(m, sizeof(m), "request: type: unknown request \"%.40s\"", type);
		conn_error(a, c, id, EPROTO, m);
		c->closing = true;
		return;
	}
	if (r < 0)
		conn_error(a, c, id, err.errnum ? err.errnum : EINVAL, err.msg);
	else
		conn_reply(a, c, id, rep);
}

#include <sys/ioctl.h>
#include <termios.h>

static int do_resize(agent *a, json_object *req, vs_err *err)
{
	proc *p = req_proc(a, req, "resize", err);
	if (!p)
		return -1;
	int64_t rows = 0, cols = 0;
	int r1 = vs_json_get_int(req, "resize:", "rows", 0, 65535, &rows, err);
	if (r1 < 0)
		return -1;
	int r2 = vs_json_get_int(req, "resize:", "cols", 0, 65535, &cols, err);
	if (r2 < 0)
		return -1;
	if (!r1 || !r2)
		return vs_fail(err, EINVAL, "resize: rows and cols are required");
	if (p->pty_master < 0)
		return vs_fail(err, ENOTTY, "resize: process \"%s\" has no terminal", p->id);
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
	if (ioctl(p->pty_master, TIOCSWINSZ, &ws) < 0)
		return vs_fail_errno(err, "resize: TIOCSWINSZ");
	return 0;
}
