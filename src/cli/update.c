#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/cleanup.h"
#include "core/fs.h"
#include "core/log.h"
#include "lifecycle/control.h"
#include "oci/resources.h"

/* "512m", "1G", "1048576", "-1": sizes as runc (docker's RAMInBytes) takes them. */
static int parse_bytes(const char *s, int64_t *out)
{
	if (!strcmp(s, "-1")) {
		*out = -1;
		return 0;
	}
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	static const char units[] = "bkmgtp";
	double mul = 1;
	if (*end) {
		const char *u = strchr(units, tolower((unsigned char)*end));
		if (!u)
			return -1;
		for (const char *p = units; p < u; p++)
			mul *= 1024;
		end++;
		if ((*end == 'b' || *end == 'B') && u != units)
			end++;
		if ((*end == 'i' || *end == 'I') && end[1] && tolower((unsigned char)end[1]) == 'b')
			end += 2;
	}
	if (*end || v * mul > (double)INT64_MAX)
		return -1;
	*out = (int64_t)(v * mul);
	return 0;
}

static int parse_int(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_uint(const char *s, uint64_t *out)
{
	int64_t v;
	if (parse_int(s, &v) < 0 || v < 0)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

/* --resources FILE or "-" (stdin): a LinuxResources JSON object. */
static int read_resources(const char *path, vs_resources *r, vs_err *err)
{
	vs_autofree char *text = NULL;
	if (!strcmp(path, "-")) {
		size_t cap = 4096, n = 0;
		text = malloc(cap);
		for (size_t got; text && (got = fread(text + n, 1, cap - n - 1, stdin)) > 0;) {
			n += got;
			if (n + 1 == cap) {
				char *nt = realloc(text, cap *= 2);
				if (!nt)
					return vs_fail(err, ENOMEM, "--resources");
				text = nt;
			}
		}
		if (!text)
			return vs_fail(err, ENOMEM, "--resources");
		text[n] = '\0';
	} else if (vs_read_file(path, &text, NULL, err) < 0) {
		return vs_err_wrap(err, "--resources");
	}
	enum json_tokener_error jerr;
	json_object *o = json_tokener_parse_verbose(text, &jerr);
	if (!o)
		return vs_fail(err, 0, "--resources %s: invalid JSON: %s", path,
			       json_tokener_error_desc(jerr));
	int rc = vs_resources_parse(o, "--resources", r, err);
	json_object_put(o);
	return rc;
}

enum {
	O_RESOURCES = 'r',
	O_MEMORY = 256,
	O_MEMORY_SWAP,
	O_MEMORY_RES,
	O_CPU_SHARES,
	O_CPU_QUOTA,
	O_CPU_PERIOD,
	O_CPU_RT_PERIOD,
	O_CPU_RT_RUNTIME,
	O_CPUSET_CPUS,
	O_CPUSET_MEMS,
	O_PIDS,
	O_BLKIO_WEIGHT,
};

/* One flag into r; returns -1 with a message for a bad value. */
static int set_flag(vs_resources *r, int opt, const char *v)
{
	int64_t i;
	uint64_t u;
	switch (opt) {
	case O_MEMORY:
		if (parse_bytes(v, &i) < 0)
			return -1;
		r->memory.limit = (vs_res_i64){ true, i };
		return 0;
	case O_MEMORY_SWAP:
		if (parse_bytes(v, &i) < 0)
			return -1;
		r->memory.swap = (vs_res_i64){ true, i };
		return 0;
	case O_MEMORY_RES:
		if (parse_bytes(v, &i) < 0)
			return -1;
		r->memory.reservation = (vs_res_i64){ true, i };
		return 0;
	case O_CPU_SHARES:
		if (parse_uint(v, &u) < 0)
			return -1;
		r->cpu.shares = (vs_res_u64){ true, u };
		return 0;
	case O_CPU_QUOTA:
		if (parse_int(v, &i) < 0)
			return -1;
		r->cpu.quota = (vs_res_i64){ true, i };
		return 0;
	case O_CPU_PERIOD:
		if (parse_uint(v, &u) < 0)
			return -1;
		r->cpu.period = (vs_res_u64){ true, u };
		return 0;
	case O_CPU_RT_PERIOD:
		if (parse_uint(v, &u) < 0)
			return -1;
		r->cpu.realtime_period = (vs_res_u64){ true, u };
		return 0;
	case O_CPU_RT_RUNTIME:
		if (parse_int(v, &i) < 0)
			return -1;
		r->cpu.realtime_runtime = (vs_res_i64){ true, i };
		return 0;
	case O_CPUSET_CPUS:
	case O_CPUSET_MEMS: {
		char **dst = opt == O_CPUSET_CPUS ? &r->cpu.cpus : &r->cpu.mems;
		if (strspn(v, "0123456789,-") != strlen(v))
			return -1;
		free(*dst);
		*dst = strdup(v);
		return *dst ? 0 : -1;
	}
	case O_PIDS:
		if (parse_int(v, &i) < 0)
			return -1;
		r->pids.limit = (vs_res_i64){ true, i };
		return 0;
	case O_BLKIO_WEIGHT:
		if (parse_uint(v, &u) < 0 || u > UINT16_MAX)
			return -1;
		r->blkio.weight = (vs_res_u64){ true, u };
		return 0;
	}
	return -1;
}

int cmd_update(vs_cli *cli, int argc, char **argv)
{
	const vs_command *cmd = cli_find_command("update");
	static const struct option opts[] = {
		{ "resources", required_argument, NULL, O_RESOURCES },
		{ "memory", required_argument, NULL, O_MEMORY },
		{ "memory-swap", required_argument, NULL, O_MEMORY_SWAP },
		{ "memory-reservation", required_argument, NULL, O_MEMORY_RES },
		{ "cpu-shares", required_argument, NULL, O_CPU_SHARES },
		{ "cpu-share", required_argument, NULL, O_CPU_SHARES }, /* runc's spelling */
		{ "cpu-quota", required_argument, NULL, O_CPU_QUOTA },
		{ "cpu-period", required_argument, NULL, O_CPU_PERIOD },
		{ "cpu-rt-period", required_argument, NULL, O_CPU_RT_PERIOD },
		{ "cpu-rt-runtime", required_argument, NULL, O_CPU_RT_RUNTIME },
		{ "cpuset-cpus", required_argument, NULL, O_CPUSET_CPUS },
		{ "cpuset-mems", required_argument, NULL, O_CPUSET_MEMS },
		{ "pids-limit", required_argument, NULL, O_PIDS },
		{ "blkio-weight", required_argument, NULL, O_BLKIO_WEIGHT },
		{ 0 },
	};
	vs_resources flags = { 0 };
	const char *resources = NULL;
	bool any_flag = false;
	int c, rc = 1;
	while ((c = getopt_long(argc, argv, "r:", opts, NULL)) != -1) {
		if (c == O_RESOURCES) {
			resources = optarg;
		} else if (c >= O_MEMORY && c <= O_BLKIO_WEIGHT) {
			any_flag = true;
			if (set_flag(&flags, c, optarg) < 0) {
				rc = cli_usage_error(cmd, "%s: invalid value \"%s\"",
						     argv[optind - 1], optarg);
				goto out;
			}
		} else {
			rc = cli_usage_error(cmd, "invalid option");
			goto out;
		}
	}
	const char *id = cli_one_id(cmd, argc, argv, optind);
	if (!id)
		goto out;
	vs_err err = { 0 };
	vs_resources fromfile = { 0 };
	if (resources) {
		/* As runc: a resources document replaces the flags. */
		if (any_flag)
			vs_warn("update: --resources given: the other options are ignored");
		if (read_resources(resources, &fromfile, &err) < 0) {
			rc = cli_fail(&err);
			goto out;
		}
	} else if (!any_flag) {
		rc = cli_usage_error(cmd, "nothing to update (give --resources or a limit option)");
		goto out;
	}
	vs_container *ct;
	if (vs_container_open(&cli->rt, id, true, &ct, &err) < 0) {
		rc = cli_fail(&err);
	} else {
		rc = vs_container_update(ct, resources ? &fromfile : &flags, &err) < 0
			     ? cli_fail(&err)
			     : 0;
		vs_container_close(ct);
	}
	vs_resources_clear(&fromfile);
out:
	vs_resources_clear(&flags);
	return rc;
}
