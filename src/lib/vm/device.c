/* Resources the VM hands out to devices. */
#include "vm/device.h"

const vs_dev_window *vs_dev_next_window(vs_dev_ctx *ctx)
{
	static const unsigned gsis[VS_VIRTIO_MAX] = { 5, 6, 7, 10, 11 };
	if (ctx->nvirtio == VS_VIRTIO_MAX)
		return NULL;
	int i = ctx->nvirtio++;
	ctx->virtio[i] =
		(vs_dev_window){ VS_VIRTIO_MMIO_BASE + (uint64_t)i * VS_VIRTIO_MMIO_SIZE, gsis[i] };
	return &ctx->virtio[i];
}
