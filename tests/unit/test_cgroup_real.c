/* The cgroup2 code paths for real, on this host's cgroup2 mount (on the
 * hybrid CI host: /sys/fs/cgroup/unified, where only hugetlb is enabled):
 * creating a cgroup with controllers passed down, the v2 hugetlb writer
 * and unified keys, cgroup.freeze, statistics, and the eBPF device filter
 * (which needs no controller). Each test skips, saying why, where the host
 * cannot run it. Cgroups are named vessel-unit-<pid> and removed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/devices_bpf.h"
#include "cgroup/freeze.h"
#include "cgroup/resources.h"
#include "cgroup/stats.h"

/* A skip that says why (cmocka's skip() prints no reason). */
#define SKIP(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "[  SKIP    ] %s: ", __func__);                                    \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fputc('\n', stderr);                                                               \
		skip();                                                                            \
	} while (0)

typedef struct real {
	vs_cgroup *cg;
	char record[64];
} real;

/* Only the host's cgroup2 hierarchy, so nothing is created in v1. */
static int v2_host(vs_cgroup_host *out, char *why, size_t len)
{
	if (geteuid() != 0) {
		snprintf(why, len, "needs root");
		return -1;
	}
	vs_cgroup_host h;
	vs_err err = { 0 };
	if (vs_cgroup_detect(&h, NULL, &err) < 0) {
		snprintf(why, len, "%.200s", err.msg);
		return -1;
	}
	*out = (vs_cgroup_host){ .layout = VS_CGROUP_V2 };
	for (int i = 0; i < h.n_hier; i++)
		if (h.hier[i].v2)
			out->hier[out->n_hier++] = h.hier[i];
	if (!out->n_hier) {
		snprintf(why, len, "this host has no cgroup2 mount");
		return -1;
	}
	return 0;
}

static int make_cgroup(real *r, const vs_cgroup_host *h, const char *tag)
{
	char path[64];
	vs_err err = { 0 };
	snprintf(path, sizeof(path), "/vessel-unit-%s-%d", tag, (int)getpid());
	snprintf(r->record, sizeof(r->record), "/tmp/vessel-unit-%s-%d.created", tag,
		 (int)getpid());
	unlink(r->record);
	r->cg = vs_cgroup_open(h, path, &err);
	if (!r->cg || vs_cgroup_create(r->cg, r->record, &err) < 0) {
		print_error("%s\n", err.msg);
		return -1;
	}
	return 0;
}

static void drop_cgroup(real *r)
{
	vs_err err = { 0 };
	if (r->cg)
		vs_cgroup_kill_all_wait(r->cg, 5000, &err);
	if (vs_cgroup_destroy(r->cg, r->record, &err) < 0)
		print_error("%s\n", err.msg);
	unlink(r->record);
	vs_cgroup_free(r->cg);
}

static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = text; p && (p = strstr(p, word)); p += n)
		if ((p == text || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
			return true;
	return false;
}

static uint64_t read_num(const char *dir, const char *file)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *f = fopen(path, "r");
	unsigned long long v = 0;
	if (!f)
		return UINT64_MAX - 1;
	if (fscanf(f, "%llu", &v) != 1)
		v = UINT64_MAX - 2;
	fclose(f);
	return v;
}

static int apply_json(const vs_cgroup *cg, const char *json, vs_err *err)
{
	vs_resources r;
	json_object *o = json_tokener_parse(json);
	int rc = vs_resources_parse(o, "linux.resources", &r, err);
	json_object_put(o);
	if (rc == 0)
		rc = vs_cgroup_apply(cg, &r, false, err);
	vs_resources_clear(&r);
	return rc;
}

static void test_hugetlb_v2_for_real(void **state)
{
	(void)state;
	vs_cgroup_host h;
	char why[256];
	if (v2_host(&h, why, sizeof(why)) < 0)
		SKIP("%s", why);
	char ctrls[PATH_MAX + 32], *text = NULL;
	snprintf(ctrls, sizeof(ctrls), "%s/cgroup.controllers", h.hier[0].mount);
	FILE *f = fopen(ctrls, "r");
	size_t cap = 0;
	if (!f || getline(&text, &cap, f) < 0 || !has_word(text, "hugetlb")) {
		if (f)
			fclose(f);
		free(text);
		SKIP("hugetlb is not in %s (it is gone from cgroup2 on this host, e.g. taken by a "
		     "v1 "
		     "hugetlb mount): the real v2 hugetlb test cannot run",
		     ctrls);
	}
	fclose(f);
	free(text);
	if (access("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) < 0)
		SKIP("this host has no 2MB huge pages");

	real r = { 0 };
	assert_int_equal(make_cgroup(&r, &h, "htlb"), 0);
	const char *dir = vs_cgroup_v2_dir(r.cg);
	vs_err err = { 0 };
	/* create passed hugetlb down to the container's cgroup */
	int rc = apply_json(r.cg, "{\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}]}",
			    &err);
	if (rc)
		print_error("%s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_int_equal(read_num(dir, "hugetlb.2MB.max"), 4194304);
	/* unified keys go to the same directory, unconverted */
	rc = apply_json(r.cg, "{\"unified\":{\"hugetlb.2MB.max\":\"8388608\"}}", &err);
	assert_int_equal(rc, 0);
	assert_int_equal(read_num(dir, "hugetlb.2MB.max"), 8388608);
	/* a page size the host lacks is an error naming controller and file */
	assert_int_equal(
		apply_json(r.cg, "{\"hugepageLimits\":[{\"pageSize\":\"3MB\",\"limit\":1}]}", &err),
		-1);
	assert_non_null(strstr(err.msg, "cgroup hugetlb"));
	assert_non_null(strstr(err.msg, "hugetlb.3MB.max"));
	/* the kernel rejects a value: the message names the file */
	assert_int_equal(apply_json(r.cg, "{\"unified\":{\"hugetlb.2MB.max\":\"lots\"}}", &err),
			 -1);
	assert_non_null(strstr(err.msg, "hugetlb.2MB.max"));
	/* statistics read the v2 files */
	json_object *s = vs_cgroup_stats(r.cg, &err), *ht, *e;
	assert_non_null(s);
	assert_true(json_object_object_get_ex(s, "hugetlb", &ht));
	assert_true(json_object_object_get_ex(ht, "2MB", &e));
	json_object_put(s);
	drop_cgroup(&r);
	assert_int_equal(access(dir, F_OK), -1);
}

/* A child that waits on a pipe, then runs check() and exits with its result. */
static pid_t spawn_waiting(int *go, int (*check)(void))
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[1]);
		char c;
		if (read(p[0], &c, 1) != 1)
			_exit(100);
		_exit(check ? check() : 0);
	}
	close(p[0]);
	*go = p[1];
	return pid;
}

static int wait_exit(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int spin(void)
{
	for (;;)
		pause();
	return 0;
}

static void test_freeze_v2_for_real(void **state)
{
	(void)state;
	vs_cgroup_host h;
	char why[256];
	if (v2_host(&h, why, sizeof(why)) < 0)
		SKIP("%s", why);
	real r = { 0 };
	assert_int_equal(make_cgroup(&r, &h, "frz"), 0);
	const char *dir = vs_cgroup_v2_dir(r.cg);
	char probe[PATH_MAX + 32];
	snprintf(probe, sizeof(probe), "%s/cgroup.freeze", dir);
	if (access(probe, F_OK) < 0) {
		drop_cgroup(&r);
		SKIP("the kernel has no cgroup.freeze (before 5.2)");
	}
	int go = -1;
	pid_t pid = spawn_waiting(&go, spin);
	vs_err err = { 0 };
	assert_int_equal(vs_cgroup_enter(r.cg, pid, &err), 0);
	char c = 'x';
	assert_int_equal(write(go, &c, 1), 1);
	close(go);
	assert_int_equal(vs_cgroup_freeze(r.cg, true, &err), 0);
	bool frozen = false;
	assert_int_equal(vs_cgroup_is_frozen(r.cg, &frozen, &err), 0);
	assert_true(frozen);
	uint64_t v = 0;
	pid_t *pids = NULL;
	size_t n = 0;
	assert_int_equal(vs_cgroup_pids(r.cg, &pids, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], pid);
	free(pids);
	(void)v;
	assert_int_equal(vs_cgroup_freeze(r.cg, false, &err), 0);
	assert_int_equal(vs_cgroup_is_frozen(r.cg, &frozen, &err), 0);
	assert_false(frozen);
	/* kill through the cgroup, frozen first (signal_all does that for SIGKILL) */
	assert_int_equal(vs_cgroup_freeze(r.cg, true, &err), 0);
	assert_int_equal(vs_cgroup_signal_all(r.cg, SIGKILL, &err), 1);
	assert_int_equal(wait_exit(pid), 128 + SIGKILL);
	assert_int_equal(vs_cgroup_is_frozen(r.cg, &frozen, &err), 0);
	assert_false(frozen); /* thawed again */
	drop_cgroup(&r);
}

static int open_errno(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno;
}

/* exit code bits: 1 = /dev/null opened, 2 = /dev/zero opened */
static int probe_devices(void)
{
	return (open_errno("/dev/null") == 0 ? 1 : 0) | (open_errno("/dev/zero") == 0 ? 2 : 0);
}

static int attached_count(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	union bpf_attr q;
	uint32_t ids[8];
	memset(&q, 0, sizeof(q));
	q.query.target_fd = (uint32_t)fd;
	q.query.attach_type = BPF_CGROUP_DEVICE;
	q.query.prog_ids = (uint64_t)(uintptr_t)ids;
	q.query.prog_cnt = 8;
	int rc = (int)syscall(SYS_bpf, BPF_PROG_QUERY, &q, sizeof(q));
	close(fd);
	return rc < 0 ? -1 : (int)q.query.prog_cnt;
}

static int run_probe(real *r)
{
	int go = -1;
	pid_t pid = spawn_waiting(&go, probe_devices);
	vs_err err = { 0 };
	if (vs_cgroup_enter(r->cg, pid, &err) < 0)
		print_error("%s\n", err.msg);
	char c = 'x';
	if (write(go, &c, 1) != 1)
		return -1;
	close(go);
	return wait_exit(pid);
}

static void test_device_bpf_for_real(void **state)
{
	(void)state;
	vs_cgroup_host h;
	char why[256];
	if (v2_host(&h, why, sizeof(why)) < 0)
		SKIP("%s", why);
	real r = { 0 };
	assert_int_equal(make_cgroup(&r, &h, "bpf"), 0);
	const char *dir = vs_cgroup_v2_dir(r.cg);
	vs_resources res;
	vs_err err = { 0 };
	/* deny everything, then allow /dev/zero (c 1:5) for reading only */
	json_object *o = json_tokener_parse(
		"{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
		"{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":\"r\"}]}");
	assert_int_equal(vs_resources_parse(o, "linux.resources", &res, &err), 0);
	json_object_put(o);
	struct bpf_insn *insns;
	size_t n;
	assert_int_equal(vs_devices_bpf_build(&res, &insns, &n, &err), 0);
	int rc = vs_devices_bpf_attach(dir, insns, n, &err);
	free(insns);
	if (rc < 0 && (err.errnum == EPERM || err.errnum == EINVAL || err.errnum == ENOSYS)) {
		vs_resources_clear(&res);
		drop_cgroup(&r);
		SKIP("the kernel refused the device program (%s)", err.msg);
	}
	if (rc)
		print_error("%s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_int_equal(run_probe(&r), 2); /* zero yes, null no */
	/* applying again replaces the program instead of stacking another */
	res.devices[1].minor = 3; /* now /dev/null instead */
	assert_int_equal(vs_devices_bpf_build(&res, &insns, &n, &err), 0);
	assert_int_equal(vs_devices_bpf_attach(dir, insns, n, &err), 0);
	free(insns);
	assert_int_equal(attached_count(dir), 1);
	assert_int_equal(run_probe(&r), 1);
	/* and a later rule overrides an earlier one: deny null for reading again */
	vs_resources_clear(&res);
	o = json_tokener_parse(
		"{\"devices\":[{\"allow\":true,\"type\":\"c\",\"major\":1,\"access\":\"rwm\"},"
		"{\"allow\":false,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"r\"}]}");
	assert_int_equal(vs_resources_parse(o, "linux.resources", &res, &err), 0);
	json_object_put(o);
	assert_int_equal(vs_devices_bpf_build(&res, &insns, &n, &err), 0);
	assert_int_equal(vs_devices_bpf_attach(dir, insns, n, &err), 0);
	free(insns);
	assert_int_equal(run_probe(&r), 2);
	vs_resources_clear(&res);
	drop_cgroup(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hugetlb_v2_for_real),
		cmocka_unit_test(test_freeze_v2_for_real),
		cmocka_unit_test(test_device_bpf_for_real),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
