#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cli_parse_preserve_fds(const vs_command *cmd, const char *arg, int *out)
{
	char *end;
	long n = strtol(arg, &end, 10);
	if (!arg[0] || *end || n < 0 || n > 4096) {
		cli_usage_error(cmd, "--preserve-fds: \"%s\" is not a count", arg);
		return -1;
	}
	*out = (int)n;
	return 0;
}

int cli_parse_create_opts(const vs_command *cmd, int argc, char **argv, vs_create_opts *o,
			  bool *detach, const char **id)
{
	enum {
		OPT_PID_FILE = 256,
		OPT_CONSOLE,
		OPT_NO_PIVOT,
		OPT_NO_KEYRING,
		OPT_PRESERVE,
		OPT_DETACH
	};
	static const struct option opts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "console-socket", required_argument, NULL, OPT_CONSOLE },
		{ "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
		{ "no-new-keyring", no_argument, NULL, OPT_NO_KEYRING },
		{ "preserve-fds", required_argument, NULL, OPT_PRESERVE },
		{ "detach", no_argument, NULL, 'd' },
		{ 0 },
	};
	memset(o, 0, sizeof(*o));
	o->bundle = ".";
	int c;
	while ((c = getopt_long(argc, argv, detach ? "b:d" : "b:", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->bundle = optarg;
			break;
		case OPT_PID_FILE:
			o->pid_file = optarg;
			break;
		case OPT_CONSOLE:
			o->console_socket = optarg;
			break;
		case OPT_NO_PIVOT:
			o->no_pivot = true;
			break;
		case OPT_NO_KEYRING:
			o->no_new_keyring = true;
			break;
		case OPT_PRESERVE:
			if (cli_parse_preserve_fds(cmd, optarg, &o->preserve_fds) < 0)
				return 1;
			break;
		case 'd':
			if (!detach)
				return cli_usage_error(cmd, "unknown option --detach");
			*detach = true;
			break;
		default:
			return cli_usage_error(cmd, "invalid option");
		}
	}
	*id = cli_one_id(cmd, argc, argv, optind);
	return *id ? 0 : 1;
}
