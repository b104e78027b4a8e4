#include <errno.h>
#include <getopt.h>
#include <limits.h>

#include "cli/cli.h"
#include "core/fs.h"

int cmd_delete(vs_cli *cli, int argc, char **argv)
{
	const vs_command *cmd = cli_find_command("delete");
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { 0 } };
	bool force = false;
	int c;
	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (c != 'f')
			return cli_usage_error(cmd, "invalid option");
		force = true;
	}
	const char *id = cli_one_id(cmd, argc, argv, optind);
	if (!id)
		return 1;
	vs_err err = { 0 };
	vs_container *ct;
	if (vs_container_open(&cli->rt, id, true, &ct, &err) < 0) {
		/* Like runc: --force on a container that does not exist, or whose
		 * create died before writing any state (so made nothing else),
		 * succeeds. A corrupt state is an error: removing it would orphan
		 * the processes and cgroups it names. */
		char dir[PATH_MAX];
		if (force && err.errnum == ENOENT && vs_validate_id(id, NULL) == 0 &&
		    vs_path_join(dir, sizeof(dir), cli->rt.root, id, NULL) == 0) {
			vs_err e2 = { 0 };
			if (vs_remove_tree(dir, &e2) < 0)
				return cli_fail(&e2);
			return 0;
		}
		return cli_fail(&err);
	}
	int rc = vs_container_delete(ct, force, &err) < 0 ? cli_fail(&err) : 0;
	vs_container_close(ct);
	return rc;
}
