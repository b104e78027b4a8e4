#include <stdio.h>

#include "cli/cli.h"

static int print_state(vs_container *c, vs_err *err)
{
	(void)err;
	json_object *o = vs_state_to_oci_json(&c->state, vs_container_status(c));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}

int cmd_state(vs_cli *cli, int argc, char **argv)
{
	/* No lock: state.json is replaced atomically, readers never block writers. */
	return cli_container_op(cli, "state", argc, argv, false, print_state);
}
