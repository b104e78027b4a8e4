/* x86-64 machine set-up: CPUID, boot tables, kernel loaders. */
#ifndef VESSEL_VM_X86_H
#define VESSEL_VM_X86_H

#include <stddef.h>
#include <stdint.h>

#include "vm/internal.h"

typedef struct vs_e820_entry {
	uint64_t addr, size;
	uint32_t type;
} vs_e820_entry;

#define VS_E820_RAM	 1
#define VS_E820_RESERVED 2
#define VS_E820_MAX	 8

/* cpuid.c */
int vs_x86_cpuid_init(vs_vm *vm, vs_err *err);
int vs_x86_cpuid_apply(vs_vm *vm, vs_vcpu *v, vs_err *err);

/* gdt.c, pagetables.c */
void vs_x86_write_gdt(const vs_guest_mem *m);
void vs_x86_boot_sregs(struct kvm_sregs *s, vs_boot_mode mode);
void vs_x86_write_pagetables(const vs_guest_mem *m);

/* e820.c: the map the guest sees, in order; returns the count. */
int vs_x86_e820(const vs_guest_mem *m, vs_e820_entry *out);

/* boot.c: load kernel, initrd, cmdline and boot structures. */
int vs_x86_load(vs_vm *vm, vs_err *err);
int vs_x86_setup_vcpu(vs_vm *vm, vs_vcpu *v, vs_err *err);

/* boot_bzimage.c / boot_pvh.c; return 1 when the image is not of that kind. */
int vs_x86_load_bzimage(vs_vm *vm, const uint8_t *img, size_t len, const uint8_t *initrd,
			size_t initrd_len, uint64_t rsdp, vs_err *err);
int vs_x86_load_pvh(vs_vm *vm, const uint8_t *img, size_t len, const uint8_t *initrd,
		    size_t initrd_len, uint64_t rsdp, vs_err *err);
/* Highest page-aligned address for an initrd of len bytes ending at or below
 * limit and above the kernel; 0 if none. */
uint64_t vs_x86_initrd_addr(vs_vm *vm, size_t len, uint64_t limit);

/* mptable.c, acpi.c */
int vs_x86_write_mptable(vs_vm *vm, vs_err *err);
int vs_x86_write_acpi(vs_vm *vm, uint64_t *rsdp, vs_err *err);

#endif
