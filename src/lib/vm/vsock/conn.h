/* virtio-vsock connections, host side, without the virtqueues: a state
 * machine fed with the guest's packets and the host sockets' events, which
 * produces packets for the guest and calls back for socket I/O. The device
 * (later) moves packets between it and the tx/rx queues; this part is
 * testable without KVM.
 *
 * The host side is Firecracker's hybrid vsock (vm/vsock/hybrid.h): a guest
 * connecting to host port P reaches a listener at PATH_P (the device's
 * host_connect callback), and a host program connecting to PATH asks for a
 * guest port with `CONNECT <port>\n` (vs_vsock_host_connect).
 *
 * Connections are keyed by (guest cid, guest port, host port). At most
 * max_conns exist at once; a request beyond that is refused with RST, so a
 * guest opening 10,000 ports costs the VMM a fixed table, not memory per
 * port. Each connection owns at most buf_alloc (+ a line) bytes of buffer,
 * allocated when the host socket first pushes back: the worst case is
 * max_conns * buf_alloc.
 *
 * Flow control is the spec's credit scheme: every packet we send carries
 * our buf_alloc and fwd_cnt (bytes handed on to the host socket); we never
 * send the guest more than buf_alloc - (tx_cnt - fwd_cnt) of its own
 * advertised numbers; and a guest that sends beyond the credit we gave it
 * is hostile (its connection is reset). */
#ifndef VESSEL_VM_VSOCK_CONN_H
#define VESSEL_VM_VSOCK_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "vm/vsock/packet.h"

#define VS_VSOCK_DEFAULT_MAX_CONNS 256
#define VS_VSOCK_MAX_CONNS_LIMIT   4096
#define VS_VSOCK_DEFAULT_BUF_ALLOC (256 * 1024)
#define VS_VSOCK_RST_QUEUE	   64	      /* RSTs for packets that match no connection */
#define VS_VSOCK_EPHEMERAL_BASE	   (1u << 30) /* first port given to host-initiated connections */
/* Waiting on the guest: for its answer to our REQUEST (Firecracker's 2 s)
 * and, once we sent SHUTDOWN or RST, for it to finish (Linux's
 * VSOCK_CLOSE_TIMEOUT, 8 s). Then RST and the slot is freed. */
#define VS_VSOCK_DEFAULT_CONNECT_TIMEOUT_MS 2000
#define VS_VSOCK_DEFAULT_CLOSE_TIMEOUT_MS   8000
#define VS_VSOCK_MAX_TIMEOUT_MS		    3600000

/* Socket I/O, provided by the device. `handle` is the device's (a host
 * socket fd). Return conventions follow read/write with -errno:
 * host_read/host_write return bytes, -EAGAIN for "not now", another -errno
 * for a dead socket; host_read returns 0 at end of stream. */
typedef struct vs_vsock_ops {
	/* The guest connects to host port P: connect to PATH_P. A handle >= 0,
	 * or -errno (nobody listens: the guest gets RST). */
	int (*host_connect)(void *ctx, uint32_t host_port);
	ssize_t (*host_read)(void *ctx, int handle, void *buf, size_t len);
	ssize_t (*host_write)(void *ctx, int handle, const void *buf, size_t len);
	void (*host_shutdown_write)(void *ctx, int handle);
	/* The connection is gone; the handle is not used again. */
	void (*host_close)(void *ctx, int handle);
	/* Milliseconds on a monotonic clock; NULL: CLOCK_MONOTONIC (tests
	 * pass their own). */
	uint64_t (*now_ms)(void *ctx);
} vs_vsock_ops;

typedef struct vs_vsock_config {
	uint64_t guest_cid;
	unsigned max_conns; /* 0: VS_VSOCK_DEFAULT_MAX_CONNS; at most _LIMIT */
	uint32_t buf_alloc; /* our receive buffer per connection; 0: default */
	uint32_t connect_timeout_ms, close_timeout_ms; /* 0: the defaults above */
	vs_vsock_ops ops;
	void *ctx;
} vs_vsock_config;

typedef struct vs_vsock vs_vsock;

vs_vsock *vs_vsock_new(const vs_vsock_config *cfg, vs_err *err);
/* Closes every live connection's handle. */
void vs_vsock_free(vs_vsock *v);

/* One packet from the guest's tx queue (header + payload, `size` bytes).
 * 0 when handled (which includes refusing it with RST); -1 with err when the
 * packet is hostile: a malformed header, another cid, or data beyond the
 * credit we gave (that connection is then reset). The device logs it and
 * goes on; nothing the guest sends can make this crash or grow memory. */
int vs_vsock_guest_packet(vs_vsock *v, const uint8_t *pkt, size_t size, vs_err *err);

/* The next packet for the guest's rx queue, payload written to `payload`
 * (up to cap bytes, which bounds RW packets). 1 with *h filled, 0 when
 * nothing is pending. Reads host sockets (host_read) for RW packets, within
 * the guest's credit. */
int vs_vsock_next_rx(vs_vsock *v, vs_vsock_hdr *h, uint8_t *payload, size_t cap);

/* A host program on PATH sent `CONNECT guest_port`: ask the guest (REQUEST
 * from a fresh host port, *host_port). When the guest accepts, the
 * connection writes "OK <host_port>\n" to the handle before any data; when
 * it refuses, the handle is closed. -1 with err when the table is full. */
int vs_vsock_host_connect(vs_vsock *v, int handle, uint32_t guest_port, uint32_t *host_port,
			  vs_err *err);

/* Socket events for `handle`: readable (data goes to the guest as credit
 * allows; end of stream, the host's half-close, sends SHUTDOWN SEND),
 * writable (buffered guest data is flushed), hung up (both ways shut: the
 * guest gets SHUTDOWN RCV|SEND, then its RST ends the connection, or the
 * close timeout does). */
void vs_vsock_host_readable(vs_vsock *v, int handle);
void vs_vsock_host_writable(vs_vsock *v, int handle);
void vs_vsock_host_hangup(vs_vsock *v, int handle);

/* Whether the device should poll `handle` for input / output: input only
 * when the guest has credit and has not shut down receiving; output only
 * while guest data is buffered. Lets a level-triggered poll loop not spin. */
bool vs_vsock_wants_read(const vs_vsock *v, int handle);
bool vs_vsock_wants_write(const vs_vsock *v, int handle);
/* Whether a hang-up of `handle` would still be news (the device keeps the
 * socket in its epoll set, with no events, to hear of it). */
bool vs_vsock_wants_hangup(const vs_vsock *v, int handle);

/* Connections that waited on the guest past their deadline (a REQUEST it
 * never answered; a SHUTDOWN or RST it never finished) are ended: the host
 * socket is closed, the guest gets RST (best effort: the fixed RST queue)
 * and the slot is free. Returns milliseconds until the next deadline, -1 if
 * none: the device arms a timer with it. */
int64_t vs_vsock_expire(vs_vsock *v);
uint64_t vs_vsock_now_ms(const vs_vsock *v);

/* Live connections (tests, status). */
unsigned vs_vsock_conn_count(const vs_vsock *v);

#endif
