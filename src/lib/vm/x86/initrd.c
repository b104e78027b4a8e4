/* Where the initrd goes: shared by both kernel loaders. */
#include "vm/x86/x86.h"

uint64_t vs_x86_initrd_addr(vs_vm *vm, size_t len, uint64_t limit)
{
	if (limit > vm->mem.lowmem_end)
		limit = vm->mem.lowmem_end;
	if (len > limit)
		return 0;
	uint64_t addr = (limit - len) & ~0xfffULL;
	return addr >= vm->boot.kernel_end ? addr : 0;
}
