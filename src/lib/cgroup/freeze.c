#include "cgroup/freeze.h"

#include <string.h>
#include <time.h>

#include "cgroup/internal.h"
#include "core/cleanup.h"

#define FREEZE_TIMEOUT_MS 10000

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Timeouts are wall time: each poll also costs a file read. */
static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool v1_state_is(const char *dir, const char *want)
{
	vs_autofree char *s = vs_cg_read(dir, "freezer.state");
	return s && !strncmp(s, want, strlen(want)) &&
	       (s[strlen(want)] == '\n' || !s[strlen(want)]);
}

static int v1_freeze(const char *dir, bool frozen, vs_err *err)
{
	const char *want = frozen ? "FROZEN" : "THAWED";
	long long start = now_ms(), last_write = -1000;
	while (now_ms() - start < FREEZE_TIMEOUT_MS) {
		/* Write again now and then: a task that was forking when we
		 * asked can leave the cgroup stuck in FREEZING (runc does this too). */
		if (now_ms() - last_write >= 100) {
			if (vs_cg_write("freezer", dir, "freezer.state", want, err) < 0)
				return -1;
			last_write = now_ms();
		}
		if (v1_state_is(dir, want))
			return 0;
		sleep_ms(1);
	}
	if (frozen)
		vs_cg_write("freezer", dir, "freezer.state", "THAWED", NULL);
	return vs_fail(err, 0, "cgroup freezer: %s/freezer.state did not reach %s", dir, want);
}

static int v2_freeze(const char *dir, bool frozen, vs_err *err)
{
	if (vs_cg_write("freezer", dir, "cgroup.freeze", frozen ? "1" : "0", err) < 0)
		return -1;
	/* cgroup.events says "frozen 1" once every task has stopped. */
	for (long long start = now_ms(); now_ms() - start < FREEZE_TIMEOUT_MS;) {
		uint64_t v;
		if (vs_cg_read_key(dir, "cgroup.events", "frozen", &v) < 0)
			return 0; /* no report to wait for (old kernel, fake tree) */
		if ((v == 1) == frozen)
			return 0;
		sleep_ms(1);
	}
	if (frozen)
		vs_cg_write("freezer", dir, "cgroup.freeze", "0", NULL);
	return vs_fail(err, 0, "cgroup freezer: %s/cgroup.events did not report frozen %d", dir,
		       frozen ? 1 : 0);
}

int vs_cgroup_freeze(const vs_cgroup *cg, bool frozen, vs_err *err)
{
	bool v2 = false;
	const char *dir = vs_cgroup_dir_of(cg, "freezer", &v2);
	if (!dir)
		return vs_fail(err, 0,
			       "cgroup freezer: this host has no freezer (no v1 freezer hierarchy, "
			       "no cgroup2)");
	return v2 ? v2_freeze(dir, frozen, err) : v1_freeze(dir, frozen, err);
}

int vs_cgroup_is_frozen(const vs_cgroup *cg, bool *frozen, vs_err *err)
{
	bool v2 = false;
	*frozen = false;
	const char *dir = vs_cgroup_dir_of(cg, "freezer", &v2);
	if (!dir)
		return vs_fail(err, 0, "cgroup freezer: this host has no freezer");
	if (v2) {
		uint64_t v;
		if (vs_cg_read_u64(dir, "cgroup.freeze", &v) < 0)
			return vs_fail(err, 0, "cgroup freezer: cannot read %s/cgroup.freeze", dir);
		*frozen = v == 1;
		return 0;
	}
	vs_autofree char *s = vs_cg_read(dir, "freezer.state");
	if (!s)
		return vs_fail(err, 0, "cgroup freezer: cannot read %s/freezer.state", dir);
	*frozen = !strncmp(s, "FROZEN", 6) || !strncmp(s, "FREEZING", 8);
	return 0;
}
