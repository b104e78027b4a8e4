#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"

int cmd_state(vs_cli *cli, int argc, char **argv)
{
	const vs_command *cmd = cli_find_command("state");
	if (getopt(argc, argv, "") != -1)
		return cli_usage_error(cmd, "invalid option");
	const char *id = cli_one_id(cmd, argc, argv, optind);
	if (!id)
		return 1;
	vs_err err = { 0 };
	vs_container *c;
	/* No lock: state.json is replaced atomically, readers never block writers. */
	if (vs_container_open(&cli->rt, id, false, &c, &err) < 0)
		return cli_fail(&err);
	json_object *o = vs_state_to_oci_json(&c->state, vs_container_status(c));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	vs_container_close(c);
	return 0;
}
