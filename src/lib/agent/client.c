/* The host side of the agent protocol: dialling, hello, requests matched to
 * replies by id (client.h). */
#include "agent/client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent/frame.h"
#include "core/unixsock.h"

int vs_agent_dial_unix(const char *path, int *fd, vs_err *err)
{
	struct sockaddr_un sa;
	if (vs_unix_addr(&sa, path, "agent socket", err) < 0)
		return -1;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return vs_fail_errno(err, "socket");
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		vs_fail_errno(err, "connect to the agent at %s", path);
		close(s);
		return -1;
	}
	*fd = s;
	return 0;
}

/* One deadline per call, whatever comes before it: a hostile agent that
 * trickles bytes or answers other ids must not stretch a call past its
 * timeout while the caller holds the container lock. -1: none. */
static int64_t deadline_in(int timeout_ms)
{
	if (timeout_ms < 0)
		return -1;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + timeout_ms;
}

/* What is left of a deadline, for poll: -1 (none), else >= 0. */
static int left_ms(int64_t deadline)
{
	if (deadline < 0)
		return -1;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t l = deadline - ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	return l < 0 ? 0 : (l > INT32_MAX ? INT32_MAX : (int)l);
}

/* One line, byte by byte: what follows it belongs to the stream. */
static int read_line(int fd, char *buf, size_t len, int timeout_ms, vs_err *err)
{
	int64_t deadline = deadline_in(timeout_ms);
	size_t n = 0;
	while (n + 1 < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, left_ms(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return vs_fail_errno(err, "poll");
		if (r == 0)
			return vs_fail(err, ETIMEDOUT, "no answer");
		ssize_t k = read(fd, buf + n, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return vs_fail_errno(err, "read");
		if (k == 0)
			return vs_fail(err, ECONNRESET, "closed before answering");
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return 0;
		}
		n++;
	}
	return vs_fail(err, EPROTO, "answer longer than %zu bytes", len - 1);
}

int vs_agent_dial_vsock(const char *path, unsigned port, int timeout_ms, int *fd, vs_err *err)
{
	int s;
	if (vs_agent_dial_unix(path, &s, err) < 0)
		return -1;
	char line[64];
	int n = snprintf(line, sizeof(line), "CONNECT %u\n", port);
	if (send(s, line, (size_t)n, MSG_NOSIGNAL) != n) {
		vs_fail_errno(err, "vsock %s: CONNECT %u", path, port);
		goto fail;
	}
	if (read_line(s, line, sizeof(line), timeout_ms, err) < 0) {
		vs_err_wrap(err, "vsock %s: CONNECT %u", path, port);
		goto fail;
	}
	unsigned long local;
	char *end;
	if (strncmp(line, "OK ", 3) || (local = strtoul(line + 3, &end, 10), *end) ||
	    end == line + 3) {
		vs_fail(err, ECONNREFUSED, "vsock %s: CONNECT %u: answered \"%.32s\"", path, port,
			line);
		goto fail;
	}
	(void)local;
	*fd = s;
	return 0;
fail:
	close(s);
	return -1;
}

static json_object *request(const char *type, uint64_t id, json_object *fields)
{
	json_object *o = fields ? fields : json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "id", json_object_new_uint64(id));
	return o;
}

static bool reply_id(json_object *r, uint64_t *id)
{
	json_object *v;
	if (!json_object_object_get_ex(r, "id", &v) || !json_object_is_type(v, json_type_int))
		return false;
	*id = json_object_get_uint64(v);
	return true;
}

/* An error reply as our error: the request, the agent's message and errno. */
static int reply_error(json_object *r, const char *type, vs_err *err)
{
	json_object *v;
	const char *msg = "(no message)";
	int e = 0;
	if (json_object_object_get_ex(r, "message", &v) && json_object_is_type(v, json_type_string))
		msg = json_object_get_string(v);
	if (json_object_object_get_ex(r, "errno", &v) && json_object_is_type(v, json_type_int))
		e = (int)json_object_get_int64(v);
	vs_fail(err, 0, "agent %s: %s", type, msg);
	if (err)
		err->errnum = e;
	return -1;
}

static int check_reply(json_object *r, const char *type, vs_err *err)
{
	json_object *t;
	const char *s = json_object_object_get_ex(r, "type", &t) ? json_object_get_string(t) : "";
	if (!strcmp(s, "error"))
		return reply_error(r, type, err);
	if (strcmp(s, "reply"))
		return vs_fail(err, EPROTO, "agent %s: unexpected answer type \"%.32s\"", type, s);
	return 0;
}

static json_object *take_stashed(vs_agent_client *c, uint64_t id)
{
	for (size_t i = 0; i < c->n_stash; i++) {
		uint64_t rid;
		if (reply_id(c->stash[i], &rid) && rid == id) {
			json_object *r = c->stash[i];
			c->stash[i] = c->stash[--c->n_stash];
			return r;
		}
	}
	return NULL;
}

/* Frames for other ids are stashed, each under what is left of the one
 * deadline (timeout_ms from the call's start). */
static int await_reply(vs_agent_client *c, const char *type, uint64_t id, int timeout_ms,
		       int64_t deadline, json_object **out, vs_err *err)
{
	json_object *r = take_stashed(c, id);
	while (!r) {
		json_object *got;
		if (vs_agent_recv(c->fd, &got, left_ms(deadline), err) < 0) {
			if (err && err->errnum == ETIMEDOUT)
				return vs_fail(err, ETIMEDOUT, "agent %s: no reply after %d ms",
					       type, timeout_ms);
			return vs_err_wrap(err, "agent %s", type);
		}
		uint64_t rid;
		if (!reply_id(got, &rid)) {
			json_object_put(got);
			return vs_fail(err, EPROTO, "agent %s: an answer without an id", type);
		}
		if (rid == id) {
			r = got;
			break;
		}
		if (c->n_stash == VS_AGENT_STASH_MAX) {
			json_object_put(got);
			return vs_fail(err, EPROTO, "agent %s: too many unclaimed replies", type);
		}
		c->stash[c->n_stash++] = got;
	}
	if (check_reply(r, type, err) < 0) {
		json_object_put(r);
		return -1;
	}
	if (out)
		*out = r;
	else
		json_object_put(r);
	return 0;
}

/* The request, within what is left of the call's deadline: an agent that
 * does not read must not hold a large request's sender forever either. */
static int send_request(vs_agent_client *c, const char *type, json_object *fields, int64_t deadline,
			uint64_t *id, vs_err *err)
{
	*id = c->next_id++;
	json_object *req = request(type, *id, fields);
	int rc = vs_agent_send_timeout(c->fd, req, left_ms(deadline), err);
	json_object_put(req);
	return rc < 0 ? vs_err_wrap(err, "agent %s", type) : 0;
}

int vs_agent_call_send(vs_agent_client *c, const char *type, json_object *fields, uint64_t *id,
		       vs_err *err)
{
	return send_request(c, type, fields, deadline_in(c->timeout_ms), id, err);
}

int vs_agent_call_await(vs_agent_client *c, const char *type, uint64_t id, int timeout_ms,
			json_object **reply, vs_err *err)
{
	return await_reply(c, type, id, timeout_ms, deadline_in(timeout_ms), reply, err);
}

int vs_agent_call(vs_agent_client *c, const char *type, json_object *fields, int timeout_ms,
		  json_object **reply, vs_err *err)
{
	int64_t deadline = deadline_in(timeout_ms);
	uint64_t id;
	if (send_request(c, type, fields, deadline, &id, err) < 0)
		return -1;
	return await_reply(c, type, id, timeout_ms, deadline, reply, err);
}

int vs_agent_client_open(vs_agent_client *c, int fd, int timeout_ms, vs_err *err)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	/* Non-blocking: the frame reader then waits in poll, which has the timeout. */
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		vs_fail_errno(err, "agent hello: fcntl");
		goto fail_fd;
	}
	c->next_id = 1;
	c->timeout_ms = timeout_ms;
	json_object *f = json_object_new_object(), *r = NULL;
	json_object_object_add(f, "version", json_object_new_int(VS_AGENT_VERSION));
	if (vs_agent_call(c, "hello", f, timeout_ms, &r, err) < 0)
		goto fail;
	/* An integer, exactly: json-c would read "1", 1.9 or true as 1. */
	json_object *v = NULL;
	if (!json_object_object_get_ex(r, "version", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != VS_AGENT_VERSION) {
		vs_fail(err, EPROTO, "agent hello: agent speaks version %.32s, vessel %d",
			v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "(none)",
			VS_AGENT_VERSION);
		json_object_put(r);
		goto fail;
	}
	json_object_put(r);
	return 0;
fail:
	vs_agent_client_close(c);
	return -1;
fail_fd:
	close(fd);
	c->fd = -1;
	return -1;
}

void vs_agent_client_close(vs_agent_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	for (size_t i = 0; i < c->n_stash; i++)
		json_object_put(c->stash[i]);
	c->n_stash = 0;
}

static json_object *proc_fields(const vs_agent_proc *p)
{
	json_object *f = json_object_new_object();
	json_object_object_add(f, "process_id", json_object_new_string(p->id));
	json_object_object_add(f, "process", json_object_get(p->process));
	if (p->hostname)
		json_object_object_add(f, "hostname", json_object_new_string(p->hostname));
	json_object *s = json_object_new_array();
	for (const char *const *n = p->streams; n && *n; n++)
		json_object_array_add(s, json_object_new_string(*n));
	json_object_object_add(f, "stdio", s);
	return f;
}

static int get_int(json_object *r, const char *type, const char *key, int64_t min, int64_t max,
		   int64_t *out, vs_err *err)
{
	json_object *v;
	if (!json_object_object_get_ex(r, key, &v) || !json_object_is_type(v, json_type_int))
		return vs_fail(err, EPROTO, "agent %s: reply without an integer \"%s\"", type, key);
	int64_t x = json_object_get_int64(v);
	if (x < min || x > max)
		return vs_fail(err, EPROTO, "agent %s: reply \"%s\" %lld out of range", type, key,
			       (long long)x);
	*out = x;
	return 0;
}

static int pid_reply(vs_agent_client *c, const char *type, uint64_t id, pid_t *pid, vs_err *err)
{
	json_object *r;
	if (await_reply(c, type, id, c->timeout_ms, deadline_in(c->timeout_ms), &r, err) < 0)
		return -1;
	int64_t v = 0;
	int rc = get_int(r, type, "pid", 1, INT32_MAX, &v, err);
	json_object_put(r);
	if (rc == 0 && pid)
		*pid = (pid_t)v;
	return rc;
}

static int proc_call(vs_agent_client *c, const char *type, const vs_agent_proc *p, pid_t *pid,
		     vs_err *err)
{
	uint64_t id;
	if (vs_agent_call_send(c, type, proc_fields(p), &id, err) < 0)
		return -1;
	return pid_reply(c, type, id, pid, err);
}

int vs_agent_create(vs_agent_client *c, const vs_agent_proc *p, pid_t *pid, vs_err *err)
{
	return proc_call(c, "create", p, pid, err);
}

int vs_agent_exec(vs_agent_client *c, const vs_agent_proc *p, pid_t *pid, vs_err *err)
{
	return proc_call(c, "exec", p, pid, err);
}

int vs_agent_proc_send(vs_agent_client *c, const char *type, const vs_agent_proc *p, uint64_t *id,
		       vs_err *err)
{
	return vs_agent_call_send(c, type, proc_fields(p), id, err);
}

int vs_agent_proc_await(vs_agent_client *c, const char *type, uint64_t id, pid_t *pid, vs_err *err)
{
	return pid_reply(c, type, id, pid, err);
}

static json_object *id_fields(const char *id)
{
	json_object *f = json_object_new_object();
	json_object_object_add(f, "process_id", json_object_new_string(id));
	return f;
}

int vs_agent_start(vs_agent_client *c, const char *id, vs_err *err)
{
	return vs_agent_call(c, "start", id_fields(id), c->timeout_ms, NULL, err);
}

int vs_agent_signal(vs_agent_client *c, const char *id, int sig, bool all, vs_err *err)
{
	json_object *f = id_fields(id);
	json_object_object_add(f, "signal", json_object_new_int(sig));
	json_object_object_add(f, "all", json_object_new_boolean(all));
	return vs_agent_call(c, "signal", f, c->timeout_ms, NULL, err);
}

int vs_agent_wait(vs_agent_client *c, const char *id, int *code, int *sig, vs_err *err)
{
	json_object *r;
	if (vs_agent_call(c, "wait", id_fields(id), -1, &r, err) < 0)
		return -1;
	int64_t cv = 0, sv = 0;
	int rc = get_int(r, "wait", "exit_code", 0, 255, &cv, err);
	if (rc == 0)
		rc = get_int(r, "wait", "signal", 0, 64, &sv, err);
	json_object_put(r);
	if (rc == 0) {
		*code = (int)cv;
		if (sig)
			*sig = (int)sv;
	}
	return rc;
}

int vs_agent_resize(vs_agent_client *c, const char *id, unsigned rows, unsigned cols, vs_err *err)
{
	json_object *f = id_fields(id);
	json_object_object_add(f, "rows", json_object_new_int((int)rows));
	json_object_object_add(f, "cols", json_object_new_int((int)cols));
	return vs_agent_call(c, "resize", f, c->timeout_ms, NULL, err);
}

int vs_agent_ps(vs_agent_client *c, pid_t **pids, size_t *n, vs_err *err)
{
	json_object *r, *a;
	if (vs_agent_call(c, "ps", NULL, c->timeout_ms, &r, err) < 0)
		return -1;
	int rc = -1;
	if (!json_object_object_get_ex(r, "pids", &a) || !json_object_is_type(a, json_type_array)) {
		vs_fail(err, EPROTO, "agent ps: reply without a \"pids\" array");
		goto out;
	}
	size_t len = json_object_array_length(a);
	pid_t *v = calloc(len ? len : 1, sizeof(pid_t));
	if (!v) {
		vs_fail(err, ENOMEM, "agent ps");
		goto out;
	}
	for (size_t i = 0; i < len; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		int64_t p = json_object_is_type(e, json_type_int) ? json_object_get_int64(e) : 0;
		if (p < 1 || p > INT32_MAX) {
			free(v);
			vs_fail(err, EPROTO, "agent ps: pids[%zu] is not a pid", i);
			goto out;
		}
		v[i] = (pid_t)p;
	}
	*pids = v;
	*n = len;
	rc = 0;
out:
	json_object_put(r);
	return rc;
}

int vs_agent_stats(vs_agent_client *c, json_object **out, vs_err *err)
{
	return vs_agent_call(c, "stats", NULL, c->timeout_ms, out, err);
}

int vs_agent_shutdown(vs_agent_client *c, vs_err *err)
{
	return vs_agent_call(c, "shutdown", NULL, c->timeout_ms, NULL, err);
}

int vs_agent_stdio_open(int fd, const char *id, const char *stream, vs_err *err)
{
	json_object *f = json_object_new_object();
	json_object_object_add(f, "type", json_object_new_string("stdio"));
	json_object_object_add(f, "process", json_object_new_string(id));
	json_object_object_add(f, "stream", json_object_new_string(stream));
	int rc = vs_agent_send(fd, f, err);
	json_object_put(f);
	return rc < 0 ? vs_err_wrap(err, "agent stdio %s %s", id, stream) : 0;
}
