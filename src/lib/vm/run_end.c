/* Ending a run: the first reason recorded wins, and every vCPU is kicked
 * out of KVM_RUN so its thread sees `ended` and returns. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>

#include "vm/internal.h"

void vs_vm_end(vs_vm *vm, vs_vm_exit reason, unsigned vcpu, uint64_t rip, int code, const char *fmt,
	       ...)
{
	pthread_mutex_lock(&vm->lock);
	bool first = !vm->ended;
	if (first) {
		vm->result.reason = reason;
		vm->result.vcpu = vcpu;
		vm->result.rip = rip;
		vm->result.guest_code = code;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(vm->result.detail, sizeof(vm->result.detail), fmt, ap);
		va_end(ap);
		__atomic_store_n(&vm->ended, true, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&vm->cond);
		/* Under the lock: vs_vm_run clears `started` (under it too) only
		 * after joining, so we never signal a joined thread. */
		for (unsigned i = 0; i < vm->ncpus; i++)
			vs_vcpu_kick(&vm->vcpus[i]);
	}
	pthread_mutex_unlock(&vm->lock);
}

void vs_vcpu_kick(vs_vcpu *v)
{
	if (!v->started)
		return;
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill(v->thread, VS_SIG_KICK);
}
