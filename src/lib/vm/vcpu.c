/* vCPUs: one thread each, running KVM_RUN and dispatching exits to the
 * buses. A vCPU is stopped by a signal that interrupts KVM_RUN plus
 * immediate_exit, which closes the race with a thread about to enter it. */
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "core/log.h"
#include "vm/x86/x86.h"

static void kick_handler(int sig)
{
	(void)sig;
}

int vs_vcpu_create(vs_vm *vm, unsigned id, vs_err *err)
{
	vs_vcpu *v = &vm->vcpus[id];
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0)
		return vs_fail_errno(err, "KVM_CREATE_VCPU %u", id);
	void *run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (run == MAP_FAILED)
		return vs_fail_errno(err, "mapping vCPU %u's kvm_run", id);
	v->run = run;
	return vs_x86_setup_vcpu(vm, v, err);
}

static uint64_t vcpu_rip(vs_vcpu *v)
{
	struct kvm_regs r;
	return ioctl(v->fd, KVM_GET_REGS, &r) < 0 ? 0 : r.rip;
}

static void internal_error(vs_vcpu *v)
{
	struct kvm_run *run = v->run;
	uint64_t rip = vcpu_rip(v);
	char extra[160] = "";
	size_t n = 0;
	for (uint32_t i = 0; i < run->internal.ndata && i < 4 && n < sizeof(extra); i++)
		n += (size_t)snprintf(extra + n, sizeof(extra) - n, " 0x%llx",
				      (unsigned long long)run->internal.data[i]);
	const char *what = run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
				   ? "could not emulate an instruction"
				   : "reported an internal error";
	vs_vm_end(v->vm, VS_VM_EXIT_INTERNAL, v->id, rip, 0,
		  "KVM %s (suberror %u) on vCPU %u at guest rip 0x%llx%s%s", what,
		  run->internal.suberror, v->id, (unsigned long long)rip, n ? ", data" : "", extra);
}

/* Returns false when the vCPU must stop. */
static bool handle_exit(vs_vcpu *v)
{
	vs_vm *vm = v->vm;
	struct kvm_run *run = v->run;
	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		uint8_t *data = (uint8_t *)run + run->io.data_offset;
		bool out = run->io.direction == KVM_EXIT_IO_OUT;
		for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
			vs_bus_access(&vm->pio, run->io.port, data, run->io.size, out);
		return true;
	}
	case KVM_EXIT_MMIO:
		if (run->mmio.len <= 8)
			vs_bus_access(&vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
				      run->mmio.is_write);
		return true;
	case KVM_EXIT_SHUTDOWN:
		vs_vm_end(vm, VS_VM_EXIT_CRASH, v->id, vcpu_rip(v), 0,
			  "guest shut down (triple fault) on vCPU %u", v->id);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vs_vm_end(vm, VS_VM_EXIT_CRASH, v->id, vcpu_rip(v), 0,
			  "vCPU %u failed to enter the guest (hardware reason 0x%llx)", v->id,
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		internal_error(v);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
			vs_vm_end(vm, VS_VM_EXIT_POWEROFF, v->id, 0, 0, "system event: shutdown");
		else if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
			vs_vm_end(vm, VS_VM_EXIT_RESET, v->id, 0, 0, "system event: reset");
		else
			vs_vm_end(vm, VS_VM_EXIT_CRASH, v->id, vcpu_rip(v), 0, "system event %u",
				  run->system_event.type);
		return false;
	case KVM_EXIT_HLT:
		/* Only reachable without an in-kernel LAPIC; treat as a hang. */
		vs_vm_end(vm, VS_VM_EXIT_CRASH, v->id, vcpu_rip(v), 0, "vCPU %u halted", v->id);
		return false;
	case KVM_EXIT_INTR:
		return true;
	default:
		vs_vm_end(vm, VS_VM_EXIT_INTERNAL, v->id, vcpu_rip(v), 0,
			  "unexpected KVM exit reason %u on vCPU %u", run->exit_reason, v->id);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	vs_vcpu *v = arg;
	vs_vm *vm = v->vm;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, VS_SIG_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	char name[16];
	snprintf(name, sizeof(name), "vcpu%u", v->id);
	pthread_setname_np(pthread_self(), name);
	while (!__atomic_load_n(&vm->ended, __ATOMIC_ACQUIRE)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_RELAXED);
				continue;
			}
			vs_vm_end(vm, VS_VM_EXIT_INTERNAL, v->id, vcpu_rip(v), 0,
				  "KVM_RUN on vCPU %u failed: %s", v->id, strerror(errno));
			break;
		}
		if (!handle_exit(v))
			break;
	}
	return NULL;
}

int vs_vcpu_start(vs_vcpu *v, vs_err *err)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler; /* no SA_RESTART: KVM_RUN must see EINTR */
	sigaction(VS_SIG_KICK, &sa, NULL);
	/* The thread inherits our mask with the kick blocked, so a kick sent
	 * before it unblocks it stays pending instead of killing the process. */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, VS_SIG_KICK);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	int rc = pthread_create(&v->thread, &attr, vcpu_thread, v);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return vs_fail(err, rc, "starting vCPU %u", v->id);
	v->started = true;
	return 0;
}
