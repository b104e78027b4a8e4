#include "guest.h"

#define COM1 0x3f8

void serial_putc(char c)
{
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb(COM1, (uint8_t)c);
}

int serial_getc(void)
{
	while (!(inb(COM1 + 5) & 0x01))
		;
	return inb(COM1);
}

static void put_str(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

/* Hex and decimal without 64-bit division helpers (32-bit guests link no
 * libgcc): decimal goes through 32-bit pieces. */
static void put_hex(uint64_t v, int width)
{
	char b[17];
	int n = 0;
	do {
		b[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	while (n < width)
		b[n++] = '0';
	while (n)
		serial_putc(b[--n]);
}

static void put_dec(uint32_t v)
{
	char b[11];
	int n = 0;
	do {
		b[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		serial_putc(b[--n]);
}

/* %s %c %d %u %x (32-bit), %lx %llx (64-bit hex), %08x style widths. */
void vprint(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			serial_putc(*fmt);
			continue;
		}
		fmt++;
		int width = 0, longs = 0;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			longs++;
			fmt++;
		}
		switch (*fmt) {
		case 's':
			put_str(va_arg(ap, const char *));
			break;
		case 'c':
			serial_putc((char)va_arg(ap, int));
			break;
		case 'd': {
			int v = va_arg(ap, int);
			if (v < 0) {
				serial_putc('-');
				v = -v;
			}
			put_dec((uint32_t)v);
			break;
		}
		case 'u':
			put_dec(va_arg(ap, uint32_t));
			break;
		case 'x':
			if (longs == 2)
				put_hex(va_arg(ap, unsigned long long), width);
			else if (longs == 1)
				put_hex(va_arg(ap, unsigned long), width);
			else
				put_hex(va_arg(ap, uint32_t), width);
			break;
		case '%':
			serial_putc('%');
			break;
		default:
			return;
		}
	}
}

void print(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
}

void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void poweroff(void)
{
	outw(PORT_PM1_CNT, (uint16_t)(0x2000 | (5 << 10))); /* SLP_EN | SLP_TYP=S5 */
	halt_forever();
}

void debug_exit(uint8_t code)
{
	outb(PORT_DEBUG_EXIT, code);
	halt_forever();
}

void *memset(void *d, int c, size_t n)
{
	uint8_t *p = d;
	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *p = d;
	const uint8_t *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *p = a, *q = b;
	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

const char *cmdline_arg(const char *c, const char *word)
{
	size_t wl = strlen(word);
	while (*c) {
		while (*c == ' ')
			c++;
		const char *start = c;
		while (*c && *c != ' ')
			c++;
		if ((size_t)(c - start) >= wl && !memcmp(start, word, wl) &&
		    (start[wl] == '=' || start + wl == c))
			return start[wl] == '=' ? start + wl + 1 : start + wl;
	}
	return NULL;
}

uint32_t fnv1a(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t h = 2166136261u;
	while (n--) {
		h ^= *b++;
		h *= 16777619u;
	}
	return h;
}
