#include <ctype.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{ "HUP", SIGHUP },	 { "INT", SIGINT },   { "QUIT", SIGQUIT },     { "ILL", SIGILL },
	{ "TRAP", SIGTRAP },	 { "ABRT", SIGABRT }, { "IOT", SIGIOT },       { "BUS", SIGBUS },
	{ "FPE", SIGFPE },	 { "KILL", SIGKILL }, { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 },	 { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },     { "TERM", SIGTERM },
	{ "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },     { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP },	 { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },     { "URG", SIGURG },
	{ "XCPU", SIGXCPU },	 { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
	{ "WINCH", SIGWINCH },	 { "IO", SIGIO },     { "PWR", SIGPWR },       { "SYS", SIGSYS },
};

/* "KILL", "SIGKILL", "sigkill", "9", "RTMIN+3" -> signal number, -1 if invalid. */
static int parse_signal(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (*s && !*end)
		return n > 0 && n < NSIG ? (int)n : -1;
	char up[32];
	size_t i;
	for (i = 0; s[i] && i < sizeof(up) - 1; i++)
		up[i] = (char)toupper((unsigned char)s[i]);
	up[i] = '\0';
	const char *name = strncmp(up, "SIG", 3) ? up : up + 3;
	for (size_t j = 0; j < sizeof(signals) / sizeof(signals[0]); j++)
		if (!strcmp(signals[j].name, name))
			return signals[j].sig;
	if (!strncmp(name, "RTMIN+", 6)) {
		n = strtol(name + 6, &end, 10);
		if (!*end && n >= 0 && SIGRTMIN + n <= SIGRTMAX)
			return SIGRTMIN + (int)n;
	}
	return -1;
}

int cmd_kill(vs_cli *cli, int argc, char **argv)
{
	const vs_command *cmd = cli_find_command("kill");
	static const struct option opts[] = { { "all", no_argument, NULL, 'a' }, { 0 } };
	bool all = false;
	int c;
	while ((c = getopt_long(argc, argv, "a", opts, NULL)) != -1) {
		if (c != 'a')
			return cli_usage_error(cmd, "invalid option");
		all = true;
	}
	if (optind >= argc)
		return cli_usage_error(cmd, "missing container id");
	if (argc - optind > 2)
		return cli_usage_error(cmd, "unexpected argument \"%s\"", argv[optind + 2]);
	const char *id = argv[optind];
	int sig = SIGTERM;
	if (argc - optind == 2 && (sig = parse_signal(argv[optind + 1])) < 0)
		return cli_usage_error(cmd, "unknown signal \"%s\"", argv[optind + 1]);
	vs_err err = { 0 };
	vs_container *ct;
	if (vs_container_open(&cli->rt, id, true, &ct, &err) < 0)
		return cli_fail(&err);
	int rc = vs_container_kill(ct, sig, all, &err) < 0 ? cli_fail(&err) : 0;
	vs_container_close(ct);
	return rc;
}
