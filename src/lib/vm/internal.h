/* State shared by the VMM's pieces; not part of the public API. */
#ifndef VESSEL_VM_INTERNAL_H
#define VESSEL_VM_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vm/bus.h"
#include "vm/memory.h"
#include "vm/vm.h"

/* Guest physical layout of what the VMM writes for the guest. */
#define VS_GDT_ADDR	    0x500
#define VS_START_INFO_ADDR  0x6000 /* PVH hvm_start_info + memmap + modules */
#define VS_ZERO_PAGE_ADDR   0x7000 /* Linux boot_params */
#define VS_PML4_ADDR	    0x9000 /* then PDPT, 4 page directories */
#define VS_CMDLINE_ADDR	    0x20000
#define VS_CMDLINE_MAX	    0x10000
#define VS_EBDA_START	    0x9fc00
#define VS_ACPI_ADDR	    0xe0000 /* RSDP, then the tables */
#define VS_MPTABLE_ADDR	    0xf0000
#define VS_KERNEL_ADDR	    0x100000
#define VS_VIRTIO_MMIO_BASE 0xd0000000ULL
#define VS_VIRTIO_MMIO_SIZE 0x1000
#define VS_VIRTIO_IRQ_BASE  5 /* GSIs 5, 6, 7, 10, 11: free ISA lines */
#define VS_IOAPIC_ADDR	    0xfec00000ULL
#define VS_LAPIC_ADDR	    0xfee00000ULL
#define VS_TSS_ADDR	    0xfffbd000ULL
#define VS_IDMAP_ADDR	    0xfffbc000ULL

/* Selectors in the boot GDT (Linux's boot protocol wants 0x10 and 0x18). */
#define VS_SEL_CODE32 0x08
#define VS_SEL_CODE64 0x10
#define VS_SEL_DATA   0x18
#define VS_SEL_TSS    0x20

/* Power-management ports (declared in the FADT) and test helpers. */
#define VS_PORT_PM1_EVT	   0x600 /* 4 bytes */
#define VS_PORT_PM1_CNT	   0x604 /* 2 bytes */
#define VS_PORT_RESET	   0xcf9
#define VS_PORT_DEBUG_EXIT 0xf4 /* like QEMU's isa-debug-exit */
#define VS_SCI_IRQ	   9

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

struct vs_virtio_dev;
struct vs_serial;

typedef struct vs_io_handler {
	int fd;
	int (*fn)(void *arg, int fd); /* < 0: stop watching fd */
	void *arg;
} vs_io_handler;

#define VS_IO_MAX     16
#define VS_VIRTIO_MAX 5

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
	pthread_mutex_t con_lock;

	/* devices */
	struct vs_serial *serial;
	struct vs_virtio_dev *virtio[VS_VIRTIO_MAX];
	uint64_t virtio_base[VS_VIRTIO_MAX]; /* for the DSDT */
	unsigned virtio_gsi[VS_VIRTIO_MAX];
	int nvirtio;

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
void vs_vcpu_kick(vs_vcpu *v);

/* vm.c: end the run (first caller wins) */
void vs_vm_end(vs_vm *vm, vs_vm_exit reason, unsigned vcpu, uint64_t rip, int code, const char *fmt,
	       ...) __attribute__((format(printf, 6, 7)));
/* Write guest console output (serial, virtio-console). */
void vs_vm_console_write(vs_vm *vm, const void *buf, size_t len);
int vs_vm_add_io(vs_vm *vm, int fd, int (*fn)(void *arg, int fd), void *arg, vs_err *err);

#endif
