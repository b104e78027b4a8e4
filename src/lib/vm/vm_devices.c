/* The VM's side of the device context: the hooks devices call (interrupt
 * lines, end the run, console output, I/O-thread fds, console input), and
 * attaching every device in the table the options ask for. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/log.h"
#include "vm/devices.h"
#include "vm/internal.h"

static int hook_set_irq(void *host, unsigned gsi, int level)
{
	return vs_kvm_set_irq(host, gsi, level);
}

static void hook_end(void *host, vs_vm_exit reason, int code, const char *detail)
{
	vs_vm_end(host, reason, 0, 0, code, "%s", detail);
}

static void hook_console_write(void *host, const void *buf, size_t len)
{
	vs_vm *vm = host;
	if (vm->con_out < 0)
		return;
	pthread_mutex_lock(&vm->con_lock);
	if (len > vm->con_room) {
		len = (size_t)vm->con_room;
		if (!vm->con_capped) {
			vm->con_capped = true;
			vs_warn("guest console output beyond its file's cap dropped");
		}
	}
	if (vm->con_room != UINT64_MAX)
		vm->con_room -= len;
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(vm->con_out, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		len -= (size_t)w;
	}
	pthread_mutex_unlock(&vm->con_lock);
}

int vs_vm_add_io(vs_vm *vm, int fd, int (*fn)(void *arg, int fd), void *arg, vs_err *err)
{
	if (vm->nio == VS_IO_MAX)
		return vs_fail(err, 0, "too many I/O handlers");
	vs_io_handler *h = &vm->io[vm->nio++];
	*h = (vs_io_handler){ fd, fn, arg };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = h };
	if (epoll_ctl(vm->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return vs_fail_errno(err, "watching fd %d", fd);
	return 0;
}

static int hook_add_io(void *host, int fd, int (*fn)(void *arg, int fd), void *arg, vs_err *err)
{
	return vs_vm_add_io(host, fd, fn, arg, err);
}

static int hook_add_console_sink(void *host, const vs_console_sink *sink, vs_err *err)
{
	vs_vm *vm = host;
	if (vm->ncon_sinks == VS_CONSOLE_SINKS_MAX)
		return vs_fail(err, 0, "too many console input sinks");
	vm->con_sinks[vm->ncon_sinks++] = *sink;
	return 0;
}

int vs_vm_console_input(void *arg, int fd)
{
	vs_vm *vm = arg;
	uint8_t buf[256];
	size_t room = sizeof(buf);
	for (int i = 0; i < vm->ncon_sinks; i++) {
		if (!vm->con_sinks[i].room)
			continue;
		size_t r = vm->con_sinks[i].room(vm->con_sinks[i].arg);
		if (r < room)
			room = r;
	}
	if (!room) {
		/* The guest is not reading; let it catch up. */
		usleep(10000);
		return 0;
	}
	ssize_t n = read(fd, buf, room);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1; /* EOF: stop watching */
	for (int i = 0; i < vm->ncon_sinks; i++)
		vm->con_sinks[i].input(vm->con_sinks[i].arg, buf, (size_t)n);
	return 0;
}

int vs_vm_attach_devices(vs_vm *vm, vs_err *err)
{
	vm->dev = (vs_dev_ctx){
		.mem = &vm->mem,
		.pio = &vm->pio,
		.mmio = &vm->mmio,
		.vm_fd = vm->vm_fd,
		.has_irqfd = vm->has_irqfd,
		.has_ioeventfd = vm->has_ioeventfd,
		.host = vm,
		.set_irq = hook_set_irq,
		.end = hook_end,
		.console_write = hook_console_write,
		.add_io = hook_add_io,
		.add_console_sink = hook_add_console_sink,
	};
	for (const vs_device *const *d = vs_devices; *d; d++) {
		if ((*d)->wanted && !(*d)->wanted(&vm->cfg))
			continue;
		if (vm->ndevices == VS_DEVICES_MAX)
			return vs_fail(err, 0, "too many devices");
		vs_device_inst *inst = &vm->devices[vm->ndevices++];
		inst->dev = *d;
		if ((*d)->create(&vm->dev, &vm->cfg, &inst->state, err) < 0)
			return -1;
	}
	return 0;
}

void vs_vm_destroy_devices(vs_vm *vm)
{
	for (int i = vm->ndevices - 1; i >= 0; i--)
		if (vm->devices[i].state && vm->devices[i].dev->destroy)
			vm->devices[i].dev->destroy(vm->devices[i].state);
	vm->ndevices = 0;
}
