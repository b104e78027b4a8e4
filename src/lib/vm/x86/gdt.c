/* The boot GDT and the segment state the vCPU starts with: flat 4 GiB
 * segments, 64-bit code for Linux's 64-bit entry, 32-bit code for PVH. */
#include <string.h>

#include "vm/x86/x86.h"

#define CR0_PE	 (1ULL << 0)
#define CR0_ET	 (1ULL << 4)
#define CR0_PG	 (1ULL << 31)
#define CR4_PAE	 (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

static const uint64_t gdt[] = {
	0,		       /* null */
	0x00cf9b000000ffffULL, /* 0x08: 32-bit code, flat */
	0x00af9b000000ffffULL, /* 0x10: 64-bit code */
	0x00cf93000000ffffULL, /* 0x18: data, flat */
	0x00008b0000000067ULL, /* 0x20: TSS (busy), base 0 */
	0,		       /* upper half of the 16-byte TSS descriptor */
};

void vs_x86_write_gdt(const vs_guest_mem *m)
{
	vs_mem_write(m, VS_GDT_ADDR, gdt, sizeof(gdt));
}

static struct kvm_segment seg(uint16_t sel, uint8_t type, uint8_t s, uint8_t db, uint8_t l)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = db,
		.s = s,
		.l = l,
		.g = 1,
	};
}

void vs_x86_boot_sregs(struct kvm_sregs *s, vs_boot_mode mode)
{
	struct kvm_segment data = seg(VS_SEL_DATA, 3, 1, 1, 0);
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	s->tr = seg(VS_SEL_TSS, 11, 0, 0, 0);
	s->tr.limit = 0x67;
	s->tr.g = 0;
	s->ldt = (struct kvm_segment){ .type = 2, .present = 1, .limit = 0xffff };
	s->gdt.base = VS_GDT_ADDR;
	s->gdt.limit = sizeof(gdt) - 1;
	s->idt.base = 0;
	s->idt.limit = 0;
	if (mode == VS_BOOT_LINUX64) {
		s->cs = seg(VS_SEL_CODE64, 11, 1, 0, 1);
		s->cr3 = VS_PML4_ADDR;
		s->cr4 = CR4_PAE;
		s->cr0 = CR0_PE | CR0_ET | CR0_PG;
		s->efer = EFER_LME | EFER_LMA;
	} else {
		/* PVH: 32-bit protected mode, paging off. */
		s->cs = seg(VS_SEL_CODE32, 11, 1, 1, 0);
		s->cr0 = CR0_PE | CR0_ET;
		s->cr3 = 0;
		s->cr4 = 0;
		s->efer = 0;
	}
}
