/* Intel MultiProcessor Specification 1.4 tables: how a guest without ACPI
 * finds its CPUs, the I/O APIC and the ISA interrupt wiring. */
#include <string.h>

#include "vm/x86/x86.h"

struct __attribute__((packed)) mpf {
	char sig[4];
	uint32_t physptr;
	uint8_t length, spec_rev, checksum, feature[5];
};

struct __attribute__((packed)) mpc {
	char sig[4];
	uint16_t length;
	uint8_t spec_rev, checksum;
	char oem[8], product[12];
	uint32_t oem_ptr;
	uint16_t oem_size, count;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum, reserved;
};

struct __attribute__((packed)) mpc_cpu {
	uint8_t type, apic_id, apic_ver, flags;
	uint32_t signature, features, reserved[2];
};

struct __attribute__((packed)) mpc_small {
	uint8_t type, a, b, c;
	uint32_t d;
};

struct __attribute__((packed)) mpc_irq {
	uint8_t type, irq_type;
	uint16_t flags;
	uint8_t src_bus, src_irq, dst_id, dst_pin;
};

static uint8_t checksum(const void *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += ((const uint8_t *)p)[i];
	return (uint8_t)-s;
}

int vs_x86_write_mptable(vs_vm *vm, vs_err *err)
{
	uint8_t buf[4096];
	memset(buf, 0, sizeof(buf));
	size_t n = sizeof(struct mpf) + sizeof(struct mpc);
	uint16_t count = 0;
	uint8_t ioapic_id = (uint8_t)vm->ncpus;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct mpc_cpu c = { 0,	    (uint8_t)i, 0x14,	 (uint8_t)(1 | (i == 0 ? 2 : 0)),
				     0x600, 0x201,	{ 0, 0 } };
		memcpy(buf + n, &c, sizeof(c));
		n += sizeof(c);
		count++;
	}
	struct mpc_small bus = { 1, 0, 'I', 'S', 0 };
	memcpy(&bus.d, "A   ", 4);
	memcpy(buf + n, &bus, 8);
	n += 8;
	struct mpc_small io = { 2, ioapic_id, 0x11, 1, (uint32_t)VS_IOAPIC_ADDR };
	memcpy(buf + n, &io, 8);
	n += 8;
	count += 2;
	for (uint8_t irq = 0; irq < 16; irq++) {
		struct mpc_irq e = { 3, 0, 0, 0, irq, ioapic_id, irq };
		memcpy(buf + n, &e, 8);
		n += 8;
		count++;
	}
	struct mpc_irq lint0 = { 4, 3, 0, 0, 0, 0xff, 0 }, lint1 = { 4, 1, 0, 0, 0, 0xff, 1 };
	memcpy(buf + n, &lint0, 8);
	memcpy(buf + n + 8, &lint1, 8);
	n += 16;
	count += 2;
	if (n > sizeof(buf))
		return vs_fail(err, 0, "MP table too large");

	struct mpc *h = (struct mpc *)(buf + sizeof(struct mpf));
	memcpy(h->sig, "PCMP", 4);
	h->length = (uint16_t)(n - sizeof(struct mpf));
	h->spec_rev = 4;
	memcpy(h->oem, "VESSEL  ", 8);
	memcpy(h->product, "MICROVM     ", 12);
	h->count = count;
	h->lapic = (uint32_t)VS_LAPIC_ADDR;
	h->checksum = checksum(h, h->length);

	struct mpf *f = (struct mpf *)buf;
	memcpy(f->sig, "_MP_", 4);
	f->physptr = VS_MPTABLE_ADDR + sizeof(struct mpf);
	f->length = 1;
	f->spec_rev = 4;
	f->checksum = checksum(f, sizeof(*f));
	if (vs_mem_write(&vm->mem, VS_MPTABLE_ADDR, buf, n) < 0)
		return vs_fail(err, 0, "no guest memory for the MP table");
	return 0;
}
