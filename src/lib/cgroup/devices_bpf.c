#include "cgroup/devices_bpf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup/internal.h"
#include "core/cleanup.h"
#include "core/log.h"

/* Registers: r1 is the context (struct bpf_cgroup_dev_ctx), then
 * r2 = device type, r3 = requested access, r4 = major, r5 = minor. */
static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	struct bpf_insn i = {
		.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm
	};
	return i;
}

#define LDX_W(dst, src, off) insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define AND32_K(dst, imm)    insn(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, imm)
#define RSH32_K(dst, imm)    insn(BPF_ALU | BPF_RSH | BPF_K, dst, 0, 0, imm)
#define MOV32_X(dst, src)    insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV64_K(dst, imm)    insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define JNE_K(dst, imm, off) insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm)
#define EXIT()		     insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static int access_bits(const char *a)
{
	int bits = 0;
	if (strchr(a, 'r'))
		bits |= BPF_DEVCG_ACC_READ;
	if (strchr(a, 'w'))
		bits |= BPF_DEVCG_ACC_WRITE;
	if (strchr(a, 'm'))
		bits |= BPF_DEVCG_ACC_MKNOD;
	return bits;
}

int vs_devices_bpf_build(const vs_resources *r, struct bpf_insn **out, size_t *n_out, vs_err *err)
{
	/* The last "a" rule resets everything before it. */
	size_t first = 0;
	bool deflt = true; /* a cgroup with no rules allows everything, as on v1 */
	for (size_t i = 0; i < r->n_devices; i++)
		if (r->devices[i].type == 'a') {
			first = i + 1;
			deflt = r->devices[i].allow;
		}
	size_t cap = 8 + (r->n_devices - first) * 8;
	struct bpf_insn *p = calloc(cap, sizeof(*p));
	if (!p)
		return vs_fail(err, ENOMEM, "device eBPF program");
	size_t n = 0;
	p[n++] = LDX_W(2, 1, 0);
	p[n++] = AND32_K(2, 0xFFFF);
	p[n++] = LDX_W(3, 1, 0);
	p[n++] = RSH32_K(3, 16);
	p[n++] = LDX_W(4, 1, 4);
	p[n++] = LDX_W(5, 1, 8);
	/* Last rule first: the first match decides, so later rules win. */
	for (size_t k = r->n_devices; k > first; k--) {
		const vs_res_device *d = &r->devices[k - 1];
		int acc = access_bits(d->access);
		if (!acc)
			continue;
		if (d->major > INT32_MAX || d->minor > INT32_MAX) {
			free(p);
			return vs_fail(err, 0,
				       "cgroup devices: device %lld:%lld is out of range for the "
				       "eBPF filter",
				       (long long)d->major, (long long)d->minor);
		}
		bool full = acc == (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD);
		int len = 2 + 1 + (full ? 0 : 3) + (d->major >= 0) + (d->minor >= 0);
		size_t end = n + (size_t)len;
		p[n] = JNE_K(2, d->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR,
			     (int16_t)(end - n - 1));
		n++;
		if (!full) {
			/* Match only if every requested bit is in the rule. */
			p[n++] = MOV32_X(1, 3);
			p[n++] = AND32_K(1, ~acc & 7);
			p[n] = JNE_K(1, 0, (int16_t)(end - n - 1));
			n++;
		}
		if (d->major >= 0) {
			p[n] = JNE_K(4, (int32_t)d->major, (int16_t)(end - n - 1));
			n++;
		}
		if (d->minor >= 0) {
			p[n] = JNE_K(5, (int32_t)d->minor, (int16_t)(end - n - 1));
			n++;
		}
		p[n++] = MOV64_K(0, d->allow ? 1 : 0);
		p[n++] = EXIT();
	}
	p[n++] = MOV64_K(0, deflt ? 1 : 0);
	p[n++] = EXIT();
	*out = p;
	*n_out = n;
	return 0;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int load(const struct bpf_insn *insns, size_t n, vs_err *err)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t) "GPL";
	int fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd >= 0)
		return fd;
	int e = errno;
	/* Load again with the verifier log, to say why. */
	char log[4096] = "";
	a.log_buf = (uint64_t)(uintptr_t)log;
	a.log_size = sizeof(log);
	a.log_level = 1;
	fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd >= 0)
		return fd;
	log[sizeof(log) - 1] = '\0';
	char *last = log[0] ? log : NULL;
	return vs_fail(err, e, "cgroup devices: bpf(BPF_PROG_LOAD) of the device filter%s%.200s",
		       last ? ": " : "", last ? last : "");
}

int vs_devices_bpf_attach(const char *dir, const struct bpf_insn *insns, size_t n, vs_err *err)
{
	vs_autoclose int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0)
		return vs_fail_errno(err, "cgroup devices: open %s", dir);
	/* The programs attached before us, to detach once ours is in place. */
	uint32_t old_ids[64];
	uint32_t n_old = 0;
	union bpf_attr q;
	memset(&q, 0, sizeof(q));
	q.query.target_fd = (uint32_t)cgfd;
	q.query.attach_type = BPF_CGROUP_DEVICE;
	q.query.prog_ids = (uint64_t)(uintptr_t)old_ids;
	q.query.prog_cnt = 64;
	if (sys_bpf(BPF_PROG_QUERY, &q) == 0)
		n_old = q.query.prog_cnt;

	vs_autoclose int prog = load(insns, n, err);
	if (prog < 0)
		return -1;
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)cgfd;
	a.attach_bpf_fd = (uint32_t)prog;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	if (sys_bpf(BPF_PROG_ATTACH, &a) < 0)
		return vs_fail_errno(err, "cgroup devices: bpf(BPF_PROG_ATTACH) to %s", dir);
	for (uint32_t i = 0; i < n_old && i < 64; i++) {
		union bpf_attr g;
		memset(&g, 0, sizeof(g));
		g.prog_id = old_ids[i];
		vs_autoclose int old = sys_bpf(BPF_PROG_GET_FD_BY_ID, &g);
		if (old < 0)
			continue;
		union bpf_attr d;
		memset(&d, 0, sizeof(d));
		d.target_fd = (uint32_t)cgfd;
		d.attach_bpf_fd = (uint32_t)old;
		d.attach_type = BPF_CGROUP_DEVICE;
		if (sys_bpf(BPF_PROG_DETACH, &d) < 0)
			vs_warn("cgroup devices: detaching the previous device filter from %s: %s",
				dir, strerror(errno));
	}
	return 0;
}

int vs_cg_devices_bpf(const char *dir, const vs_resources *r, vs_err *err)
{
	struct bpf_insn *insns = NULL;
	size_t n = 0;
	if (vs_devices_bpf_build(r, &insns, &n, err) < 0)
		return -1;
	int rc = vs_devices_bpf_attach(dir, insns, n, err);
	free(insns);
	return rc;
}
