/* ACPI tables: RSDP -> XSDT -> FADT (power-off and reset ports, FACS, DSDT)
 * and MADT (CPUs, I/O APIC). The DSDT declares the virtio-mmio devices
 * (LNRO0005), because stock kernels only find them there or on a command
 * line that Debian's kernels do not parse; and \_S5 for power-off. */
#include <string.h>

#include "vm/x86/x86.h"

typedef struct aml {
	uint8_t d[4096];
	size_t n;
	bool overflow;
} aml;

static void put(aml *a, const void *p, size_t len)
{
	if (a->n + len > sizeof(a->d)) {
		a->overflow = true;
		return;
	}
	memcpy(a->d + a->n, p, len);
	a->n += len;
}

static void put8(aml *a, uint8_t v)
{
	put(a, &v, 1);
}

static void put_int(aml *a, uint32_t v)
{
	if (v == 0) {
		put8(a, 0x00); /* ZeroOp */
	} else if (v == 1) {
		put8(a, 0x01); /* OneOp */
	} else if (v <= 0xff) {
		put8(a, 0x0a);
		put8(a, (uint8_t)v);
	} else if (v <= 0xffff) {
		put8(a, 0x0b);
		put(a, &v, 2);
	} else {
		put8(a, 0x0c);
		put(a, &v, 4);
	}
}

/* PkgLength counts its own bytes (ACPI 6, 20.2.4). */
static void put_pkglen(aml *a, size_t content)
{
	size_t total = content + 1;
	if (total <= 0x3f) {
		put8(a, (uint8_t)total);
		return;
	}
	int extra = content + 2 <= 0xfff ? 1 : content + 3 <= 0xfffff ? 2 : 3;
	total = content + 1 + (size_t)extra;
	put8(a, (uint8_t)((extra << 6) | (total & 0xf)));
	for (int i = 0; i < extra; i++)
		put8(a, (uint8_t)(total >> (4 + 8 * i)));
}

/* op [PkgLength] body */
static void put_pkg(aml *a, const uint8_t *op, size_t oplen, const aml *body)
{
	put(a, op, oplen);
	put_pkglen(a, body->n);
	put(a, body->d, body->n);
	if (body->overflow)
		a->overflow = true;
}

static void put_name_str(aml *a, const char *seg, const char *str)
{
	put8(a, 0x08); /* NameOp */
	put(a, seg, 4);
	put8(a, 0x0d); /* StringPrefix */
	put(a, str, strlen(str) + 1);
}

static void put_name_int(aml *a, const char *seg, uint32_t v)
{
	put8(a, 0x08);
	put(a, seg, 4);
	put_int(a, v);
}

static void virtio_device(aml *a, int i, uint64_t base, unsigned gsi)
{
	aml dev = { 0 }, crs = { 0 }, buf = { 0 };
	char name[5] = { 'V', 'R', (char)('0' + i / 10), (char)('0' + i % 10), 0 };
	/* Memory32Fixed(ReadWrite, base, size) */
	uint8_t mem[12] = { 0x86, 9, 0, 1 };
	uint32_t b32 = (uint32_t)base, len = VS_VIRTIO_MMIO_SIZE;
	memcpy(mem + 4, &b32, 4);
	memcpy(mem + 8, &len, 4);
	put(&buf, mem, sizeof(mem));
	/* Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) {gsi} */
	uint8_t irq[9] = { 0x89, 6, 0, 0x03, 1 };
	uint32_t g = gsi;
	memcpy(irq + 5, &g, 4);
	put(&buf, irq, sizeof(irq));
	put8(&buf, 0x79); /* EndTag */
	put8(&buf, 0);
	aml bufbody = { 0 };
	put_int(&bufbody, (uint32_t)buf.n);
	put(&bufbody, buf.d, buf.n);
	put8(&crs, 0x08);
	put(&crs, "_CRS", 4);
	put_pkg(&crs, (const uint8_t[]){ 0x11 }, 1, &bufbody); /* BufferOp */

	put(&dev, name, 4);
	put_name_str(&dev, "_HID", "LNRO0005");
	put_name_int(&dev, "_UID", (uint32_t)i);
	put(&dev, crs.d, crs.n);
	put_pkg(a, (const uint8_t[]){ 0x5b, 0x82 }, 2, &dev); /* DeviceOp */
}

struct __attribute__((packed)) sdt {
	char sig[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem[6], oem_table[8];
	uint32_t oem_rev;
	char creator[4];
	uint32_t creator_rev;
};

struct __attribute__((packed)) gas {
	uint8_t space, bit_width, bit_offset, access;
	uint64_t addr;
};

static uint8_t checksum(const void *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += ((const uint8_t *)p)[i];
	return (uint8_t)-s;
}

/* Tables are laid out one after another from VS_ACPI_ADDR. */
typedef struct builder {
	vs_vm *vm;
	uint64_t next;
	bool full;
} builder;

static uint64_t emit(builder *b, const char *sig, uint8_t rev, const void *body, size_t len)
{
	uint8_t t[4096];
	if (sizeof(struct sdt) + len > sizeof(t)) {
		b->full = true;
		return 0;
	}
	struct sdt h = { .length = (uint32_t)(sizeof(h) + len),
			 .revision = rev,
			 .oem_rev = 1,
			 .creator_rev = 1 };
	memcpy(h.sig, sig, 4);
	memcpy(h.oem, "VESSEL", 6);
	memcpy(h.oem_table, "VESSELVM", 8);
	memcpy(h.creator, "VSSL", 4);
	memcpy(t, &h, sizeof(h));
	memcpy(t + sizeof(h), body, len);
	t[9] = checksum(t, h.length);
	uint64_t at = b->next;
	if (vs_mem_write(&b->vm->mem, at, t, h.length) < 0 || at + h.length > VS_MPTABLE_ADDR)
		b->full = true;
	b->next = (at + h.length + 15) & ~15ULL;
	return at;
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, 8);
}

static void put_gas(uint8_t *p, size_t off, uint8_t bits, uint8_t access, uint64_t port)
{
	struct gas g = { 1 /* SystemIO */, bits, 0, access, port };
	memcpy(p + off, &g, sizeof(g));
}

int vs_x86_write_acpi(vs_vm *vm, uint64_t *rsdp_out, vs_err *err)
{
	builder b = { vm, VS_ACPI_ADDR + 64, false };

	/* DSDT */
	aml dsdt = { 0 }, sb = { 0 }, s5 = { 0 };
	put8(&s5, 4); /* NumElements */
	put_int(&s5, 5);
	put_int(&s5, 5);
	put_int(&s5, 0);
	put_int(&s5, 0);
	put8(&dsdt, 0x08);
	put(&dsdt, "_S5_", 4);
	put_pkg(&dsdt, (const uint8_t[]){ 0x12 }, 1, &s5); /* PackageOp */
	put(&sb, "\\_SB_", 5);
	for (int i = 0; i < vm->dev.nvirtio; i++)
		virtio_device(&sb, i, vm->dev.virtio[i].base, vm->dev.virtio[i].gsi);
	put_pkg(&dsdt, (const uint8_t[]){ 0x10 }, 1, &sb); /* ScopeOp */
	if (dsdt.overflow)
		return vs_fail(err, 0, "DSDT too large");
	uint64_t dsdt_at = emit(&b, "DSDT", 2, dsdt.d, dsdt.n);

	/* FACS: no header checksum, 64-byte aligned. */
	b.next = (b.next + 63) & ~63ULL;
	uint8_t facs[64] = { 'F', 'A', 'C', 'S', 64 };
	facs[32] = 2; /* version */
	uint64_t facs_at = b.next;
	vs_mem_write(&vm->mem, facs_at, facs, sizeof(facs));
	b.next += 64;

	/* FADT, revision 6 (276 bytes); offsets from ACPI 6.x table 5.9. */
	uint8_t f[276 - 36];
	memset(f, 0, sizeof(f));
#define F(off) ((off)-36)
	put32(f, F(36), (uint32_t)facs_at);
	put32(f, F(40), (uint32_t)dsdt_at);
	f[F(46)] = VS_SCI_IRQ;
	put32(f, F(56), VS_PORT_PM1_EVT);
	put32(f, F(64), VS_PORT_PM1_CNT);
	f[F(88)] = 4; /* PM1_EVT_LEN */
	f[F(89)] = 2; /* PM1_CNT_LEN */
	/* IAPC_BOOT_ARCH: no VGA, no CMOS RTC; no 8042 so Linux does not probe
	 * a keyboard (the i8042 model only knows the reset command). */
	uint16_t boot_arch = (1u << 2) | (1u << 5);
	memcpy(f + F(109), &boot_arch, 2);
	put32(f, F(112), (1u << 0) | (1u << 10)); /* WBINVD, RESET_REG_SUP */
	put_gas(f, F(116), 8, 1, VS_PORT_RESET);
	f[F(128)] = 0x06;
	f[F(131)] = 0; /* minor version */
	put64(f, F(132), facs_at);
	put64(f, F(140), dsdt_at);
	put_gas(f, F(148), 32, 3, VS_PORT_PM1_EVT);
	put_gas(f, F(172), 16, 2, VS_PORT_PM1_CNT);
	memcpy(f + F(268), "VESSELVM", 8);
#undef F
	uint64_t fadt_at = emit(&b, "FACP", 6, f, sizeof(f));

	/* MADT */
	uint8_t m[8 + 8 * VS_VM_MAX_CPUS + 12 + 6];
	size_t mn = 0;
	put32(m, 0, (uint32_t)VS_LAPIC_ADDR);
	put32(m, 4, 1); /* PCAT_COMPAT: there are 8259s too */
	mn = 8;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		uint8_t e[8] = { 0, 8, (uint8_t)i, (uint8_t)i, 1, 0, 0, 0 };
		memcpy(m + mn, e, 8);
		mn += 8;
	}
	uint8_t io[12] = { 1, 12, (uint8_t)vm->ncpus, 0 };
	put32(io, 4, (uint32_t)VS_IOAPIC_ADDR);
	put32(io, 8, 0);
	memcpy(m + mn, io, 12);
	mn += 12;
	uint8_t nmi[6] = { 4, 6, 0xff, 0, 0, 1 }; /* LINT1 of every CPU is NMI */
	memcpy(m + mn, nmi, 6);
	mn += 6;
	uint64_t madt_at = emit(&b, "APIC", 5, m, mn);

	uint8_t x[16];
	put64(x, 0, fadt_at);
	put64(x, 8, madt_at);
	uint64_t xsdt_at = emit(&b, "XSDT", 1, x, sizeof(x));
	if (b.full)
		return vs_fail(err, 0, "ACPI tables do not fit in the BIOS area");

	uint8_t r[36] = { 'R', 'S', 'D', ' ', 'P', 'T', 'R', ' ' };
	memcpy(r + 9, "VESSEL", 6);
	r[15] = 2;
	put32(r, 20, 36);
	put64(r, 24, xsdt_at);
	r[8] = checksum(r, 20);
	r[32] = checksum(r, 36);
	vs_mem_write(&vm->mem, VS_ACPI_ADDR, r, sizeof(r));
	*rsdp_out = VS_ACPI_ADDR;
	return 0;
}
