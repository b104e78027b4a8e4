/* Linux bzImage through the 64-bit boot protocol (Documentation/arch/x86/
 * boot.rst): setup header copied into the zero page, protected-mode kernel
 * at 1 MiB, entered at its 64-bit entry (code32_start + 0x200) with rsi
 * pointing at the zero page. */
#include <string.h>

#include "vm/x86/x86.h"

#define HDR_SETUP_SECTS	  0x1f1
#define HDR_BOOT_FLAG	  0x1fe
#define HDR_JUMP	  0x200
#define HDR_MAGIC	  0x202
#define HDR_VERSION	  0x206
#define HDR_LOADER_TYPE	  0x210
#define HDR_LOADFLAGS	  0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE  0x21c
#define HDR_HEAP_END	  0x224
#define HDR_CMD_LINE_PTR  0x228
#define HDR_INITRD_MAX	  0x22c
#define HDR_XLOADFLAGS	  0x236
#define HDR_CMDLINE_SIZE  0x238
#define HDR_PREF_ADDRESS  0x258
#define HDR_INIT_SIZE	  0x260
#define HDR_END_MAX	  0x290
#define BP_ACPI_RSDP	  0x070
#define BP_E820_ENTRIES	  0x1e8
#define BP_E820_TABLE	  0x2d0

#define LOADFLAG_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64	      0x1

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

int vs_x86_load_bzimage(vs_vm *vm, const uint8_t *img, size_t len, const uint8_t *initrd,
			size_t initrd_len, uint64_t rsdp, vs_err *err)
{
	if (len < 0x300 || memcmp(img + HDR_MAGIC, "HdrS", 4) ||
	    rd16(img + HDR_BOOT_FLAG) != 0xaa55)
		return 1;
	uint16_t version = rd16(img + HDR_VERSION);
	if (version < 0x20c)
		return vs_fail(err, 0, "boot protocol %u.%02u is too old (64-bit entry needs 2.12)",
			       version >> 8, version & 0xff);
	if (!(rd16(img + HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return vs_fail(err, 0, "kernel has no 64-bit entry point (XLF_KERNEL_64)");
	size_t setup_sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	size_t off = (setup_sects + 1) * 512;
	if (off >= len)
		return vs_fail(err, 0, "setup (%zu sectors) is longer than the image", setup_sects);
	size_t payload = len - off;
	uint64_t init_size = rd32(img + HDR_INIT_SIZE);
	uint64_t pref = 0;
	memcpy(&pref, img + HDR_PREF_ADDRESS, 8);
	if (pref < VS_KERNEL_ADDR)
		pref = VS_KERNEL_ADDR;
	/* The decompressor runs in place and then writes the kernel at its
	 * preferred address: both must fit in RAM below the hole. */
	uint64_t end = VS_KERNEL_ADDR + payload;
	if (pref + init_size > end)
		end = pref + init_size;
	if (end > vm->mem.lowmem_end)
		return vs_fail(err, 0, "kernel needs %llu MiB of RAM, the VM has %llu",
			       (unsigned long long)((end + (1 << 20) - 1) >> 20),
			       (unsigned long long)(vm->mem.ram_size >> 20));
	vs_mem_write(&vm->mem, VS_KERNEL_ADDR, img + off, payload);
	vm->boot = (vs_boot){ VS_BOOT_LINUX64, VS_KERNEL_ADDR + 0x200, end };

	uint8_t *zp = vs_mem_ptr(&vm->mem, VS_ZERO_PAGE_ADDR, 4096);
	memset(zp, 0, 4096);
	size_t hdr_end = 0x202 + img[HDR_JUMP + 1];
	if (hdr_end > HDR_END_MAX)
		hdr_end = HDR_END_MAX;
	memcpy(zp + HDR_SETUP_SECTS, img + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);
	zp[HDR_LOADER_TYPE] = 0xff; /* undefined boot loader */
	zp[HDR_LOADFLAGS] |= LOADFLAG_CAN_USE_HEAP;
	zp[HDR_HEAP_END] = 0x00;
	zp[HDR_HEAP_END + 1] = 0xfe;
	wr32(zp + HDR_CMD_LINE_PTR, VS_CMDLINE_ADDR);
	uint32_t cmax = version >= 0x206 ? rd32(img + HDR_CMDLINE_SIZE) : 255;
	if (strlen(vm->cmdline) > cmax)
		return vs_fail(err, 0, "command line longer than the kernel's %u bytes", cmax);
	if (version >= 0x20e)
		memcpy(zp + BP_ACPI_RSDP, &rsdp, 8);

	if (initrd_len) {
		uint64_t max = rd32(img + HDR_INITRD_MAX);
		if (!max)
			max = 0x37ffffff;
		uint64_t at = vs_x86_initrd_addr(vm, initrd_len, max + 1);
		if (!at)
			return vs_fail(err, 0, "no room for a %zu-byte initrd below 0x%llx",
				       initrd_len, (unsigned long long)max);
		vs_mem_write(&vm->mem, at, initrd, initrd_len);
		wr32(zp + HDR_RAMDISK_IMAGE, (uint32_t)at);
		wr32(zp + HDR_RAMDISK_SIZE, (uint32_t)initrd_len);
	}

	vs_e820_entry map[VS_E820_MAX];
	int n = vs_x86_e820(&vm->mem, map);
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		uint8_t *e = zp + BP_E820_TABLE + 20 * i;
		memcpy(e, &map[i].addr, 8);
		memcpy(e + 8, &map[i].size, 8);
		memcpy(e + 16, &map[i].type, 4);
	}
	return 0;
}
