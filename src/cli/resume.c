#include "cli/cli.h"
#include "lifecycle/control.h"

int cmd_resume(vs_cli *cli, int argc, char **argv)
{
	return cli_container_op(cli, "resume", argc, argv, true, vs_container_resume);
}
