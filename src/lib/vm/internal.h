/* State shared by the VMM's pieces; not part of the public API. */
#ifndef VESSEL_VM_INTERNAL_H
#define VESSEL_VM_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "vm/bus.h"
#include "vm/device.h"
#include "vm/memory.h"
#include "vm/vm.h"

/* Guest physical layout of what the VMM writes for the guest. */
#define VS_GDT_ADDR	   0x500
#define VS_START_INFO_ADDR 0x6000 /* PVH hvm_start_info + memmap + modules */
#define VS_ZERO_PAGE_ADDR  0x7000 /* Linux boot_params */
#define VS_PML4_ADDR	   0x9000 /* then PDPT, 4 page directories */
#define VS_CMDLINE_ADDR	   0x20000
#define VS_CMDLINE_MAX	   0x10000
#define VS_EBDA_START	   0x9fc00
#define VS_ACPI_ADDR	   0xe0000 /* RSDP, then the tables */
#define VS_MPTABLE_ADDR	   0xf0000
#define VS_KERNEL_ADDR	   0x100000
#define VS_IOAPIC_ADDR	   0xfec00000ULL
#define VS_LAPIC_ADDR	   0xfee00000ULL
#define VS_TSS_ADDR	   0xfffbd000ULL
#define VS_IDMAP_ADDR	   0xfffbc000ULL

/* Selectors in the boot GDT (Linux's boot protocol wants 0x10 and 0x18). */
#define VS_SEL_CODE32 0x08
#define VS_SEL_CODE64 0x10
#define VS_SEL_DATA   0x18
#define VS_SEL_TSS    0x20

/* Signal that interrupts a vCPU's KVM_RUN (run_end.c, vcpu.c). */
#define VS_SIG_KICK (SIGRTMIN + 1)

typedef struct vs_vm vs_vm;

typedef struct vs_vcpu {
	vs_vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
} vs_vcpu;

/* How the kernel image wants to be entered. */
typedef enum { VS_BOOT_LINUX64, VS_BOOT_PVH } vs_boot_mode;

typedef struct vs_boot {
	vs_boot_mode mode;
	uint64_t entry;
	uint64_t kernel_end; /* first byte after the loaded image */
} vs_boot;

typedef struct vs_io_handler {
	int fd;
	int (*fn)(void *arg, int fd); /* < 0: stop watching fd */
	void *arg;
} vs_io_handler;

#define VS_IO_MAX	     16
#define VS_DEVICES_MAX	     16
#define VS_CONSOLE_SINKS_MAX 4

/* A device the VM attached, for destroy. */
typedef struct vs_device_inst {
	const vs_device *dev;
	void *state;
} vs_device_inst;

struct vs_vm {
	vs_vm_config cfg;
	char *cmdline;
	int kvm_fd, vm_fd;
	int run_size;
	bool has_ioeventfd, has_irqfd, emulated;
	vs_guest_mem mem;
	vs_bus pio, mmio;
	struct kvm_cpuid2 *cpuid;
	vs_vcpu *vcpus;
	unsigned ncpus;
	vs_boot boot;

	/* console sink and source */
	int con_out, con_in;
	bool own_con_out;
	/* Bytes the console may still write to a regular file (UINT64_MAX: no
	 * cap, a pipe or terminal); con_capped once the note is written. */
	uint64_t con_room;
	bool con_capped;
	pthread_mutex_t con_lock;

	/* devices: what they see of the VM, and what to destroy */
	vs_dev_ctx dev;
	vs_device_inst devices[VS_DEVICES_MAX];
	int ndevices;
	vs_console_sink con_sinks[VS_CONSOLE_SINKS_MAX];
	int ncon_sinks;

	/* I/O thread: ioeventfds, console input */
	int epfd;
	vs_io_handler io[VS_IO_MAX];
	int nio;
	pthread_t io_thread;
	bool io_started;

	/* run state */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ended;
	unsigned running;
	vs_vm_result result;
	int stop_efd;
};

/* kvm.c */
int vs_kvm_open(vs_vm *vm, vs_err *err);
int vs_kvm_set_irq(vs_vm *vm, unsigned gsi, int level);
int vs_kvm_map_memory(vs_vm *vm, vs_err *err);
int vs_kvm_create_irqchip(vs_vm *vm, vs_err *err);

/* vcpu.c */
int vs_vcpu_create(vs_vm *vm, unsigned id, vs_err *err);
int vs_vcpu_start(vs_vcpu *v, vs_err *err);

/* run_end.c: end the run (first caller wins), kicking every vCPU out */
void vs_vm_end(vs_vm *vm, vs_vm_exit reason, unsigned vcpu, uint64_t rip, int code, const char *fmt,
	       ...) __attribute__((format(printf, 6, 7)));
void vs_vcpu_kick(vs_vcpu *v);

/* vm_devices.c: the device context's hooks, and attaching the table */
int vs_vm_attach_devices(vs_vm *vm, vs_err *err);
void vs_vm_destroy_devices(vs_vm *vm);
/* Write guest console output (serial, virtio-console). */
int vs_vm_add_io(vs_vm *vm, int fd, int (*fn)(void *arg, int fd), void *arg, vs_err *err);
/* I/O-thread handler for console input: feeds every console sink. */
int vs_vm_console_input(void *vm, int fd);

#endif
