/* /dev/kvm: API version, required extensions, the VM fd with its in-kernel
 * interrupt controllers and PIT, and guest memory slots. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "vm/internal.h"

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_HLT, "KVM_CAP_HLT" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
};

bool vs_kvm_is_emulated(void)
{
	/* KVM on a CPU without VT-x/AMD-V (or with it hidden from this kernel)
	 * can only be an emulator; /proc/cpuinfo says which. */
	static int cached = -1;
	if (cached >= 0)
		return cached;
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return false;
	char line[4096];
	bool hw = false;
	while (!hw && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (char *t = strtok(line, " \t\n"); t; t = strtok(NULL, " \t\n"))
			if (!strcmp(t, "vmx") || !strcmp(t, "svm"))
				hw = true;
		break;
	}
	fclose(f);
	cached = !hw;
	return cached;
}

int vs_kvm_open(vs_vm *vm, vs_err *err)
{
	vs_autoclose int kvm = vm->cfg.kvm_fd >= 0 ? fcntl(vm->cfg.kvm_fd, F_DUPFD_CLOEXEC, 0)
						   : open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return vs_fail_errno(err, "opening /dev/kvm");
	int ver = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION)
		return vs_fail(err, 0, "/dev/kvm speaks API version %d, vessel needs %d", ver,
			       KVM_API_VERSION);
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++)
		if (ioctl(kvm, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0)
			return vs_fail(err, 0, "KVM lacks %s, which vessel needs",
				       required_caps[i].name);
	vm->has_ioeventfd = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) > 0;
	vm->has_irqfd = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) > 0;
	int max = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max > 0 && vm->cfg.cpus > (unsigned)max)
		return vs_fail(err, 0, "%u vCPUs requested, KVM allows %d", vm->cfg.cpus, max);
	vm->run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0)
		return vs_fail_errno(err, "KVM_GET_VCPU_MMAP_SIZE");

	vs_autoclose int fd = ioctl(kvm, KVM_CREATE_VM, 0);
	if (fd < 0)
		return vs_fail_errno(err, "KVM_CREATE_VM");
	/* Intel needs three pages for the real-mode TSS and one for the EPT
	 * identity map; both sit just below the BIOS area, in the hole. */
	if (ioctl(fd, KVM_SET_TSS_ADDR, (unsigned long)VS_TSS_ADDR) < 0)
		return vs_fail_errno(err, "KVM_SET_TSS_ADDR");
	uint64_t idmap = VS_IDMAP_ADDR;
	if (ioctl(fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return vs_fail_errno(err, "KVM_SET_IDENTITY_MAP_ADDR");
	vm->kvm_fd = vs_steal_fd(&kvm);
	vm->vm_fd = vs_steal_fd(&fd);
	vm->emulated = vs_kvm_is_emulated();
	return 0;
}

int vs_kvm_map_memory(vs_vm *vm, vs_err *err)
{
	for (int i = 0; i < vm->mem.n; i++) {
		struct kvm_userspace_memory_region r = {
			.slot = (uint32_t)i,
			.guest_phys_addr = vm->mem.r[i].gpa,
			.memory_size = vm->mem.r[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)vm->mem.r[i].hva,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return vs_fail_errno(err, "KVM_SET_USER_MEMORY_REGION slot %d", i);
	}
	return 0;
}

int vs_kvm_create_irqchip(vs_vm *vm, vs_err *err)
{
	/* After the memory slots: with an irqchip present, the first slot
	 * update waits for an SRCU grace period (~5 ms of start-up). */
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return vs_fail_errno(err, "KVM_CREATE_IRQCHIP");
	struct kvm_pit_config pit = { .flags = 0 };
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return vs_fail_errno(err, "KVM_CREATE_PIT2");
	return 0;
}

int vs_kvm_set_irq(vs_vm *vm, unsigned gsi, int level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = (uint32_t)level };
	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
}
