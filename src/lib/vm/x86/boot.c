/* Loading the guest: kernel (bzImage or PVH ELF), initrd, command line, and
 * the tables the guest reads (GDT, page tables, MP, ACPI); then the vCPUs'
 * initial state. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/cleanup.h"
#include "core/fs.h"
#include "vm/x86/x86.h"

/* A whole file from an fd opened for us (vs_vm_config.kernel_fd), from
 * offset 0 whatever its position; NUL-terminated as vs_read_file's. */
static int read_fd(int fd, char **out, size_t *len, vs_err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return vs_fail_errno(err, "fstat fd %d", fd);
	if (!S_ISREG(st.st_mode))
		return vs_fail(err, EINVAL, "fd %d is not a regular file", fd);
	size_t n = (size_t)st.st_size;
	char *buf = malloc(n + 1);
	if (!buf)
		return vs_fail(err, ENOMEM, "out of memory");
	size_t off = 0;
	while (off < n) {
		ssize_t r = pread(fd, buf + off, n - off, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			return r < 0 ? vs_fail_errno(err, "read fd %d", fd)
				     : vs_fail(err, EIO, "fd %d: short read", fd);
		}
		off += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static int load_file(const char *path, int fd, char **out, size_t *len, vs_err *err)
{
	return fd >= 0 ? read_fd(fd, out, len, err) : vs_read_file(path, out, len, err);
}

int vs_x86_load(vs_vm *vm, vs_err *err)
{
	vs_autofree char *kernel = NULL, *initrd = NULL;
	size_t klen = 0, ilen = 0;
	const char *kname = vm->cfg.kernel ? vm->cfg.kernel : "the kernel";
	if (load_file(vm->cfg.kernel, vm->cfg.kernel_fd, &kernel, &klen, err) < 0)
		return vs_err_wrap(err, "reading kernel");
	if ((vm->cfg.initrd || vm->cfg.initrd_fd >= 0) &&
	    load_file(vm->cfg.initrd, vm->cfg.initrd_fd, &initrd, &ilen, err) < 0)
		return vs_err_wrap(err, "reading initrd");

	vs_x86_write_gdt(&vm->mem);
	vs_x86_write_pagetables(&vm->mem);
	uint64_t rsdp = 0;
	if (vs_x86_write_mptable(vm, err) < 0 || vs_x86_write_acpi(vm, &rsdp, err) < 0)
		return -1;

	size_t clen = strlen(vm->cmdline);
	if (clen >= VS_CMDLINE_MAX)
		return vs_fail(err, 0, "command line is %zu bytes, at most %d fit", clen,
			       VS_CMDLINE_MAX - 1);
	vs_mem_write(&vm->mem, VS_CMDLINE_ADDR, vm->cmdline, clen + 1);

	const uint8_t *k = (const uint8_t *)kernel, *i = (const uint8_t *)initrd;
	int rc = vs_x86_load_bzimage(vm, k, klen, i, ilen, rsdp, err);
	if (rc == 1)
		rc = vs_x86_load_pvh(vm, k, klen, i, ilen, rsdp, err);
	if (rc == 1)
		return vs_fail(err, 0, "%s is neither a bzImage nor an ELF with a PVH entry note",
			       kname);
	if (rc < 0)
		return vs_err_wrap(err, "loading %s", kname);
	return 0;
}

static int setup_lapic(vs_vcpu *v, vs_err *err)
{
	/* LINT0 takes the 8259's ExtINT, LINT1 takes NMI, as firmware sets
	 * them up on PCs (the MP table says the same). */
	struct kvm_lapic_state la;
	if (ioctl(v->fd, KVM_GET_LAPIC, &la) < 0)
		return vs_fail_errno(err, "KVM_GET_LAPIC");
	uint32_t *lint0 = (uint32_t *)&la.regs[0x350], *lint1 = (uint32_t *)&la.regs[0x360];
	*lint0 = (*lint0 & ~0x700u) | (7u << 8);
	*lint1 = (*lint1 & ~0x700u) | (4u << 8);
	if (ioctl(v->fd, KVM_SET_LAPIC, &la) < 0)
		return vs_fail_errno(err, "KVM_SET_LAPIC");
	return 0;
}

int vs_x86_setup_vcpu(vs_vm *vm, vs_vcpu *v, vs_err *err)
{
	if (vs_x86_cpuid_apply(vm, v, err) < 0 || setup_lapic(v, err) < 0)
		return -1;
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		return vs_fail_errno(err, "KVM_SET_FPU");
	/* Application processors wait in the in-kernel LAPIC for INIT/SIPI,
	 * exactly as on hardware; only the boot CPU gets an entry state. */
	if (v->id != 0)
		return 0;
	struct kvm_sregs s;
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return vs_fail_errno(err, "KVM_GET_SREGS");
	vs_x86_boot_sregs(&s, vm->boot.mode);
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return vs_fail_errno(err, "KVM_SET_SREGS");
	struct kvm_regs r = { .rflags = 2, .rip = vm->boot.entry };
	if (vm->boot.mode == VS_BOOT_LINUX64)
		r.rsi = VS_ZERO_PAGE_ADDR;
	else
		r.rbx = VS_START_INFO_ADDR;
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return vs_fail_errno(err, "KVM_SET_REGS");
	return 0;
}
