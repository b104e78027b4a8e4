/* The guest's physical memory map, shared by the zero page, PVH start_info
 * and the tests that check it. */
#include "vm/x86/x86.h"

int vs_x86_e820(const vs_guest_mem *m, vs_e820_entry *out)
{
	int n = 0;
	out[n++] = (vs_e820_entry){ 0, VS_EBDA_START, VS_E820_RAM };
	out[n++] = (vs_e820_entry){ VS_EBDA_START, 0xa0000 - VS_EBDA_START, VS_E820_RESERVED };
	/* ACPI tables and the MP table live in the BIOS area. */
	out[n++] = (vs_e820_entry){ VS_ACPI_ADDR, VS_KERNEL_ADDR - VS_ACPI_ADDR, VS_E820_RESERVED };
	if (m->lowmem_end > VS_KERNEL_ADDR)
		out[n++] = (vs_e820_entry){ VS_KERNEL_ADDR, m->lowmem_end - VS_KERNEL_ADDR,
					    VS_E820_RAM };
	for (int i = 0; i < m->n; i++)
		if (m->r[i].gpa >= VS_MEM_HOLE_END)
			out[n++] = (vs_e820_entry){ m->r[i].gpa, m->r[i].size, VS_E820_RAM };
	return n;
}
