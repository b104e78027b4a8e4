#include <signal.h>
#include <string.h>

#include "cli/cli.h"
#include "core/log.h"

static volatile pid_t forward_pid;

static void forward_signal(int sig)
{
	if (forward_pid > 0)
		kill(forward_pid, sig);
}

/* While we wait, signals meant for the workload go to it (runc does this). */
static void install_forwarding(pid_t pid)
{
	static const int sigs[] = { SIGHUP,  SIGINT,  SIGQUIT,	SIGTERM,
				    SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT };
	forward_pid = pid;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_signal;
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

int cmd_run(vs_cli *cli, int argc, char **argv)
{
	const vs_command *cmd = cli_find_command("run");
	vs_create_opts opts;
	const char *id;
	bool detach = false;
	int rc = cli_parse_create_opts(cmd, argc, argv, &opts, &detach, &id);
	if (rc)
		return rc;
	vs_err err = { 0 };
	vs_container *c;
	if (vs_container_create(&cli->rt, id, &opts, &c, &err) < 0)
		return cli_fail(&err);
	if (vs_container_start(c, &err) < 0) {
		rc = cli_fail(&err);
		vs_err e2 = { 0 };
		if (vs_container_delete(c, true, &e2) < 0)
			vs_warn("%s", e2.msg);
		vs_container_close(c);
		return rc;
	}
	if (detach) {
		vs_container_close(c);
		return 0;
	}
	install_forwarding(c->state.pid);
	vs_container_unlock(c);
	rc = vs_container_wait(c, &err);
	if (rc < 0)
		rc = cli_fail(&err);
	/* Someone may have deleted it meanwhile (delete --force): then we are done. */
	vs_err lerr = { 0 };
	if (vs_container_lock(c, &lerr) == 0 && vs_container_delete(c, true, &err) < 0)
		vs_warn("%s", err.msg);
	vs_container_close(c);
	return rc;
}
