#include "microvm/sizing.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "microvm/annotations.h"
#include "vm/vm.h"

#define MIB	      (1ULL << 20)
#define MAX_GUEST_MIB (1ULL << 22) /* vm/vm.c's bound: 4 TiB */

/* "512" (MiB), "512M", "512MiB", "2G", "2GiB": whole MiB, no fractions. */
static int parse_mib(const char *s, uint64_t *out)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	uint64_t mul = 1;
	if (*end == 'G' || *end == 'g')
		mul = 1024;
	if (*end == 'M' || *end == 'm' || mul != 1) {
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
	}
	if (*end || v > MAX_GUEST_MIB / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int memory_from_limit(const vs_resources *r, uint64_t *mib, vs_err *err)
{
	if (!r || !r->memory.limit.set || r->memory.limit.v <= 0) {
		*mib = 0; /* unlimited */
		return 0;
	}
	uint64_t limit = (uint64_t)r->memory.limit.v / MIB;
	if (limit < VS_MICROVM_MIN_GUEST_MIB + VS_MICROVM_OVERHEAD_MIB)
		return vs_fail(
			err, 0,
			"linux.resources.memory.limit: %lld bytes is too small for a microvm "
			"(at least %d MiB: %d MiB of guest RAM and %d MiB for the monitor)",
			(long long)r->memory.limit.v,
			VS_MICROVM_MIN_GUEST_MIB + VS_MICROVM_OVERHEAD_MIB,
			VS_MICROVM_MIN_GUEST_MIB, VS_MICROVM_OVERHEAD_MIB);
	*mib = limit - VS_MICROVM_OVERHEAD_MIB;
	return 0;
}

static int size_memory(const vs_resources *r, json_object *ann, uint64_t *out, vs_err *err)
{
	uint64_t room = 0;
	const char *s;
	if (memory_from_limit(r, &room, err) < 0 ||
	    vs_annotation_get(ann, VS_ANN_VM_MEMORY, &s, err) < 0)
		return -1;
	if (!s) {
		*out = room ? room : VS_MICROVM_DEFAULT_GUEST_MIB;
		return 0;
	}
	uint64_t want;
	if (parse_mib(s, &want) < 0)
		return vs_fail(err, 0,
			       "annotation %s: \"%s\" is not a size in MiB (like 512, 512M or 2G)",
			       VS_ANN_VM_MEMORY, s);
	if (want < VS_MICROVM_MIN_GUEST_MIB)
		return vs_fail(err, 0, "annotation %s: %llu MiB is below the minimum of %d MiB",
			       VS_ANN_VM_MEMORY, (unsigned long long)want,
			       VS_MICROVM_MIN_GUEST_MIB);
	/* More than the limit leaves room for would get the monitor OOM-killed
	 * once the guest touches it. */
	if (room && want > room)
		return vs_fail(err, 0,
			       "annotation %s: %llu MiB does not fit linux.resources.memory.limit "
			       "(%llu MiB of guest RAM at most, %d MiB go to the monitor)",
			       VS_ANN_VM_MEMORY, (unsigned long long)want, (unsigned long long)room,
			       VS_MICROVM_OVERHEAD_MIB);
	*out = want;
	return 0;
}

/* CPUs in a cpuset list ("0-3,8,10-11"); 0 for an empty list. */
static int cpuset_count(const char *list, unsigned *out)
{
	unsigned n = 0;
	const char *p = list;
	while (*p) {
		char *end;
		if (!isdigit((unsigned char)*p))
			return -1;
		unsigned long a = strtoul(p, &end, 10), b = a;
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				return -1;
			b = strtoul(end + 1, &end, 10);
		}
		if (b < a || b - a >= 1UL << 20)
			return -1;
		n += (unsigned)(b - a + 1);
		if (*end == ',' && end[1])
			end++;
		else if (*end)
			return -1;
		p = end;
	}
	*out = n;
	return 0;
}

static int cpus_from_limits(const vs_resources *r, unsigned *out, vs_err *err)
{
	unsigned n = 0;
	if (r && r->cpu.quota.set && r->cpu.quota.v > 0) {
		uint64_t period = r->cpu.period.set && r->cpu.period.v ? r->cpu.period.v : 100000;
		uint64_t q = (uint64_t)r->cpu.quota.v;
		uint64_t c = q / period + (q % period != 0);
		n = c > VS_VM_MAX_CPUS ? VS_VM_MAX_CPUS : (unsigned)c;
	}
	if (r && r->cpu.cpus && r->cpu.cpus[0]) {
		unsigned set;
		if (cpuset_count(r->cpu.cpus, &set) < 0)
			return vs_fail(err, 0, "linux.resources.cpu.cpus: \"%s\" is not a cpu list",
				       r->cpu.cpus);
		/* More vCPUs than host CPUs to run them on gains nothing. */
		if (set && (!n || set < n))
			n = set;
	}
	if (!n)
		n = 1;
	*out = n > VS_VM_MAX_CPUS ? VS_VM_MAX_CPUS : n;
	return 0;
}

static int size_cpus(const vs_resources *r, json_object *ann, unsigned *out, vs_err *err)
{
	const char *s;
	if (vs_annotation_get(ann, VS_ANN_VM_CPUS, &s, err) < 0)
		return -1;
	if (!s)
		return cpus_from_limits(r, out, err);
	char *end;
	errno = 0;
	unsigned long v = isdigit((unsigned char)*s) ? strtoul(s, &end, 10) : 0;
	if (!v || errno || *end || v > VS_VM_MAX_CPUS)
		return vs_fail(err, 0, "annotation %s: \"%s\" is not a vCPU count from 1 to %d",
			       VS_ANN_VM_CPUS, s, VS_VM_MAX_CPUS);
	*out = (unsigned)v;
	return 0;
}

int vs_microvm_sizing(const vs_resources *r, json_object *annotations, vs_microvm_size *out,
		      vs_err *err)
{
	if (size_memory(r, annotations, &out->memory_mib, err) < 0)
		return -1;
	return size_cpus(r, annotations, &out->cpus, err);
}
