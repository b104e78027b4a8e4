/* Firecracker's "hybrid vsock" line protocol, host side. A host program
 * connects to the VM's unix socket PATH and writes `CONNECT <port>\n`; once
 * the guest accepts, the VMM answers `OK <assigned-port>\n` (the host port
 * the guest sees as the peer) and bytes flow both ways. The host program is
 * not trusted either: the line is bounded and parsed strictly. */
#ifndef VESSEL_VM_VSOCK_HYBRID_H
#define VESSEL_VM_VSOCK_HYBRID_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* "CONNECT 4294967295\n" is 19 bytes; nothing longer is a valid line. */
#define VS_VSOCK_LINE_MAX 32

typedef struct vs_vsock_line {
	char buf[VS_VSOCK_LINE_MAX];
	size_t len;
} vs_vsock_line;

void vs_vsock_line_init(vs_vsock_line *l);

/* Feed bytes read from the host socket. Consumes up to and including the
 * newline and sets *used to how many bytes it took (the rest belongs to the
 * stream: the device keeps them as the first data for the guest, or reads
 * the socket with MSG_PEEK). Returns 1 with *port when the line is complete,
 * 0 when it needs more, -1 with err when the line is not
 * `CONNECT <decimal u32>\n` or grows past VS_VSOCK_LINE_MAX. */
int vs_vsock_line_feed(vs_vsock_line *l, const void *data, size_t len, size_t *used, uint32_t *port,
		       vs_err *err);

/* Write "OK <port>\n" into out (at least VS_VSOCK_LINE_MAX bytes); returns
 * its length. */
size_t vs_vsock_format_ok(char *out, uint32_t port);

#endif
