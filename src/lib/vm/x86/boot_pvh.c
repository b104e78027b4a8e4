/* ELF kernels entered through their PVH note (XEN_ELFNOTE_PHYS32_ENTRY):
 * 32-bit protected mode, paging off, ebx pointing at hvm_start_info (see
 * xen/include/public/arch-x86/hvm/start_info.h). */
#include <elf.h>
#include <string.h>

#include "vm/x86/x86.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC		 0x336ec578

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

#define MODLIST_ADDR (VS_START_INFO_ADDR + 0x40)
#define MEMMAP_ADDR  (VS_START_INFO_ADDR + 0x80)

/* One program header, whichever the ELF class. */
typedef struct {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
} phdr;

static int get_phdr(const uint8_t *img, size_t len, bool is64, size_t i, phdr *p)
{
	if (is64) {
		const Elf64_Ehdr *eh = (const void *)img;
		uint64_t at = eh->e_phoff + i * eh->e_phentsize;
		if (eh->e_phentsize < sizeof(Elf64_Phdr) || at > len ||
		    len - at < sizeof(Elf64_Phdr))
			return -1;
		Elf64_Phdr ph;
		memcpy(&ph, img + at, sizeof(ph));
		*p = (phdr){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz, ph.p_memsz };
	} else {
		const Elf32_Ehdr *eh = (const void *)img;
		uint64_t at = eh->e_phoff + i * eh->e_phentsize;
		if (eh->e_phentsize < sizeof(Elf32_Phdr) || at > len ||
		    len - at < sizeof(Elf32_Phdr))
			return -1;
		Elf32_Phdr ph;
		memcpy(&ph, img + at, sizeof(ph));
		*p = (phdr){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz, ph.p_memsz };
	}
	return 0;
}

/* Scan a PT_NOTE segment for Xen's PHYS32_ENTRY; 0 if absent. */
static uint64_t find_entry(const uint8_t *n, uint64_t len)
{
	uint64_t at = 0;
	while (len - at >= 12) {
		uint32_t namesz, descsz, type;
		memcpy(&namesz, n + at, 4);
		memcpy(&descsz, n + at + 4, 4);
		memcpy(&type, n + at + 8, 4);
		uint64_t name = at + 12, desc = name + (((uint64_t)namesz + 3) & ~3ULL);
		uint64_t next = desc + (((uint64_t)descsz + 3) & ~3ULL);
		if (next > len)
			return 0;
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
		    !memcmp(n + name, "Xen", 4)) {
			if (descsz == 4) {
				uint32_t e;
				memcpy(&e, n + desc, 4);
				return e;
			}
			if (descsz == 8) {
				uint64_t e;
				memcpy(&e, n + desc, 8);
				return e;
			}
		}
		at = next;
	}
	return 0;
}

int vs_x86_load_pvh(vs_vm *vm, const uint8_t *img, size_t len, const uint8_t *initrd,
		    size_t initrd_len, uint64_t rsdp, vs_err *err)
{
	if (len < sizeof(Elf64_Ehdr) || memcmp(img, ELFMAG, SELFMAG))
		return 1;
	bool is64 = img[EI_CLASS] == ELFCLASS64;
	if (!is64 && img[EI_CLASS] != ELFCLASS32)
		return vs_fail(err, 0, "unknown ELF class %u", img[EI_CLASS]);
	size_t phnum = is64 ? ((const Elf64_Ehdr *)(const void *)img)->e_phnum
			    : ((const Elf32_Ehdr *)(const void *)img)->e_phnum;
	uint64_t entry = 0, end = 0;
	for (size_t i = 0; i < phnum; i++) {
		phdr p;
		if (get_phdr(img, len, is64, i, &p) < 0)
			return vs_fail(err, 0, "program header %zu is outside the file", i);
		if (p.type != PT_LOAD && p.type != PT_NOTE)
			continue;
		if (p.offset > len || p.filesz > len - p.offset)
			return vs_fail(err, 0, "segment %zu is outside the file", i);
		if (p.type == PT_NOTE) {
			if (!entry)
				entry = find_entry(img + p.offset, p.filesz);
			continue;
		}
		if (p.filesz > p.memsz)
			return vs_fail(err, 0, "segment %zu: file size exceeds memory size", i);
		uint8_t *dst = vs_mem_ptr(&vm->mem, p.paddr, p.memsz);
		if (!dst || p.paddr < VS_KERNEL_ADDR)
			return vs_fail(err, 0,
				       "segment %zu (0x%llx, %llu bytes) does not fit in guest RAM "
				       "above 1 MiB",
				       i, (unsigned long long)p.paddr, (unsigned long long)p.memsz);
		memcpy(dst, img + p.offset, p.filesz);
		memset(dst + p.filesz, 0, p.memsz - p.filesz);
		if (p.paddr + p.memsz > end)
			end = p.paddr + p.memsz;
	}
	if (!entry)
		return vs_fail(err, 0,
			       "ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)");
	vm->boot = (vs_boot){ VS_BOOT_PVH, entry, end };

	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = 1,
		.cmdline_paddr = VS_CMDLINE_ADDR,
		.rsdp_paddr = rsdp,
		.memmap_paddr = MEMMAP_ADDR,
	};
	if (initrd_len) {
		uint64_t at = vs_x86_initrd_addr(vm, initrd_len, VS_MEM_HOLE_START);
		if (!at)
			return vs_fail(err, 0, "no room for a %zu-byte initrd", initrd_len);
		vs_mem_write(&vm->mem, at, initrd, initrd_len);
		struct hvm_modlist_entry mod = { .paddr = at, .size = initrd_len };
		vs_mem_write(&vm->mem, MODLIST_ADDR, &mod, sizeof(mod));
		si.nr_modules = 1;
		si.modlist_paddr = MODLIST_ADDR;
	}
	vs_e820_entry map[VS_E820_MAX];
	int n = vs_x86_e820(&vm->mem, map);
	for (int i = 0; i < n; i++) {
		struct hvm_memmap_entry e = { map[i].addr, map[i].size, map[i].type, 0 };
		vs_mem_write(&vm->mem, MEMMAP_ADDR + (uint64_t)i * sizeof(e), &e, sizeof(e));
	}
	si.memmap_entries = (uint32_t)n;
	vs_mem_write(&vm->mem, VS_START_INFO_ADDR, &si, sizeof(si));
	return 0;
}
