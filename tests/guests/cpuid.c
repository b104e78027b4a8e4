/* Reports the CPUID the VMM gives the boot vCPU: APIC id and logical CPU
 * count, hypervisor bit and signature, and (for information) the features
 * an emulating host KVM cannot run. */
#include "guest.h"

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

void guest_main(const uint8_t *bp)
{
	(void)bp;
	uint32_t r[4];
	cpuid(1, 0, r);
	print("LEAF1 apic=%u count=%u hypervisor=%u\n", r[1] >> 24, (r[1] >> 16) & 0xff,
	      (r[2] >> 31) & 1);
	print("FEATURES xsave=%u avx=%u cx16=%u\n", (r[2] >> 26) & 1, (r[2] >> 28) & 1,
	      (r[2] >> 13) & 1);
	cpuid(0x40000000, 0, r);
	char sig[13];
	memcpy(sig, &r[1], 4);
	memcpy(sig + 4, &r[2], 4);
	memcpy(sig + 8, &r[3], 4);
	sig[12] = 0;
	print("HYPERVISOR %s\n", sig);
	print("DONE\n");
	poweroff();
}
