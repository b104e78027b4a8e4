/* Reads a line from ttyS0 and echoes it back: UART input and output. */
#include "guest.h"

void guest_main(const uint8_t *bp)
{
	(void)bp;
	char line[128];
	size_t n = 0;
	print("READY\n");
	for (;;) {
		int c = serial_getc();
		if (c == '\n' || c == '\r' || n == sizeof(line) - 1)
			break;
		line[n++] = (char)c;
	}
	line[n] = 0;
	print("ECHO %s\n", line);
	poweroff();
}
