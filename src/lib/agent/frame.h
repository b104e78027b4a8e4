/* The agent protocol's frames (docs/agent-protocol.md): a 4-byte big-endian
 * length N, 1 <= N <= VS_AGENT_FRAME_MAX, then N bytes holding one JSON
 * object. Shared by the guest agent and the host-side client.
 *
 * The decoder never reads past the end of a frame, so the bytes that follow
 * a stdio connection's first frame (raw, unframed) stay in the socket. */
#ifndef VESSEL_AGENT_FRAME_H
#define VESSEL_AGENT_FRAME_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define VS_AGENT_FRAME_MAX (1u << 20)
#define VS_AGENT_FRAME_HDR 4

/* Incremental decoder state; zero-initialised (or vs_agent_decoder_init)
 * it waits for a header. */
typedef struct vs_agent_decoder {
	uint8_t hdr[VS_AGENT_FRAME_HDR];
	size_t hdr_have;
	char *body; /* len bytes once the header is complete */
	uint32_t len;
	uint32_t have;
} vs_agent_decoder;

void vs_agent_decoder_init(vs_agent_decoder *d);
/* Frees a partial frame; the decoder may be reused after it. */
void vs_agent_decoder_reset(vs_agent_decoder *d);
/* True when some bytes of an unfinished frame are held (EOF now is a
 * truncated frame). */
int vs_agent_decoder_partial(const vs_agent_decoder *d);

/* Feed n bytes. Consumes bytes only up to the end of the first frame they
 * complete: *used says how many were taken. Returns 1 with *out set (a JSON
 * object the caller json_object_put()s) when a frame completed, 0 when all
 * n bytes were taken and the frame is not complete yet, -1 on a protocol
 * error (length out of range, not one JSON object); after -1 the decoder
 * must be reset before reuse. */
int vs_agent_decoder_feed(vs_agent_decoder *d, const void *data, size_t n, size_t *used,
			  json_object **out, vs_err *err);

/* Read from fd (blocking or not) exactly the bytes the current frame still
 * needs. Returns 1 with *out on a complete frame, 0 when the read would
 * block (EAGAIN) or was interrupted, 2 on EOF at a frame boundary, -1 on an
 * error: a read error, EOF inside a frame ("truncated frame"), a protocol
 * error. */
int vs_agent_decoder_read(vs_agent_decoder *d, int fd, json_object **out, vs_err *err);

/* Parse one frame body (exactly len bytes) as one JSON object. */
int vs_agent_frame_parse(const char *body, size_t len, json_object **out, vs_err *err);

/* Encode obj as one frame into a malloc'd buffer (*len bytes, header
 * included). Fails when obj is not an object or encodes to more than
 * VS_AGENT_FRAME_MAX bytes. */
int vs_agent_frame_encode(json_object *obj, char **out, size_t *len, vs_err *err);

/* Blocking helpers for a connected stream socket (non-blocking sockets are
 * waited for with poll). vs_agent_send writes one whole frame (never raises
 * SIGPIPE on a socket). vs_agent_recv waits up to timeout_ms (-1: forever)
 * for one whole frame: 0 with *out set, or -1 (ETIMEDOUT on the deadline,
 * ECONNRESET when the peer closed at a frame boundary). Its deadline holds
 * on a blocking socket too: it polls before every read and reads with
 * MSG_DONTWAIT, and signals do not restart the wait. A frame cut by the
 * deadline is lost (its bytes were read): the connection is then of no
 * further use. */
int vs_agent_send(int fd, json_object *obj, vs_err *err);
int vs_agent_recv(int fd, json_object **out, int timeout_ms, vs_err *err);

#endif
