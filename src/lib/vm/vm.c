/* VM lifecycle: create (KVM, memory, devices, kernel, vCPUs), run (vCPU
 * threads plus one I/O thread), end (first reason wins), destroy. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "vm/x86/x86.h"

void vs_vm_config_init(vs_vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = 1;
	cfg->memory_mib = 128;
	cfg->console = VS_VM_CONSOLE_STDIO;
	cfg->console_in_fd = -1;
	cfg->console_out_fd = -1;
	cfg->kvm_fd = cfg->kernel_fd = cfg->initrd_fd = cfg->vsock_listen_fd = cfg->fs_conn_fd =
		cfg->vsock_inject_fd = cfg->disk_fd = -1;
}

const char *vs_vm_exit_name(vs_vm_exit reason)
{
	switch (reason) {
	case VS_VM_EXIT_POWEROFF:
		return "power-off";
	case VS_VM_EXIT_RESET:
		return "reset";
	case VS_VM_EXIT_CRASH:
		return "crash";
	case VS_VM_EXIT_INTERNAL:
		return "KVM internal error";
	case VS_VM_EXIT_GUEST_CODE:
		return "guest exit code";
	case VS_VM_EXIT_STOPPED:
		return "stopped";
	case VS_VM_EXIT_DEVICE:
		return "device backend failed";
	}
	return "?";
}

int vs_vm_exit_status(const vs_vm_result *res)
{
	switch (res->reason) {
	case VS_VM_EXIT_POWEROFF:
		return VS_VM_STATUS_POWEROFF;
	case VS_VM_EXIT_RESET:
		return VS_VM_STATUS_RESET;
	case VS_VM_EXIT_CRASH:
		return VS_VM_STATUS_CRASH;
	case VS_VM_EXIT_INTERNAL:
		return VS_VM_STATUS_INTERNAL;
	case VS_VM_EXIT_GUEST_CODE:
		return res->guest_code;
	case VS_VM_EXIT_STOPPED:
		return VS_VM_STATUS_STOPPED;
	case VS_VM_EXIT_DEVICE:
		return VS_VM_STATUS_DEVICE;
	}
	return 1;
}

static int open_console(vs_vm *vm, vs_err *err)
{
	vm->con_in = vm->con_out = -1;
	switch (vm->cfg.console) {
	case VS_VM_CONSOLE_STDIO:
		vm->con_in = STDIN_FILENO;
		vm->con_out = STDOUT_FILENO;
		break;
	case VS_VM_CONSOLE_NONE:
		break;
	case VS_VM_CONSOLE_FILE:
		vm->con_out = open(vm->cfg.console_path,
				   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
		if (vm->con_out < 0)
			return vs_fail_errno(err, "opening console file %s", vm->cfg.console_path);
		vm->own_con_out = true;
		break;
	case VS_VM_CONSOLE_FDS:
		vm->con_in = vm->cfg.console_in_fd;
		vm->con_out = vm->cfg.console_out_fd;
		break;
	}
	struct stat st;
	vm->con_room = UINT64_MAX;
	if (vm->con_out >= 0 && fstat(vm->con_out, &st) == 0 && S_ISREG(st.st_mode)) {
		uint64_t max = vm->cfg.console_max ? vm->cfg.console_max : VS_VM_CONSOLE_FILE_MAX;
		vm->con_room = (uint64_t)st.st_size < max ? max - (uint64_t)st.st_size : 0;
	}
	return 0;
}

static void warn_emulated(void)
{
	static bool warned;
	if (warned)
		return;
	warned = true;
	vs_warn("KVM on this host emulates every guest instruction (no VT-x/AMD-V): guests run "
		"very slowly and some instructions fail (xsave, cmpxchg16b, int3); vessel masks "
		"those CPU features in CPUID where KVM honours it");
}

int vs_vm_create(const vs_vm_config *cfg, vs_vm **out, vs_err *err)
{
	*out = NULL;
	if (!cfg->kernel && cfg->kernel_fd < 0)
		return vs_fail(err, 0, "no kernel given");
	if (cfg->cpus < 1 || cfg->cpus > VS_VM_MAX_CPUS)
		return vs_fail(err, 0, "--cpus must be 1 to %d", VS_VM_MAX_CPUS);
	if (cfg->memory_mib < 2 || cfg->memory_mib > (1ULL << 22))
		return vs_fail(err, 0, "--memory must be 2 MiB to 4 TiB");
	vs_vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return vs_fail(err, ENOMEM, "allocating VM");
	vm->cfg = *cfg;
	vm->kvm_fd = vm->vm_fd = vm->epfd = vm->stop_efd = vm->con_in = vm->con_out = -1;
	vm->ncpus = cfg->cpus;
	vm->pio.name = "port I/O";
	vm->mmio.name = "MMIO";
	pthread_mutex_init(&vm->lock, NULL);
	pthread_mutex_init(&vm->con_lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	vm->cmdline = strdup(cfg->cmdline ? cfg->cmdline : VS_VM_DEFAULT_CMDLINE);
	vm->vcpus = calloc(vm->ncpus, sizeof(*vm->vcpus));
	if (!vm->cmdline || !vm->vcpus) {
		vs_vm_destroy(vm);
		return vs_fail(err, ENOMEM, "allocating VM");
	}
	for (unsigned i = 0; i < vm->ncpus; i++)
		vm->vcpus[i].fd = -1;
	vm->epfd = epoll_create1(EPOLL_CLOEXEC);
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->epfd < 0 || vm->stop_efd < 0) {
		vs_fail_errno(err, "creating the I/O thread's fds");
		goto fail;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(vm->epfd, EPOLL_CTL_ADD, vm->stop_efd, &ev);

	if (vs_kvm_open(vm, err) < 0)
		goto fail;
	if (vm->emulated)
		warn_emulated();
	if (vs_mem_alloc(&vm->mem, cfg->memory_mib << 20, err) < 0 ||
	    vs_kvm_map_memory(vm, err) < 0 || vs_kvm_create_irqchip(vm, err) < 0 ||
	    vs_x86_cpuid_init(vm, err) < 0)
		goto fail;
	if (open_console(vm, err) < 0 || vs_vm_attach_devices(vm, err) < 0)
		goto fail;
	if (vs_x86_load(vm, err) < 0)
		goto fail;
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (vs_vcpu_create(vm, i, err) < 0)
			goto fail;
	if (vm->con_in >= 0) {
		if (vs_vm_add_io(vm, vm->con_in, vs_vm_console_input, vm, err) < 0) {
			/* Regular files cannot be polled: no console input then. */
			if (errno != EPERM)
				goto fail;
			vm->nio--;
			vs_err_clear(err);
		}
	}
	*out = vm;
	return 0;
fail:
	vs_vm_destroy(vm);
	return -1;
}

static void *io_thread(void *arg)
{
	vs_vm *vm = arg;
	pthread_setname_np(pthread_self(), "vm-io");
	while (!__atomic_load_n(&vm->ended, __ATOMIC_ACQUIRE)) {
		struct epoll_event evs[8];
		int n = epoll_wait(vm->epfd, evs, 8, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			vs_io_handler *h = evs[i].data.ptr;
			if (!h) {
				uint64_t v;
				if (read(vm->stop_efd, &v, sizeof(v)) == sizeof(v))
					vs_vm_end(vm, VS_VM_EXIT_STOPPED, 0, 0, 0,
						  "stopped by the host");
				continue;
			}
			if (h->fn(h->arg, h->fd) < 0)
				epoll_ctl(vm->epfd, EPOLL_CTL_DEL, h->fd, NULL);
		}
	}
	return NULL;
}

int vs_vm_run(vs_vm *vm, vs_vm_result *res, vs_err *err)
{
	memset(res, 0, sizeof(*res));
	int rc = pthread_create(&vm->io_thread, NULL, io_thread, vm);
	if (rc)
		return vs_fail(err, rc, "starting the I/O thread");
	vm->io_started = true;
	bool failed = false;
	for (unsigned i = 0; i < vm->ncpus && !failed; i++) {
		/* `started` is read by kicks from other threads: set it under the lock. */
		pthread_mutex_lock(&vm->lock);
		failed = vs_vcpu_start(&vm->vcpus[i], err) < 0;
		pthread_mutex_unlock(&vm->lock);
		if (failed)
			vs_vm_end(vm, VS_VM_EXIT_STOPPED, 0, 0, 0, "start failed");
	}
	pthread_mutex_lock(&vm->lock);
	while (!vm->ended)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		pthread_mutex_lock(&vm->lock);
		bool started = vm->vcpus[i].started;
		vs_vcpu_kick(&vm->vcpus[i]);
		pthread_mutex_unlock(&vm->lock);
		if (!started)
			continue;
		pthread_join(vm->vcpus[i].thread, NULL);
		pthread_mutex_lock(&vm->lock);
		vm->vcpus[i].started = false;
		pthread_mutex_unlock(&vm->lock);
	}
	uint64_t one = 1;
	if (write(vm->stop_efd, &one, sizeof(one)) < 0)
		vs_debug("waking the I/O thread: %s", strerror(errno));
	pthread_join(vm->io_thread, NULL);
	vm->io_started = false;
	*res = vm->result;
	return failed ? -1 : 0;
}

void vs_vm_stop(vs_vm *vm)
{
	/* Only write(2): safe from a signal handler. */
	uint64_t one = 1;
	if (write(vm->stop_efd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow from this */
	}
}

void vs_vm_destroy(vs_vm *vm)
{
	if (!vm)
		return;
	vs_vm_destroy_devices(vm);
	for (unsigned i = 0; vm->vcpus && i < vm->ncpus; i++) {
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, (size_t)vm->run_size);
		if (vm->vcpus[i].fd >= 0)
			close(vm->vcpus[i].fd);
	}
	free(vm->vcpus);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vs_mem_free(&vm->mem);
	free(vm->cpuid);
	if (vm->own_con_out)
		close(vm->con_out);
	if (vm->epfd >= 0)
		close(vm->epfd);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	pthread_mutex_destroy(&vm->lock);
	pthread_mutex_destroy(&vm->con_lock);
	pthread_cond_destroy(&vm->cond);
	free(vm->cmdline);
	free(vm);
}
