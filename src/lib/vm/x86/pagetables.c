/* Identity map of the first 4 GiB with 2 MiB pages: what Linux's 64-bit
 * entry needs (kernel, zero page, cmdline, initrd all mapped). */
#include "vm/x86/x86.h"

#define PTE_P  1ULL
#define PTE_W  2ULL
#define PTE_PS 0x80ULL

void vs_x86_write_pagetables(const vs_guest_mem *m)
{
	uint64_t *pml4 = vs_mem_ptr(m, VS_PML4_ADDR, 6 * 4096);
	if (!pml4)
		return;
	uint64_t *pdpt = pml4 + 512, *pd = pml4 + 1024;
	for (int i = 0; i < 512 * 6; i++)
		pml4[i] = 0;
	pml4[0] = (VS_PML4_ADDR + 0x1000) | PTE_P | PTE_W;
	for (uint64_t g = 0; g < 4; g++) {
		pdpt[g] = (VS_PML4_ADDR + 0x2000 + g * 0x1000) | PTE_P | PTE_W;
		for (uint64_t j = 0; j < 512; j++)
			pd[g * 512 + j] = ((g << 30) | (j << 21)) | PTE_P | PTE_W | PTE_PS;
	}
}
