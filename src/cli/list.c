#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cmd_list(vs_cli *cli, int argc, char **argv)
{
	const vs_command *cmd = cli_find_command("list");
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					      { "quiet", no_argument, NULL, 'q' },
					      { 0 } };
	bool json = false, quiet = false;
	int c;
	while ((c = getopt_long(argc, argv, "f:q", opts, NULL)) != -1) {
		if (c == 'q')
			quiet = true;
		else if (c == 'f') {
			if (cli_parse_format(cmd, optarg, &json))
				return 1;
		} else
			return cli_usage_error(cmd, "invalid option");
	}
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);
	vs_err err = { 0 };
	char **ids;
	if (vs_container_list_ids(&cli->rt, &ids, &err) < 0)
		return cli_fail(&err);
	json_object *arr = json_object_new_array();
	if (!json && !quiet)
		printf("%-20s %-8s %-10s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE",
		       "CREATED", "OWNER");
	for (char **id = ids; *id; id++) {
		vs_container *ct;
		vs_err e2 = { 0 };
		/* A container being created or deleted right now has no state yet: skip it. */
		if (vs_container_open(&cli->rt, *id, false, &ct, &e2) < 0) {
			free(*id);
			continue;
		}
		vs_status s = vs_container_status(ct);
		int pid = s == VS_STATUS_STOPPED ? 0 : ct->state.pid;
		char obuf[32];
		const char *owner = vs_owner_name(ct->state.owner, obuf, sizeof(obuf));
		if (json) {
			json_object_array_add(arr, vs_state_to_oci_json(&ct->state, s));
		} else if (quiet) {
			printf("%s\n", *id);
		} else {
			printf("%-20s %-8d %-10s %-40s %-31s %s\n", *id, pid, vs_status_name(s),
			       ct->state.bundle, ct->state.created ? ct->state.created : "", owner);
		}
		vs_container_close(ct);
		free(*id);
	}
	free(ids);
	if (json)
		printf("%s\n",
		       json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	return 0;
}
