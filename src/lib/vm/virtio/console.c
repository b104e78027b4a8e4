/* virtio-console, single port (hvc0): transmit queue to the VM console,
 * receive queue fed from console input. */
#include <stdlib.h>
#include <string.h>

#include "vm/virtio/virtio.h"

#define VIRTIO_ID_CONSOLE 3
#define RXQ		  0
#define TXQ		  1

struct con {
	uint8_t pending[4096]; /* input waiting for receive buffers */
	size_t npending;
};

static void fill_rx(vs_virtio_dev *d)
{
	struct con *c = d->priv;
	vs_vq_chain ch;
	bool any = false;
	int rc = 0;
	while (c->npending && (rc = vs_vq_pop(d->mem, &d->vq[RXQ], &ch)) == 1) {
		size_t n = vs_vq_write(&ch, 0, c->pending, c->npending);
		memmove(c->pending, c->pending + n, c->npending - n);
		c->npending -= n;
		vs_vq_push(d->mem, &d->vq[RXQ], ch.head, (uint32_t)n);
		any = true;
	}
	if (rc < 0)
		vs_virtio_fail(d, "receive queue: %s", ch.error);
	if (any)
		vs_virtio_notify_used(d, RXQ);
}

static void con_notify(vs_virtio_dev *d, unsigned q)
{
	if (q == RXQ) {
		fill_rx(d);
		return;
	}
	vs_vq_chain ch;
	bool any = false;
	int rc;
	while ((rc = vs_vq_pop(d->mem, &d->vq[TXQ], &ch)) == 1) {
		for (unsigned i = 0; i < ch.nout; i++)
			if (d->ctx)
				d->ctx->console_write(d->ctx->host, ch.seg[i].hva, ch.seg[i].len);
		vs_vq_push(d->mem, &d->vq[TXQ], ch.head, 0);
		any = true;
	}
	if (rc < 0)
		vs_virtio_fail(d, "transmit queue: %s", ch.error);
	if (any)
		vs_virtio_notify_used(d, TXQ);
}

static void con_config(vs_virtio_dev *d, uint64_t off, void *data, unsigned len)
{
	(void)d;
	(void)off;
	memset(data, 0, len); /* no F_SIZE, no F_MULTIPORT */
}

static void con_reset(vs_virtio_dev *d)
{
	((struct con *)d->priv)->npending = 0;
}

static void con_destroy(vs_virtio_dev *d)
{
	free(d->priv);
}

static const vs_virtio_ops con_ops = {
	.name = "console",
	.device_id = VIRTIO_ID_CONSOLE,
	.nqueues = 2,
	.notify = con_notify,
	.config_read = con_config,
	.reset = con_reset,
	.destroy = con_destroy,
};

/* Console input (I/O thread). Only a driver that is up gets it; before
 * that, ttyS0 has it. */
static void con_input(void *arg, const uint8_t *buf, size_t len)
{
	vs_virtio_dev *d = arg;
	pthread_mutex_lock(&d->lock);
	if (vs_virtio_live(d) && d->vq[RXQ].ready) {
		struct con *c = d->priv;
		size_t n = len < sizeof(c->pending) - c->npending
				   ? len
				   : sizeof(c->pending) - c->npending;
		memcpy(c->pending + c->npending, buf, n);
		c->npending += n;
		fill_rx(d);
	}
	pthread_mutex_unlock(&d->lock);
}

static int con_create(vs_dev_ctx *ctx, const vs_vm_config *cfg, void **state, vs_err *err)
{
	(void)cfg;
	struct con *c = calloc(1, sizeof(*c));
	vs_virtio_dev *d = c ? vs_virtio_new(ctx, &con_ops, 0, c) : NULL;
	if (!d) {
		free(c);
		return vs_fail(err, 0, "allocating virtio-console");
	}
	*state = d;
	vs_console_sink sink = { NULL, con_input, d };
	if (ctx->add_console_sink(ctx->host, &sink, err) < 0)
		return -1;
	return vs_virtio_attach(d, err);
}

const vs_device vs_virtio_console_device = {
	.name = "virtio-console",
	.create = con_create,
	.destroy = vs_virtio_destroy_state,
};
