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
static const int forwarded[] = { SIGHUP,  SIGINT,  SIGQUIT,  SIGTERM,
				 SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT };

void cli_hold_signals(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

void cli_forward_signals(pid_t pid)
{
	const int *sigs = forwarded;
	forward_pid = pid;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_signal;
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
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
	/* In the foreground a terminal without --console-socket is ours to relay. */
	opts.console_proxy = !detach && !opts.console_socket;
	vs_err err = { 0 };
	vs_container *c;
	if (vs_container_create(&cli->rt, id, &opts, &c, &err) < 0)
		return cli_fail(&err);
	/* A signal that comes once the program runs, before we forward, is
	 * held and forwarded then (the init was cloned with our old mask). */
	sigset_t old;
	cli_hold_signals(&old);
	if (vs_container_start(c, &err) < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		rc = cli_fail(&err);
		vs_err e2 = { 0 };
		if (vs_container_delete(c, true, &e2) < 0)
			vs_warn("%s", e2.msg);
		vs_container_close(c);
		return rc;
	}
	if (detach) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		vs_container_close(c);
		return 0;
	}
	cli_forward_signals(c->signal_pid > 0 ? c->signal_pid : c->state.pid);
	sigprocmask(SIG_SETMASK, &old, NULL);
	vs_container_unlock(c);
	if (c->console_fd >= 0)
		cli_tty_proxy(c->console_fd, c->state.pid);
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
