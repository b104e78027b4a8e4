#include "cli/cli.h"

int cmd_start(vs_cli *cli, int argc, char **argv)
{
	return cli_container_op(cli, "start", argc, argv, true, vs_container_start);
}
