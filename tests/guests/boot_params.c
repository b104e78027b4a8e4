/* Reports what the 64-bit boot protocol handed over: loader type, protocol,
 * command line, RSDP, e820 map. */
#include "guest.h"

void guest_main(const uint8_t *bp)
{
	print("GUEST boot_params\n");
	print("LOADER %x\n", bp[0x210]);
	print("PROTOCOL %x\n", *(const uint16_t *)(bp + 0x206));
	const char *cmdline = (const char *)(uintptr_t) * (const uint32_t *)(bp + 0x228);
	print("CMDLINE %s\n", cmdline);
	print("RSDP %lx\n", *(const uint64_t *)(bp + 0x70));
	uint8_t n = bp[0x1e8];
	for (int i = 0; i < n; i++) {
		const uint8_t *e = bp + 0x2d0 + 20 * i;
		print("E820 %lx %lx %x\n", *(const uint64_t *)e, *(const uint64_t *)(e + 8),
		      *(const uint32_t *)(e + 16));
	}
	print("INITRD %x %x\n", *(const uint32_t *)(bp + 0x218), *(const uint32_t *)(bp + 0x21c));
	uint32_t isz = *(const uint32_t *)(bp + 0x21c);
	if (isz)
		print("INITRD_FNV %x\n",
		      fnv1a((const void *)(uintptr_t) * (const uint32_t *)(bp + 0x218), isz));
	print("DONE\n");
	poweroff();
}
