#include "cli/cli.h"
#include "lifecycle/control.h"

int cmd_pause(vs_cli *cli, int argc, char **argv)
{
	return cli_container_op(cli, "pause", argc, argv, true, vs_container_pause);
}
