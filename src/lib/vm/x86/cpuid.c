/* CPUID: what KVM supports, filtered to what this VMM and host provide, with
 * per-vCPU APIC ids. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/log.h"
#include "vm/x86/x86.h"

#define ECX_CX16    (1u << 13)
#define ECX_X2APIC  (1u << 21)
#define ECX_XSAVE   (1u << 26)
#define ECX_OSXSAVE (1u << 27)
#define ECX_AVX	    (1u << 28)
#define ECX_F16C    (1u << 29)
#define ECX_HYPERV  (1u << 31)
#define EDX_HTT	    (1u << 28)

int vs_x86_cpuid_init(vs_vm *vm, vs_err *err)
{
	for (int n = 128; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (size_t)n * sizeof(c->entries[0]));
		if (!c)
			return vs_fail(err, ENOMEM, "CPUID table");
		c->nent = (uint32_t)n;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			vm->cpuid = c;
			return 0;
		}
		int e = errno;
		free(c);
		if (e != E2BIG)
			return vs_fail(err, e, "KVM_GET_SUPPORTED_CPUID");
	}
	return vs_fail(err, E2BIG, "KVM_GET_SUPPORTED_CPUID");
}

static unsigned bits_for(unsigned n)
{
	unsigned b = 0;
	while ((1u << b) < n)
		b++;
	return b;
}

int vs_x86_cpuid_apply(vs_vm *vm, vs_vcpu *v, vs_err *err)
{
	const struct kvm_cpuid2 *src = vm->cpuid;
	size_t sz = sizeof(*src) + src->nent * sizeof(src->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	if (!c)
		return vs_fail(err, ENOMEM, "CPUID table");
	c->nent = 0;
	c->padding = 0;
	for (uint32_t i = 0; i < src->nent; i++) {
		struct kvm_cpuid_entry2 e = src->entries[i];
		switch (e.function) {
		case 1:
			e.ebx = (v->id << 24) | (vm->ncpus << 16) | (e.ebx & 0xffff);
			e.ecx |= ECX_HYPERV;
			if (vm->ncpus > 1)
				e.edx |= EDX_HTT;
			/* An emulating KVM fails on cmpxchg16b and xsave/xrstor
			 * (and so on everything that needs XSAVE state). */
			if (vm->emulated)
				e.ecx &= ~(ECX_CX16 | ECX_XSAVE | ECX_OSXSAVE | ECX_AVX | ECX_F16C);
			break;
		case 0xb:
		case 0x1f:
			/* Topology: one thread per core, ncpus cores. */
			if (e.index == 0) {
				e.eax = 0;
				e.ebx = 1;
				e.ecx = 1u << 8;
			} else if (e.index == 1) {
				e.eax = bits_for(vm->ncpus);
				e.ebx = vm->ncpus;
				e.ecx = (2u << 8) | 1;
			} else {
				e.eax = e.ebx = 0;
				e.ecx = e.index;
			}
			e.edx = v->id;
			break;
		case 0xd:
			if (vm->emulated)
				continue;
			break;
		case 7:
			if (vm->emulated && e.index == 0) {
				/* AVX2 and AVX-512 need XSAVE state. */
				e.ebx &= ~((1u << 5) | (1u << 16) | (1u << 17) | (1u << 21) |
					   (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) |
					   (1u << 31));
				e.ecx &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) |
					   (1u << 14));
			}
			break;
		}
		c->entries[c->nent++] = e;
	}
	int rc = ioctl(v->fd, KVM_SET_CPUID2, c);
	int e = errno;
	free(c);
	if (rc < 0)
		return vs_fail(err, e, "KVM_SET_CPUID2 on vCPU %u", v->id);
	return 0;
}
