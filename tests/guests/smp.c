/* Finds the CPUs the way a stock kernel does (MP table, ACPI MADT), checks
 * the DSDT lists the virtio-mmio devices and \_S5, then starts every AP with
 * INIT/SIPI through a real-mode trampoline and has all CPUs increment one
 * shared counter. */
#include "guest.h"

#define LAPIC	     0xfee00000UL
#define TRAMP	     0x8000
#define PER_CPU_ADDS 20000
#define MAX_CPUS     8

/* Real mode -> protected mode -> long mode, reusing the VMM's boot GDT
 * (0x08 code32, 0x10 code64, 0x18 data) and the BSP's page tables. Copied
 * to 0x8000 (SIPI vector 0x08); the BSP fills the four slots at the end. */
__asm__(".section .rodata\n"
	".globl tramp_start, tramp_end, tramp_gdtr, tramp_cr3, tramp_stack, tramp_entry\n"
	".code16\n"
	"tramp_start:\n"
	"	cli\n"
	"	xorw %ax, %ax\n"
	"	movw %ax, %ds\n"
	"	lgdtl tramp_gdtr - tramp_start + 0x8000\n"
	"	movl %cr0, %eax\n"
	"	orl $1, %eax\n"
	"	movl %eax, %cr0\n"
	"	ljmpl $0x08, $(tramp32 - tramp_start + 0x8000)\n"
	".code32\n"
	"tramp32:\n"
	"	movw $0x18, %ax\n"
	"	movw %ax, %ds\n"
	"	movw %ax, %es\n"
	"	movw %ax, %ss\n"
	"	movl %cr4, %eax\n"
	"	orl $0x20, %eax\n"
	"	movl %eax, %cr4\n"
	"	movl tramp_cr3 - tramp_start + 0x8000, %eax\n"
	"	movl %eax, %cr3\n"
	"	movl $0xc0000080, %ecx\n"
	"	rdmsr\n"
	"	orl $0x100, %eax\n"
	"	wrmsr\n"
	"	movl %cr0, %eax\n"
	"	orl $0x80000000, %eax\n"
	"	movl %eax, %cr0\n"
	"	ljmpl $0x10, $(tramp64 - tramp_start + 0x8000)\n"
	".code64\n"
	"tramp64:\n"
	"	movq tramp_stack - tramp_start + 0x8000, %rsp\n"
	"	movq tramp_entry - tramp_start + 0x8000, %rax\n"
	"	jmp *%rax\n"
	".p2align 3\n"
	"tramp_gdtr: .word 0\n"
	"	.long 0\n"
	"	.word 0\n"
	"tramp_cr3: .quad 0\n"
	"tramp_stack: .quad 0\n"
	"tramp_entry: .quad 0\n"
	"tramp_end:\n"
	".text\n");

extern char tramp_start[], tramp_end[], tramp_gdtr[], tramp_cr3[], tramp_stack[], tramp_entry[];

static volatile uint64_t counter;
static volatile uint32_t started;
static volatile uint32_t apic_match; /* bit n: CPU with LAPIC id n saw id n in CPUID */
static uint8_t stacks[MAX_CPUS][8192] __attribute__((aligned(16)));

static uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(LAPIC + reg);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(LAPIC + reg, v);
}

static void add_many(void)
{
	for (int i = 0; i < PER_CPU_ADDS; i++)
		__atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST);
}

static void check_apic_id(void)
{
	uint32_t a = 1, b, c = 0, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	uint32_t lapic = lapic_read(0x20) >> 24;
	if ((b >> 24) == lapic && lapic < 32)
		__atomic_fetch_or(&apic_match, 1u << lapic, __ATOMIC_SEQ_CST);
}

static void ap_main(void)
{
	check_apic_id();
	__atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
	add_many();
	halt_forever();
}

static uint8_t sum(const void *p, uint32_t n)
{
	uint8_t s = 0;
	for (uint32_t i = 0; i < n; i++)
		s += ((const uint8_t *)p)[i];
	return s;
}

/* MP table: returns the CPU count and fills their APIC ids. */
static int mp_cpus(uint8_t *ids, uint8_t *bsp)
{
	for (uintptr_t p = 0xf0000; p < 0x100000; p += 16) {
		if (memcmp((void *)p, "_MP_", 4) || sum((void *)p, 16))
			continue;
		const uint8_t *t = (const uint8_t *)(uintptr_t) * (const uint32_t *)(p + 4);
		if (memcmp(t, "PCMP", 4) || sum(t, *(const uint16_t *)(t + 4))) {
			print("MP bad config table\n");
			return 0;
		}
		uint16_t count = *(const uint16_t *)(t + 34);
		const uint8_t *e = t + 44;
		int n = 0, ioapics = 0;
		for (int i = 0; i < count; i++) {
			if (e[0] == 0) {
				if ((e[3] & 1) && n < MAX_CPUS)
					ids[n++] = e[1];
				if (e[3] & 2)
					*bsp = e[1];
				e += 20;
			} else {
				ioapics += e[0] == 2;
				e += 8;
			}
		}
		print("MP cpus=%d ioapics=%d\n", n, ioapics);
		return n;
	}
	print("MP none\n");
	return 0;
}

static const uint8_t *xsdt_find(const uint8_t *xsdt, const char *sig)
{
	uint32_t len = *(const uint32_t *)(xsdt + 4);
	for (uint32_t o = 36; o + 8 <= len; o += 8) {
		const uint8_t *t = (const uint8_t *)(uintptr_t) * (const uint64_t *)(xsdt + o);
		if (!memcmp(t, sig, 4))
			return t;
	}
	return 0;
}

static void acpi_report(const uint8_t *bp, int dump)
{
	const uint8_t *rsdp = (const uint8_t *)(uintptr_t) * (const uint64_t *)(bp + 0x70);
	if (!rsdp || memcmp(rsdp, "RSD PTR ", 8) || sum(rsdp, 20) || sum(rsdp, 36)) {
		print("ACPI bad rsdp\n");
		return;
	}
	const uint8_t *xsdt = (const uint8_t *)(uintptr_t) * (const uint64_t *)(rsdp + 24);
	const uint8_t *madt = xsdt_find(xsdt, "APIC"), *fadt = xsdt_find(xsdt, "FACP");
	if (!madt || !fadt || sum(xsdt, *(const uint32_t *)(xsdt + 4))) {
		print("ACPI missing tables\n");
		return;
	}
	uint32_t len = *(const uint32_t *)(madt + 4);
	int cpus = 0, ioapics = 0;
	for (uint32_t o = 44; o + 2 <= len; o += madt[o + 1]) {
		if (!madt[o + 1])
			break;
		cpus += madt[o] == 0 && (madt[o + 4] & 1);
		ioapics += madt[o] == 1;
	}
	const uint8_t *dsdt = (const uint8_t *)(uintptr_t) * (const uint64_t *)(fadt + 140);
	uint32_t dlen = *(const uint32_t *)(dsdt + 4);
	int virtio = 0, s5 = 0;
	for (uint32_t o = 36; o + 8 <= dlen; o++) {
		virtio += !memcmp(dsdt + o, "LNRO0005", 8);
		s5 += !memcmp(dsdt + o, "_S5_", 4);
	}
	if (dump) {
		/* For host-side checks (iasl): every table as hex lines. */
		const uint8_t *t[] = { dsdt, fadt, madt, xsdt };
		const char *n[] = { "DSDT", "FACP", "APIC", "XSDT" };
		for (int k = 0; k < 4; k++) {
			print("HEX %s ", n[k]);
			for (uint32_t i = 0; i < *(const uint32_t *)(t[k] + 4); i++)
				print("%2x", t[k][i]);
			print("\n");
		}
	}
	print("MADT cpus=%d ioapics=%d checksum_ok=%d\n", cpus, ioapics, sum(madt, len) == 0);
	print("DSDT virtio=%d s5=%d checksum_ok=%d\n", virtio, s5, sum(dsdt, dlen) == 0);
	print("FADT pm1_cnt=%x reset=%x\n", *(const uint32_t *)(fadt + 64),
	      *(const uint32_t *)(fadt + 120));
}

void guest_main(const uint8_t *bp)
{
	uint8_t ids[MAX_CPUS], bsp = 0xff;
	int n = mp_cpus(ids, &bsp);
	const char *cmdline = (const char *)(uintptr_t) * (const uint32_t *)(bp + 0x228);
	acpi_report(bp, cmdline_arg(cmdline, "dump_acpi") != 0);
	uint32_t me = lapic_read(0x20) >> 24;
	print("BSP apic=%u mp_bsp=%u\n", me, bsp);

	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	uint8_t gdtr[10];
	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	uint8_t *t = (uint8_t *)TRAMP;
	memcpy(t, tramp_start, (size_t)(tramp_end - tramp_start));
	memcpy(t + (tramp_gdtr - tramp_start), gdtr, 6);
	*(uint64_t *)(t + (tramp_cr3 - tramp_start)) = cr3;
	*(uint64_t *)(t + (tramp_entry - tramp_start)) = (uint64_t)(uintptr_t)ap_main;
	lapic_write(0xf0, 0x1ff); /* software-enable the LAPIC */

	int want = 0;
	for (int i = 0; i < n; i++) {
		if (ids[i] == me)
			continue;
		want++;
		*(uint64_t *)(t + (tramp_stack - tramp_start)) =
			(uint64_t)(uintptr_t)(stacks[want] + sizeof(stacks[want]));
		barrier();
		lapic_write(0x310, (uint32_t)ids[i] << 24);
		lapic_write(0x300, 0x4500); /* INIT */
		lapic_write(0x310, (uint32_t)ids[i] << 24);
		lapic_write(0x300, 0x4600 | (TRAMP >> 12)); /* STARTUP */
		/* One AP at a time: they share the trampoline's stack slot. */
		for (unsigned long s = 0; s < 50000000UL && started < (uint32_t)want; s++)
			__asm__ volatile("pause");
	}
	check_apic_id();
	add_many();
	uint64_t expect = (uint64_t)(started + 1) * PER_CPU_ADDS;
	for (unsigned long s = 0; s < 100000000UL && counter < expect; s++)
		__asm__ volatile("pause");
	print("SMP started=%u of %d counter=%u expected=%u\n", started, want, (uint32_t)counter,
	      (uint32_t)((uint64_t)n * PER_CPU_ADDS));
	print("APICIDS %x\n", apic_match);
	print("DONE\n");
	poweroff();
}
