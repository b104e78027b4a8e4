#include <stdio.h>
#include <unistd.h>

#include "cli/cli.h"
#include "oci/spec.h"

int cmd_features(vs_cli *cli, int argc, char **argv)
{
	(void)cli;
	if (argc > 1)
		return cli_usage_error(cli_find_command("features"), "unexpected argument \"%s\"",
				       argv[1]);
	json_object *o = vs_features();
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}
