#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/log.h"
#include "lifecycle/control.h"

/* A Go duration as runc takes it: "5s", "500ms", "1m30s", "1.5s". */
static int parse_duration_ms(const char *s, long *out)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = { { "ns", 1e-6 }, { "us", 1e-3 }, { "µs", 1e-3 },  { "ms", 1 },
		      { "s", 1000 },  { "m", 60000 }, { "h", 3600000 } };
	double total = 0;
	if (!*s)
		return -1;
	while (*s) {
		char *end;
		double v = strtod(s, &end);
		if (end == s || v < 0)
			return -1;
		s = end;
		size_t best = 0;
		int which = -1;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t n = strlen(units[i].unit);
			if (!strncmp(s, units[i].unit, n) && n > best) {
				best = n;
				which = (int)i;
			}
		}
		if (which < 0)
			return -1;
		total += v * units[which].ms;
		s += best;
	}
	if (total < 1 || total > 86400000.0 * 365)
		return -1;
	*out = (long)total;
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* One line of runc's event stream: {"type":..,"id":..,"data":..}. */
static void emit(const char *type, const char *id, json_object *data)
{
	json_object *e = json_object_new_object();
	json_object_object_add(e, "type", json_object_new_string(type));
	json_object_object_add(e, "id", json_object_new_string(id));
	if (data)
		json_object_object_add(e, "data", data);
	printf("%s\n", json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(e);
}

/* Reopen each time: the state (and the live status) can change under us. */
static int sample(vs_cli *cli, const char *id, bool *gone, vs_err *err)
{
	vs_container *c;
	*gone = false;
	if (vs_container_open(&cli->rt, id, false, &c, err) < 0) {
		*gone = true;
		return -1;
	}
	vs_status s = vs_container_status(c);
	int rc = 0;
	if (s == VS_STATUS_STOPPED) {
		*gone = true;
	} else {
		json_object *data = NULL;
		rc = vs_container_stats(c, &data, err);
		if (rc == 0)
			emit("stats", id, data);
	}
	vs_container_close(c);
	return rc;
}

int cmd_events(vs_cli *cli, int argc, char **argv)
{
	const vs_command *cmd = cli_find_command("events");
	static const struct option opts[] = { { "interval", required_argument, NULL, 'i' },
					      { "stats", no_argument, NULL, 's' },
					      { 0 } };
	long interval = 5000;
	bool once = false;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'i') {
			if (parse_duration_ms(optarg, &interval) < 0)
				return cli_usage_error(
					cmd,
					"--interval: \"%s\" is not a duration like 5s or 500ms",
					optarg);
		} else if (c == 's') {
			once = true;
		} else {
			return cli_usage_error(cmd, "invalid option");
		}
	}
	const char *id = cli_one_id(cmd, argc, argv, optind);
	if (!id)
		return 1;
	vs_err err = { 0 };
	vs_container *ct;
	if (vs_container_open(&cli->rt, id, false, &ct, &err) < 0)
		return cli_fail(&err);
	if (vs_container_status(ct) == VS_STATUS_STOPPED) {
		vs_fail(&err, 0, "events %s: the container is not running", id);
		vs_container_close(ct);
		return cli_fail(&err);
	}
	if (once) {
		json_object *data = NULL;
		int rc = vs_container_stats(ct, &data, &err);
		vs_container_close(ct);
		if (rc < 0)
			return cli_fail(&err);
		emit("stats", id, data);
		return 0;
	}
	/* Watch for OOM before the first sample: a reader that saw a sample
	 * knows an OOM from then on will be reported. */
	vs_oom_watch *oom = NULL;
	vs_err oerr = { 0 };
	if (vs_container_oom_watch(ct, &oom, &oerr) < 0)
		vs_warn("%s (OOM events will not be reported)", oerr.msg);
	vs_container_close(ct);

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int rc = 0;
	long next = now_ms();
	while (!stop) {
		long now = now_ms();
		if (now >= next) {
			bool gone;
			vs_err serr = { 0 };
			if (sample(cli, id, &gone, &serr) < 0 && !gone) {
				rc = cli_fail(&serr);
				break;
			}
			if (gone)
				break;
			next = now + interval;
		}
		struct pollfd p = { .fd = oom ? vs_oom_watch_fd(oom) : -1, .events = POLLIN };
		int wait = (int)(next - now_ms());
		int n = poll(&p, 1, wait > 0 ? wait : 0);
		if (n < 0 && errno != EINTR) {
			vs_fail_errno(&err, "events %s: poll", id);
			rc = cli_fail(&err);
			break;
		}
		if (n > 0 && oom) {
			uint64_t count = 0;
			int gone = vs_oom_watch_read(oom, &count, &err);
			for (uint64_t i = 0; i < count; i++)
				emit("oom", id, NULL);
			if (gone == 1) {
				/* The cgroup went away (delete): nothing more to report. */
				break;
			}
		}
	}
	vs_oom_watch_close(oom);
	return rc;
}
