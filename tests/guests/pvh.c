/* 32-bit PVH guest: reports hvm_start_info (magic, command line, memory map,
 * modules). With "bench" on the command line it only writes one byte to the
 * UART and exits, for start-up timing. */
#include "guest.h"

struct start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

void pvh_main(const struct start_info *si)
{
	const char *cmdline = (const char *)(uintptr_t)si->cmdline_paddr;
	if (cmdline_arg(cmdline, "bench")) {
		outb(0x3f8, '!'); /* the first port write of the guest */
		debug_exit(0);
	}
	print("GUEST pvh\n");
	print("MAGIC %x VERSION %u\n", si->magic, si->version);
	print("CMDLINE %s\n", cmdline);
	print("RSDP %llx\n", si->rsdp_paddr);
	const struct memmap_entry *m = (const void *)(uintptr_t)si->memmap_paddr;
	for (uint32_t i = 0; i < si->memmap_entries; i++)
		print("E820 %llx %llx %x\n", m[i].addr, m[i].size, m[i].type);
	print("MODULES %u\n", si->nr_modules);
	print("DONE\n");
	poweroff();
}
