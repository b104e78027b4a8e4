/* A vhost-user frontend over a connected unix socket: the requests vessel
 * sends to a backend (virtiofsd) to hand it guest memory and virtqueues.
 * Every reply is awaited with poll and a timeout, and checked (msg.h); the
 * first failure marks the connection broken, so a backend that dies,
 * misbehaves or stalls costs at most one timeout and never hangs the VMM.
 * Not thread-safe: the device serialises calls under its lock. */
#ifndef VESSEL_VM_VHOST_USER_FRONTEND_H
#define VESSEL_VM_VHOST_USER_FRONTEND_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "vm/memory.h"
#include "vm/vhost_user/msg.h"

#define VS_VHU_TIMEOUT_MS 5000

typedef struct vs_vhu {
	int fd;
	int timeout_ms;
	bool broken;
	uint64_t features; /* what GET_FEATURES offered */
	uint64_t protocol; /* protocol features both sides have */
} vs_vhu;

/* Take over a connected socket (closed by vs_vhu_close). */
void vs_vhu_init(vs_vhu *u, int fd, int timeout_ms);
/* Connect to a backend's listening socket at path. */
int vs_vhu_connect(vs_vhu *u, const char *path, int timeout_ms, vs_err *err);
void vs_vhu_close(vs_vhu *u);

/* GET_FEATURES, then protocol features (REPLY_ACK if offered), SET_OWNER. */
int vs_vhu_handshake(vs_vhu *u, vs_err *err);
/* SET_FEATURES: the driver's features (plus PROTOCOL_FEATURES if offered). */
int vs_vhu_set_features(vs_vhu *u, uint64_t features, vs_err *err);
/* SET_MEM_TABLE: every region of guest RAM, each with mem->fd. */
int vs_vhu_set_mem_table(vs_vhu *u, const vs_guest_mem *mem, vs_err *err);

/* A queue as the backend needs it: addresses in the frontend's own mapping
 * of guest RAM (the userspace_addr of SET_MEM_TABLE's regions). */
typedef struct vs_vhu_vring {
	uint16_t num;
	uint64_t desc, avail, used; /* host virtual addresses */
	int kick, call;		    /* eventfds */
} vs_vhu_vring;

/* SET_VRING_NUM, _BASE (0), _ADDR, _CALL, _KICK, then _ENABLE when protocol
 * features were negotiated (rings start disabled then). */
int vs_vhu_start_vring(vs_vhu *u, unsigned index, const vs_vhu_vring *r, vs_err *err);
/* GET_VRING_BASE: the backend stops the ring; *base its next avail index. */
int vs_vhu_stop_vring(vs_vhu *u, unsigned index, uint32_t *base, vs_err *err);

#endif
