/* vessel exec: runc's flags; the process is built and run by libvessel. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/strv.h"
#include "lifecycle/exec.h"
#include "oci/refused.h"

typedef struct strlist {
	char **v;
	size_t n;
} strlist;

static int push(strlist *l, const char *s)
{
	char **nv = realloc(l->v, (l->n + 2) * sizeof(char *));
	if (!nv)
		return -1;
	l->v = nv;
	nv[l->n++] = (char *)s;
	nv[l->n] = NULL;
	return 0;
}

static bool parse_id(const char *s, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v >= 0xffffffffUL || s[0] == '-')
		return false;
	*out = v;
	return true;
}

static int parse_user(const vs_command *cmd, const char *arg, vs_exec_request *r)
{
	unsigned long uid, gid;
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", arg);
	char *colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	if (!parse_id(buf, &uid) || (colon && !parse_id(colon + 1, &gid)))
		return cli_usage_error(cmd, "--user: \"%s\" is not UID[:GID] (numeric)", arg);
	r->has_user = true;
	r->uid = (uid_t)uid;
	if (colon) {
		r->has_gid = true;
		r->gid = (gid_t)gid;
	}
	return 0;
}

static int add_gid(const vs_command *cmd, const char *arg, vs_exec_request *r)
{
	unsigned long g;
	if (!parse_id(arg, &g))
		return cli_usage_error(cmd, "--additional-gids: \"%s\" is not a gid", arg);
	gid_t *nv = realloc(r->additional_gids, (r->n_additional_gids + 1) * sizeof(gid_t));
	if (!nv)
		return 1;
	r->additional_gids = nv;
	nv[r->n_additional_gids++] = (gid_t)g;
	r->has_additional_gids = true;
	return 0;
}

enum {
	OPT_CWD = 256,
	OPT_NNP,
	OPT_CONSOLE,
	OPT_PID_FILE,
	OPT_PRESERVE,
	OPT_LABEL,
	OPT_APPARMOR,
	OPT_CGROUP,
	OPT_IGNORE_PAUSED,
};

static const struct option options[] = {
	{ "process", required_argument, NULL, 'p' },
	{ "cwd", required_argument, NULL, OPT_CWD },
	{ "env", required_argument, NULL, 'e' },
	{ "user", required_argument, NULL, 'u' },
	{ "additional-gids", required_argument, NULL, 'g' },
	{ "cap", required_argument, NULL, 'c' },
	{ "no-new-privs", no_argument, NULL, OPT_NNP },
	{ "tty", no_argument, NULL, 't' },
	{ "console-socket", required_argument, NULL, OPT_CONSOLE },
	{ "detach", no_argument, NULL, 'd' },
	{ "pid-file", required_argument, NULL, OPT_PID_FILE },
	{ "preserve-fds", required_argument, NULL, OPT_PRESERVE },
	{ "process-label", required_argument, NULL, OPT_LABEL },
	{ "apparmor", required_argument, NULL, OPT_APPARMOR },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "ignore-paused", no_argument, NULL, OPT_IGNORE_PAUSED },
	{ 0 },
};

/* Returns 0, or the exit code of a usage error. */
static int parse(const vs_command *cmd, int argc, char **argv, vs_exec_request *r, bool *detach,
		 strlist *env, strlist *caps, strlist *cgroups, const char **id)
{
	vs_err err = { 0 };
	int c;
	/* '+': options end at the id; what follows is the program's. */
	while ((c = getopt_long(argc, argv, "+p:e:u:g:c:td", options, NULL)) != -1) {
		int rc = 0;
		switch (c) {
		case 'p':
			r->process_file = optarg;
			break;
		case OPT_CWD:
			r->cwd = optarg;
			break;
		case 'e':
			rc = push(env, optarg);
			break;
		case 'u':
			rc = parse_user(cmd, optarg, r);
			break;
		case 'g':
			rc = add_gid(cmd, optarg, r);
			break;
		case 'c':
			rc = push(caps, optarg);
			break;
		case OPT_NNP:
			r->no_new_privs = true;
			break;
		case 't':
			r->tty = true;
			break;
		case OPT_CONSOLE:
			r->console_socket = optarg;
			break;
		case 'd':
			*detach = true;
			break;
		case OPT_PID_FILE:
			r->pid_file = optarg;
			break;
		case OPT_PRESERVE:
			if (cli_parse_preserve_fds(cmd, optarg, &r->preserve_fds) < 0)
				return 1;
			break;
		case OPT_LABEL:
		case OPT_APPARMOR:
			/* Empty means unset (as runc takes it). */
			if (optarg[0]) {
				vs_refuse_option(
					c == OPT_LABEL ? "exec --process-label" : "exec --apparmor",
					c == OPT_LABEL ? "selinuxLabel" : "apparmorProfile", &err);
				return cli_fail(&err);
			}
			break;
		case OPT_CGROUP:
			rc = push(cgroups, optarg);
			break;
		case OPT_IGNORE_PAUSED:
			r->ignore_paused = true;
			break;
		default:
			return cli_usage_error(cmd, "invalid option");
		}
		if (rc)
			return rc;
	}
	if (optind >= argc)
		return cli_usage_error(cmd, "missing container id");
	*id = argv[optind];
	r->args = argv + optind + 1;
	if (r->process_file &&
	    (r->args[0] || r->cwd || env->n || r->has_user || r->has_additional_gids || caps->n))
		return cli_usage_error(cmd, "--process takes the whole process: no ARGS, --cwd, "
					    "--env, --user, --additional-gids or --cap with it");
	r->env = env->v;
	r->caps = caps->v;
	r->cgroups = cgroups->v;
	return 0;
}

static int wait_status(pid_t pid)
{
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, 0);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return 255;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

int cmd_exec(vs_cli *cli, int argc, char **argv)
{
	const vs_command *cmd = cli_find_command("exec");
	vs_exec_request req = { 0 };
	strlist env = { 0 }, caps = { 0 }, cgroups = { 0 };
	bool detach = false;
	const char *id = NULL;
	int rc = parse(cmd, argc, argv, &req, &detach, &env, &caps, &cgroups, &id);
	if (rc)
		goto out;
	/* In the foreground a terminal without --console-socket is ours to relay. */
	req.console_proxy = !detach && !req.console_socket;
	vs_err err = { 0 };
	vs_container *c;
	if (vs_container_open(&cli->rt, id, true, &c, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	pid_t pid;
	int console = -1;
	sigset_t old;
	cli_hold_signals(&old);
	if (vs_container_exec(c, &req, &pid, &console, &err) < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		rc = cli_fail(&err);
		vs_container_close(c);
		goto out;
	}
	vs_container_close(c);
	if (detach) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		rc = 0;
		goto out;
	}
	cli_forward_signals(pid);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (console >= 0) {
		cli_tty_proxy(console, pid);
		close(console);
	}
	rc = wait_status(pid);
out:
	free(env.v);
	free(caps.v);
	free(cgroups.v);
	free(req.additional_gids);
	return rc;
}
