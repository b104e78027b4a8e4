#include "agent/frame.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void vs_agent_decoder_init(vs_agent_decoder *d)
{
	memset(d, 0, sizeof(*d));
}

void vs_agent_decoder_reset(vs_agent_decoder *d)
{
	free(d->body);
	vs_agent_decoder_init(d);
}

int vs_agent_decoder_partial(const vs_agent_decoder *d)
{
	return d->hdr_have > 0;
}

int vs_agent_frame_parse(const char *body, size_t len, json_object **out, vs_err *err)
{
	if (len < 1 || len > VS_AGENT_FRAME_MAX)
		return vs_fail(err, 0, "agent frame: length %zu out of range 1..%u", len,
			       VS_AGENT_FRAME_MAX);
	/* json-c reads up to a NUL; one inside the frame would hide the rest. */
	if (memchr(body, '\0', len))
		return vs_fail(err, 0, "agent frame: invalid JSON: NUL byte");
	/* The terminating NUL lets a top-level number end ("42" then NUL). */
	char *text = malloc(len + 1);
	json_tokener *tok = json_tokener_new();
	if (!text || !tok) {
		free(text);
		if (tok)
			json_tokener_free(tok);
		return vs_fail(err, ENOMEM, "agent frame");
	}
	memcpy(text, body, len);
	text[len] = '\0';
	json_object *obj = json_tokener_parse_ex(tok, text, (int)len + 1);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	free(text);
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		return vs_fail(err, 0, "agent frame: invalid JSON: %s",
			       jerr == json_tokener_continue ? "unexpected end"
							     : json_tokener_error_desc(jerr));
	}
	/* One value only: trailing whitespace is fine, anything else is not. */
	for (; end < len; end++) {
		if (!strchr(" \t\r\n", body[end])) {
			json_object_put(obj);
			return vs_fail(err, 0, "agent frame: bytes after the JSON value");
		}
	}
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return vs_fail(err, 0, "agent frame: not a JSON object");
	}
	*out = obj;
	return 0;
}

static int header_done(vs_agent_decoder *d, vs_err *err)
{
	uint32_t len = (uint32_t)d->hdr[0] << 24 | (uint32_t)d->hdr[1] << 16 |
		       (uint32_t)d->hdr[2] << 8 | d->hdr[3];
	if (len < 1 || len > VS_AGENT_FRAME_MAX)
		return vs_fail(err, 0, "agent frame: length %u out of range 1..%u", len,
			       VS_AGENT_FRAME_MAX);
	d->body = malloc(len);
	if (!d->body)
		return vs_fail(err, ENOMEM, "agent frame");
	d->len = len;
	d->have = 0;
	return 0;
}

/* The body is complete: parse it and get ready for the next header. */
static int body_done(vs_agent_decoder *d, json_object **out, vs_err *err)
{
	int r = vs_agent_frame_parse(d->body, d->len, out, err);
	vs_agent_decoder_reset(d);
	return r < 0 ? -1 : 1;
}

int vs_agent_decoder_feed(vs_agent_decoder *d, const void *data, size_t n, size_t *used,
			  json_object **out, vs_err *err)
{
	const uint8_t *p = data;
	size_t at = 0;
	*used = 0;
	while (at < n) {
		if (d->hdr_have < VS_AGENT_FRAME_HDR) {
			d->hdr[d->hdr_have++] = p[at++];
			if (d->hdr_have == VS_AGENT_FRAME_HDR && header_done(d, err) < 0) {
				*used = at;
				return -1;
			}
			continue;
		}
		size_t take = d->len - d->have;
		if (take > n - at)
			take = n - at;
		memcpy(d->body + d->have, p + at, take);
		d->have += (uint32_t)take;
		at += take;
		if (d->have == d->len) {
			*used = at;
			return body_done(d, out, err);
		}
	}
	*used = at;
	return 0;
}

/* Never blocks on a socket, whatever its O_NONBLOCK: a blocking read after
 * poll said readable can still wait (another holder of the fd took the
 * bytes, or SO_RCVLOWAT asks for more than came), past any deadline. Other
 * fds (pipes) are read as they are. */
static ssize_t read_nowait(int fd, void *dst, size_t want)
{
	ssize_t r = recv(fd, dst, want, MSG_DONTWAIT);
	if (r < 0 && errno == ENOTSOCK)
		r = read(fd, dst, want);
	return r;
}

/* At most one read: 1 frame, 0 more needed (or EAGAIN/EINTR), 2 EOF at a
 * frame boundary, -1 error. nowait: read_nowait, else read(2). */
static int read_once(vs_agent_decoder *d, int fd, bool nowait, json_object **out, vs_err *err)
{
	void *dst;
	size_t want;
	if (d->hdr_have < VS_AGENT_FRAME_HDR) {
		dst = d->hdr + d->hdr_have;
		want = VS_AGENT_FRAME_HDR - d->hdr_have;
	} else {
		dst = d->body + d->have;
		want = d->len - d->have;
	}
	ssize_t r = nowait ? read_nowait(fd, dst, want) : read(fd, dst, want);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		return vs_fail_errno(err, "agent frame: read");
	}
	if (r == 0) {
		if (!vs_agent_decoder_partial(d))
			return 2;
		return vs_fail(err, 0, "agent frame: truncated frame (EOF after %u bytes)",
			       (unsigned)(d->hdr_have + d->have));
	}
	if (d->hdr_have < VS_AGENT_FRAME_HDR) {
		d->hdr_have += (size_t)r;
		if (d->hdr_have == VS_AGENT_FRAME_HDR && header_done(d, err) < 0)
			return -1;
		return 0;
	}
	d->have += (uint32_t)r;
	if (d->have == d->len)
		return body_done(d, out, err);
	return 0;
}

int vs_agent_decoder_read(vs_agent_decoder *d, int fd, json_object **out, vs_err *err)
{
	for (;;) {
		size_t before = d->hdr_have + d->have;
		int r = read_once(d, fd, false, out, err);
		if (r != 0)
			return r;
		/* No progress: the socket is drained (EAGAIN) or a signal came. */
		if (d->hdr_have + d->have == before)
			return 0;
	}
}

int vs_agent_frame_encode(json_object *obj, char **out, size_t *len, vs_err *err)
{
	if (!json_object_is_type(obj, json_type_object))
		return vs_fail(err, 0, "agent frame: not a JSON object");
	size_t n = 0;
	const char *s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &n);
	if (!s)
		return vs_fail(err, ENOMEM, "agent frame");
	if (n < 1 || n > VS_AGENT_FRAME_MAX)
		return vs_fail(err, 0, "agent frame: message of %zu bytes over the %u byte limit",
			       n, VS_AGENT_FRAME_MAX);
	char *buf = malloc(VS_AGENT_FRAME_HDR + n);
	if (!buf)
		return vs_fail(err, ENOMEM, "agent frame");
	buf[0] = (char)(n >> 24);
	buf[1] = (char)(n >> 16);
	buf[2] = (char)(n >> 8);
	buf[3] = (char)n;
	memcpy(buf + VS_AGENT_FRAME_HDR, s, n);
	*out = buf;
	*len = VS_AGENT_FRAME_HDR + n;
	return 0;
}

static int wait_fd(int fd, short events, int timeout_ms, vs_err *err)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return vs_fail_errno(err, "agent frame: poll");
	if (r == 0)
		return vs_fail(err, ETIMEDOUT, "agent frame: waiting for the agent");
	return 0;
}

static ssize_t write_some(int fd, const char *p, size_t n)
{
	ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
	if (r < 0 && errno == ENOTSOCK)
		r = write(fd, p, n);
	return r;
}

int vs_agent_send(int fd, json_object *obj, vs_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	if (vs_agent_frame_encode(obj, &buf, &len, err) < 0)
		return -1;
	size_t at = 0;
	while (at < len) {
		ssize_t r = write_some(fd, buf + at, len - at);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
			    wait_fd(fd, POLLOUT, -1, err) == 0)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				vs_fail_errno(err, "agent frame: send");
			free(buf);
			return -1;
		}
		at += (size_t)r;
	}
	free(buf);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int vs_agent_recv(int fd, json_object **out, int timeout_ms, vs_err *err)
{
	vs_agent_decoder d;
	vs_agent_decoder_init(&d);
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	for (;;) {
		/* The time left is counted again after every wake-up, a signal's
		 * included, so neither signals nor a frame dribbling in byte by
		 * byte move the deadline. */
		int left = -1;
		if (deadline >= 0) {
			int64_t l = deadline - now_ms();
			left = l < 0 ? 0 : (int)l;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int pr = poll(&p, 1, left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			vs_fail_errno(err, "agent frame: poll");
			break;
		}
		if (pr == 0) {
			vs_fail(err, ETIMEDOUT, "agent frame: waiting for the agent");
			break;
		}
		int r = read_once(&d, fd, true, out, err);
		if (r == 1)
			return 0;
		if (r == 2)
			return vs_fail(err, ECONNRESET, "agent frame: connection closed");
		if (r < 0)
			break;
	}
	vs_agent_decoder_reset(&d);
	return -1;
}
