#include "cli/cli.h"

int cmd_create(vs_cli *cli, int argc, char **argv)
{
	const vs_command *cmd = cli_find_command("create");
	vs_create_opts opts;
	const char *id;
	int rc = cli_parse_create_opts(cmd, argc, argv, &opts, NULL, &id);
	if (rc)
		return rc;
	vs_err err = { 0 };
	vs_container *c;
	if (vs_container_create(&cli->rt, id, &opts, &c, &err) < 0)
		return cli_fail(&err);
	vs_container_close(c);
	return 0;
}
