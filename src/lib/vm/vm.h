/* The microVM monitor's public API: describe a VM, create it (KVM set-up,
 * guest memory, kernel loaded, devices attached), run it until the guest
 * powers off, resets or crashes, destroy it. The CLI (`vessel vm run`) and
 * the microVM backend both drive VMs through this header only. */
#ifndef VESSEL_VM_VM_H
#define VESSEL_VM_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

typedef enum vs_vm_console {
	VS_VM_CONSOLE_STDIO = 0, /* guest output to stdout, stdin to the guest */
	VS_VM_CONSOLE_NONE,	 /* output dropped, no input */
	VS_VM_CONSOLE_FILE,	 /* output appended to console_path, no input */
	VS_VM_CONSOLE_FDS,	 /* caller's console_in_fd / console_out_fd (-1: none) */
} vs_vm_console;

typedef struct vs_vm_config {
	const char *kernel;  /* bzImage, or ELF with a PVH entry note */
	const char *initrd;  /* optional */
	const char *cmdline; /* NULL: VS_VM_DEFAULT_CMDLINE */
	unsigned cpus;	     /* 1..VS_VM_MAX_CPUS */
	uint64_t memory_mib;
	const char *disk; /* raw image for virtio-blk, optional */
	bool disk_readonly;
	bool rng;	 /* attach virtio-rng */
	const char *net; /* virtio-net: "tap=NAME[,mac=MAC]" or "fd=N[,mac=MAC]" */
	/* virtio-vsock: the hybrid host socket (NULL: none), guest CID (0: 3) */
	const char *vsock_path;
	uint64_t vsock_cid;
	/* How long to wait on the guest (ms; 0: 2000 / 8000, vm/vsock/conn.h):
	 * for its answer to a host CONNECT (and for a host program's CONNECT
	 * line), and for it to finish a close. */
	uint32_t vsock_connect_timeout_ms, vsock_close_timeout_ms;
	/* The monitor chroots into vsock_path's directory once the VM is built
	 * (vs_vmm_confine_opts): PATH_<port> is then connected as
	 * /<basename of vsock_path>_<port>. */
	bool vsock_jailed;
	/* virtio-fs: the guest's mount tag (NULL: none), served by virtiofsd on
	 * fs_dir (read-only with fs_readonly; virtiofsd: the binary, NULL for
	 * the default) or by a backend already listening on fs_socket. */
	const char *fs_tag;
	const char *fs_dir;
	bool fs_readonly;
	const char *fs_socket;
	const char *virtiofsd;
	vs_vm_console console;
	const char *console_path;
	/* A console going to a regular file stops after this many bytes (0:
	 * VS_VM_CONSOLE_FILE_MAX): a guest must not fill the host's disk. */
	uint64_t console_max;
	int console_in_fd, console_out_fd;
	/* Already open, for a monitor that cannot reach the paths any more (the
	 * microvm backend's, after pivot_root); -1 (vs_vm_config_init): open
	 * by path. Borrowed: the caller closes them. kernel_fd and initrd_fd
	 * are read from offset 0; vsock_listen_fd is a listening AF_UNIX
	 * socket, used in place of binding vsock_path (which may then be NULL:
	 * the guest can reach no host port). */
	int kvm_fd, kernel_fd, initrd_fd, vsock_listen_fd;
	/* virtio-fs: a vhost-user connection already made to a running
	 * backend (the microvm backend's virtiofsd), used in place of fs_dir
	 * and fs_socket; -1: none. Borrowed as the fds above. */
	int fs_conn_fd;
	/* virtio-vsock: a unix SOCK_SEQPACKET socket on which the VMM's own
	 * code sends (SCM_RIGHTS) stream sockets that the device then treats
	 * as accepted host connections (CONNECT line and all): how a monitor
	 * that cannot reach its listener's path dials its guest; -1: none. */
	int vsock_inject_fd;
	/* virtio-blk: the disk already open (opened with the access that
	 * disk_readonly says), in place of disk; -1: none. Borrowed. */
	int disk_fd;
} vs_vm_config;

#define VS_VM_MAX_CPUS		   64
#define VS_VM_CONSOLE_FILE_MAX	   (16ULL << 20)
#define VS_VM_VSOCK_MAX_TIMEOUT_MS 3600000 /* = VS_VSOCK_MAX_TIMEOUT_MS */
#define VS_VM_DEFAULT_CMDLINE	   "console=ttyS0 reboot=k panic=1"

typedef enum vs_vm_exit {
	VS_VM_EXIT_POWEROFF = 0, /* ACPI S5 / power-off port */
	VS_VM_EXIT_RESET,	 /* i8042 reset, port 0xcf9 */
	VS_VM_EXIT_CRASH,	 /* triple fault (KVM_EXIT_SHUTDOWN), failed entry */
	VS_VM_EXIT_INTERNAL,	 /* KVM could not emulate an instruction */
	VS_VM_EXIT_GUEST_CODE,	 /* the guest wrote a status to the debug-exit port */
	VS_VM_EXIT_STOPPED,	 /* vs_vm_stop() from the host */
	VS_VM_EXIT_DEVICE,	 /* a device's backend failed (virtiofsd died) */
} vs_vm_exit;

typedef struct vs_vm_result {
	vs_vm_exit reason;
	int guest_code; /* VS_VM_EXIT_GUEST_CODE: the byte written */
	unsigned vcpu;	/* the vCPU that ended the run */
	uint64_t rip;	/* its rip, for crashes and internal errors */
	char detail[256];
} vs_vm_result;

/* `vessel vm run` exit statuses, so scripts can tell the outcomes apart. */
#define VS_VM_STATUS_POWEROFF 0
#define VS_VM_STATUS_RESET    80
#define VS_VM_STATUS_CRASH    81
#define VS_VM_STATUS_INTERNAL 82
#define VS_VM_STATUS_STOPPED  83
#define VS_VM_STATUS_DEVICE   84

typedef struct vs_vm vs_vm;

void vs_vm_config_init(vs_vm_config *cfg);
int vs_vm_create(const vs_vm_config *cfg, vs_vm **out, vs_err *err);
/* Blocks until the VM ends; may be called once. */
int vs_vm_run(vs_vm *vm, vs_vm_result *res, vs_err *err);
/* Ask a running VM to stop (any thread; async-signal-safe: one write(2)). */
void vs_vm_stop(vs_vm *vm);
void vs_vm_destroy(vs_vm *vm);

/* Exit status for a result (VS_VM_STATUS_*, or the guest's code). */
int vs_vm_exit_status(const vs_vm_result *res);
const char *vs_vm_exit_name(vs_vm_exit reason);

/* True when /dev/kvm has no hardware virtualization under it and emulates
 * every guest instruction (slow; some instructions unsupported). */
bool vs_kvm_is_emulated(void);

#endif
