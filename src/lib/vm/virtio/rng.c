/* virtio-rng (entropy device): fills the guest's buffers from getrandom. */
#include <stdlib.h>
#include <sys/random.h>

#include "vm/virtio/virtio.h"

#define VIRTIO_ID_RNG 4
#define RNG_MAX	      (64 * 1024) /* per request, so a huge buffer cannot stall us */

static void rng_notify(vs_virtio_dev *d, unsigned q)
{
	vs_vq_chain c;
	bool any = false;
	int rc;
	while ((rc = vs_vq_pop(d->mem, &d->vq[q], &c)) == 1) {
		uint32_t done = 0;
		for (unsigned i = c.nout; i < c.nout + c.nin && done < RNG_MAX; i++) {
			size_t want = c.seg[i].len;
			if (want > RNG_MAX - done)
				want = RNG_MAX - done;
			ssize_t n = getrandom(c.seg[i].hva, want, 0);
			if (n <= 0)
				break;
			done += (uint32_t)n;
			if ((size_t)n < want)
				break;
		}
		vs_vq_push(d->mem, &d->vq[q], c.head, done);
		any = true;
	}
	if (rc < 0)
		vs_virtio_fail(d, "request queue: %s", c.error);
	if (any)
		vs_virtio_notify_used(d, q);
}

static const vs_virtio_ops rng_ops = {
	.name = "rng",
	.device_id = VIRTIO_ID_RNG,
	.nqueues = 1,
	.notify = rng_notify,
};

vs_virtio_dev *vs_virtio_rng_new(vs_dev_ctx *ctx, const vs_guest_mem *mem)
{
	vs_virtio_dev *d = vs_virtio_new(ctx, &rng_ops, 0, NULL);
	if (d && mem)
		d->mem = mem;
	return d;
}

static bool rng_wanted(const vs_vm_config *cfg)
{
	return cfg->rng;
}

static int rng_create(vs_dev_ctx *ctx, const vs_vm_config *cfg, void **state, vs_err *err)
{
	(void)cfg;
	vs_virtio_dev *d = vs_virtio_rng_new(ctx, NULL);
	if (!d)
		return vs_fail(err, 0, "allocating virtio-rng");
	*state = d;
	return vs_virtio_attach(d, err);
}

const vs_device vs_virtio_rng_device = {
	.name = "virtio-rng",
	.wanted = rng_wanted,
	.create = rng_create,
	.destroy = vs_virtio_destroy_state,
};
