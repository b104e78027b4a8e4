/* The agent's side of the hybrid vsock, reduced to an echo (the microvm
 * backend's tests, test_microvm_vm.py): first asks for host port 5000 and
 * reports the answer (a monitor given a listening fd and no path has no
 * host ports: RST), then accepts one connection on port 1024 (the agent's),
 * echoes what it receives until the host shuts down, and ends the VM with
 * the debug-exit code of the first byte it received. */
#include "vsock_guest.h"

static uint8_t in[4096];

void guest_main(const uint8_t *bp)
{
	(void)bp;
	uintptr_t base = virtio_find(19);
	if (!base) {
		print("NO_VSOCK\n");
		debug_exit(99);
	}
	vsock_setup(base);
	struct hdr h;
	fwd_cnt = 0;
	send(OP_REQUEST, 1234, 5000, NULL, 0, 0, 0);
	int rc = rx_next(&h, NULL, 0);
	print("HOSTPORT rc=%d op=%u\n", rc, h.op);
	print("LISTENING\n");
	for (;;) {
		if (rx_wait(&h, NULL, 0, ~0UL) == 0 && h.op == OP_REQUEST && h.dst_port == 1024)
			break;
	}
	uint32_t peer = h.src_port;
	send(OP_RESPONSE, 1024, peer, NULL, 0, 0, 0);
	int first = -1;
	for (;;) {
		if (rx_wait(&h, in, sizeof(in), ~0UL) < 0 || h.op == OP_SHUTDOWN || h.op == OP_RST)
			break;
		if (h.op != OP_RW || !h.len)
			continue;
		if (first < 0)
			first = in[0];
		fwd_cnt += h.len;
		send(OP_RW, 1024, peer, in, h.len, 0, 0);
	}
	send(OP_SHUTDOWN, 1024, peer, NULL, 0, 0, 3);
	print("ECHO DONE\n");
	debug_exit((uint8_t)(first < 0 ? 98 : first));
}
