/* Ends the VM the way the command line says (action=...): power-off through
 * ACPI PM1, reset through the i8042 or port 0xcf9, a triple fault, an exit
 * code, an instruction fetch KVM cannot satisfy, or hanging forever. With
 * "await" it first prints AWAIT and waits for a byte on the UART, so a test
 * can set things up (connections to the VM's devices) before the end. */
#include "guest.h"

/* No IDT: the #UD cannot be delivered, nor the #DF after it. (ud2, not
 * int3: the host emulators some CI machines have cannot deliver int3.) */
static void triple_fault(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idt = { 0, 0 };
	__asm__ volatile("lidt %0; ud2" : : "m"(idt));
}

void guest_main(const uint8_t *bp)
{
	const char *cmdline = (const char *)(uintptr_t) * (const uint32_t *)(bp + 0x228);
	const char *a = cmdline_arg(cmdline, "action");
	print("ACTION %s\n", a ? a : "(none)");
	if (cmdline_arg(cmdline, "await")) {
		print("AWAIT\n");
		serial_getc();
	}
	if (!a)
		poweroff();
	if (!memcmp(a, "poweroff", 8))
		poweroff();
	if (!memcmp(a, "kbd", 3))
		outb(0x64, 0xfe);
	if (!memcmp(a, "cf9", 3)) {
		outb(0xcf9, 0x02);
		outb(0xcf9, 0x06);
	}
	if (!memcmp(a, "triple", 6))
		triple_fault();
	if (!memcmp(a, "exit", 4))
		debug_exit((uint8_t)(a[4] == ':' ? (a[5] - '0') * 10 + (a[6] - '0') : 1));
	if (!memcmp(a, "fetch", 5)) {
		/* Run code from the MMIO hole, where no RAM is: KVM cannot
		 * fetch the instruction and reports an internal error. */
		void (*f)(void) = (void (*)(void))0xd0100000UL;
		f();
	}
	if (!memcmp(a, "hang", 4)) {
		print("HANGING\n");
		halt_forever();
	}
	print("UNREACHED\n");
	halt_forever();
}
