#include <getopt.h>
#include <string.h>

#include "cli/cli.h"

int cli_container_op(vs_cli *cli, const char *name, int argc, char **argv, bool lock,
		     int (*op)(vs_container *c, vs_err *err))
{
	const vs_command *cmd = cli_find_command(name);
	if (getopt(argc, argv, "") != -1)
		return cli_usage_error(cmd, "invalid option");
	const char *id = cli_one_id(cmd, argc, argv, optind);
	if (!id)
		return 1;
	vs_err err = { 0 };
	vs_container *c;
	if (vs_container_open(&cli->rt, id, lock, &c, &err) < 0)
		return cli_fail(&err);
	int rc = op(c, &err) < 0 ? cli_fail(&err) : 0;
	vs_container_close(c);
	return rc;
}

int cli_parse_format(const vs_command *cmd, const char *arg, bool *json)
{
	if (!strcmp(arg, "json") || !strcmp(arg, "table")) {
		*json = arg[0] == 'j';
		return 0;
	}
	return cli_usage_error(cmd, "--format: unknown format \"%s\" (table or json)", arg);
}
