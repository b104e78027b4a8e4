/* 8250/16550A UART at COM1 (0x3f8, IRQ 4): what Linux's 8250 driver and a
 * polling guest need. Output goes to the VM console; input arrives from the
 * I/O thread, so registers are guarded by a lock. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vm/device.h"

#define COM1_PORT 0x3f8
#define COM1_IRQ  4

#define IER_RDI	  0x01
#define IER_THRI  0x02
#define IIR_NONE  0x01
#define IIR_THRI  0x02
#define IIR_RDI	  0x04
#define LCR_DLAB  0x80
#define LSR_DR	  0x01
#define LSR_THRE  0x20
#define LSR_TEMT  0x40
#define MCR_LOOP  0x10
#define FCR_FIFO  0x01
#define FCR_CLRRX 0x02

struct vs_serial {
	const vs_dev_ctx *ctx;
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thri_pending;
	int irq_level;
	uint8_t rx[1024];
	size_t rx_head, rx_len;
};

static void update_irq(struct vs_serial *s)
{
	int level = ((s->ier & IER_RDI) && s->rx_len) || ((s->ier & IER_THRI) && s->thri_pending);
	if (level != s->irq_level) {
		s->irq_level = level;
		s->ctx->set_irq(s->ctx->host, COM1_IRQ, level);
	}
}

static void rx_push(struct vs_serial *s, uint8_t c)
{
	if (s->rx_len == sizeof(s->rx))
		return;
	s->rx[(s->rx_head + s->rx_len) % sizeof(s->rx)] = c;
	s->rx_len++;
}

static uint8_t rx_pop(struct vs_serial *s)
{
	if (!s->rx_len)
		return 0;
	uint8_t c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % sizeof(s->rx);
	s->rx_len--;
	return c;
}

static void serial_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct vs_serial *s = dev;
	uint8_t v = 0;
	pthread_mutex_lock(&s->lock);
	bool dlab = s->lcr & LCR_DLAB;
	switch (off) {
	case 0:
		v = dlab ? s->dll : rx_pop(s);
		break;
	case 1:
		v = dlab ? s->dlm : s->ier;
		break;
	case 2:
		if ((s->ier & IER_RDI) && s->rx_len) {
			v = IIR_RDI;
		} else if ((s->ier & IER_THRI) && s->thri_pending) {
			v = IIR_THRI;
			s->thri_pending = false; /* reading IIR acknowledges THRE */
		} else {
			v = IIR_NONE;
		}
		if (s->fcr & FCR_FIFO)
			v |= 0xc0;
		break;
	case 3:
		v = s->lcr;
		break;
	case 4:
		v = s->mcr;
		break;
	case 5:
		v = LSR_THRE | LSR_TEMT | (s->rx_len ? LSR_DR : 0);
		break;
	case 6:
		/* Loopback wires MCR outputs to the modem inputs; otherwise
		 * report carrier, DSR and CTS so drivers do not wait. */
		if (s->mcr & MCR_LOOP)
			v = (uint8_t)(((s->mcr & 0x01) << 5) | ((s->mcr & 0x02) << 3) |
				      ((s->mcr & 0x04) << 4) | ((s->mcr & 0x08) << 4));
		else
			v = 0xb0;
		break;
	case 7:
		v = s->scr;
		break;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	memset(data, 0, len);
	*(uint8_t *)data = v;
}

static void serial_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct vs_serial *s = dev;
	(void)len;
	uint8_t v = *(const uint8_t *)data;
	pthread_mutex_lock(&s->lock);
	bool dlab = s->lcr & LCR_DLAB;
	switch (off) {
	case 0:
		if (dlab) {
			s->dll = v;
		} else {
			if (s->mcr & MCR_LOOP)
				rx_push(s, v);
			else
				s->ctx->console_write(s->ctx->host, &v, 1);
			s->thri_pending = true;
		}
		break;
	case 1:
		if (dlab) {
			s->dlm = v;
		} else {
			if ((v & IER_THRI) && !(s->ier & IER_THRI))
				s->thri_pending = true;
			s->ier = v & 0x0f;
		}
		break;
	case 2:
		s->fcr = v;
		if (v & FCR_CLRRX)
			s->rx_len = 0;
		break;
	case 3:
		s->lcr = v;
		break;
	case 4:
		s->mcr = v & 0x1f;
		break;
	case 7:
		s->scr = v;
		break;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static const vs_bus_ops serial_ops = { serial_read, serial_write };

static void serial_destroy(void *state)
{
	struct vs_serial *s = state;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static size_t serial_room(void *arg)
{
	struct vs_serial *s = arg;
	pthread_mutex_lock(&s->lock);
	size_t room = sizeof(s->rx) - s->rx_len;
	pthread_mutex_unlock(&s->lock);
	return room;
}

static void serial_input(void *arg, const uint8_t *buf, size_t len)
{
	struct vs_serial *s = arg;
	pthread_mutex_lock(&s->lock);
	size_t n = 0;
	while (n < len && s->rx_len < sizeof(s->rx))
		rx_push(s, buf[n++]);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static int serial_create(vs_dev_ctx *ctx, const vs_vm_config *cfg, void **state, vs_err *err)
{
	(void)cfg;
	struct vs_serial *s = calloc(1, sizeof(*s));
	if (!s)
		return vs_fail(err, 0, "allocating the UART");
	s->ctx = ctx;
	pthread_mutex_init(&s->lock, NULL);
	*state = s;
	vs_console_sink sink = { serial_room, serial_input, s };
	if (ctx->add_console_sink(ctx->host, &sink, err) < 0)
		return -1;
	return vs_bus_register(ctx->pio, COM1_PORT, 8, &serial_ops, s, "ttyS0", err);
}

const vs_device vs_serial_device = {
	.name = "ttyS0",
	.create = serial_create,
	.destroy = serial_destroy,
};
