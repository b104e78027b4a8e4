#include <getopt.h>

#include "cli/cli.h"
#include "lifecycle/control.h"

int cmd_resume(vs_cli *cli, int argc, char **argv)
{
	const vs_command *cmd = cli_find_command("resume");
	if (getopt(argc, argv, "") != -1)
		return cli_usage_error(cmd, "invalid option");
	const char *id = cli_one_id(cmd, argc, argv, optind);
	if (!id)
		return 1;
	vs_err err = { 0 };
	vs_container *c;
	if (vs_container_open(&cli->rt, id, true, &c, &err) < 0)
		return cli_fail(&err);
	int rc = vs_container_resume(c, &err) < 0 ? cli_fail(&err) : 0;
	vs_container_close(c);
	return rc;
}
