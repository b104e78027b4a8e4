#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/fs.h"
#include "oci/spec.h"

int cmd_spec(vs_cli *cli, int argc, char **argv)
{
	(void)cli;
	const vs_command *cmd = cli_find_command("spec");
	static const struct option opts[] = { { "bundle", required_argument, NULL, 'b' },
					      { "rootless", no_argument, NULL, 'r' },
					      { 0 } };
	const char *bundle = ".";
	bool rootless = false;
	int c;
	while ((c = getopt_long(argc, argv, "b:", opts, NULL)) != -1) {
		if (c == 'b')
			bundle = optarg;
		else if (c == 'r')
			rootless = true;
		else
			return cli_usage_error(cmd, "invalid option");
	}
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);
	vs_err err = { 0 };
	char path[PATH_MAX];
	if (vs_path_join(path, sizeof(path), bundle, "config.json", &err) < 0)
		return cli_fail(&err);
	if (access(path, F_OK) == 0) {
		vs_fail(&err, 0, "spec: %s already exists; remove it first", path);
		return cli_fail(&err);
	}
	json_object *o = vs_spec_default(rootless);
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								  JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = vs_write_file(path, s, strlen(s), 0644, &err) < 0 ? cli_fail(&err) : 0;
	json_object_put(o);
	return rc;
}
