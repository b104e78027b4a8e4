/* Freestanding helpers for vessel's test guests (KVM-selftests style):
 * port I/O, the COM1 UART, power-off/reset/exit ports, a tiny printf. */
#ifndef VESSEL_GUEST_H
#define VESSEL_GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t mmio_read32(uintptr_t addr)
{
	return *(volatile uint32_t *)addr;
}

static inline void mmio_write32(uintptr_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

static inline void barrier(void)
{
	__asm__ volatile("mfence" ::: "memory");
}

void serial_putc(char c);
int serial_getc(void);
void print(const char *fmt, ...);
void vprint(const char *fmt, va_list ap);

__attribute__((noreturn)) void poweroff(void);
__attribute__((noreturn)) void debug_exit(uint8_t code);
__attribute__((noreturn)) void halt_forever(void);

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
/* Find `word` in a space-separated command line; returns its value after
 * '=' (or the word end) or NULL. */
const char *cmdline_arg(const char *cmdline, const char *word);
uint32_t fnv1a(const void *p, size_t n);

/* The ACPI PM1 control port and the debug-exit port the VMM provides. */
#define PORT_PM1_CNT	0x604
#define PORT_DEBUG_EXIT 0xf4

#endif
