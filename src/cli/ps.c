#include <errno.h>
#include <getopt.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lifecycle/control.h"

extern char **environ;

static bool has_pid(const pid_t *pids, size_t n, long p)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == p)
			return true;
	return false;
}

/* As runc: run ps(1) with the given options (default -ef) and keep the
 * header plus the lines whose PID column is one of the container's. */
static int ps_table(const pid_t *pids, size_t n, int argc, char **argv, vs_err *err)
{
	char **args = calloc((size_t)argc + 3, sizeof(char *));
	if (!args)
		return vs_fail(err, ENOMEM, "ps");
	int k = 0;
	args[k++] = "ps";
	if (argc == 0)
		args[k++] = "-ef";
	for (int i = 0; i < argc; i++)
		args[k++] = argv[i];
	int fds[2];
	if (pipe(fds) < 0) {
		free(args);
		return vs_fail_errno(err, "pipe");
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	pid_t child;
	int rc = posix_spawnp(&child, "ps", &fa, NULL, args, environ);
	posix_spawn_file_actions_destroy(&fa);
	free(args);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		return vs_fail(err, rc, "ps: run ps(1)");
	}
	FILE *in = fdopen(fds[0], "r");
	char *line = NULL;
	size_t cap = 0;
	int pid_col = -1;
	for (ssize_t len; in && (len = getline(&line, &cap, in)) >= 0;) {
		if (pid_col < 0) {
			/* The header: find the PID column. */
			int col = 0;
			for (char *t = line; *t;) {
				t += strspn(t, " \t");
				size_t w = strcspn(t, " \t\n");
				if (w == 3 && !strncmp(t, "PID", 3))
					pid_col = col;
				col++;
				t += w;
				if (*t == '\n')
					break;
			}
			fputs(line, stdout);
			if (pid_col < 0) {
				rc = -1;
				break;
			}
			continue;
		}
		char *t = line;
		for (int col = 0; col < pid_col; col++) {
			t += strspn(t, " \t");
			t += strcspn(t, " \t\n");
		}
		if (has_pid(pids, n, strtol(t, NULL, 10)))
			fputs(line, stdout);
	}
	free(line);
	if (in)
		fclose(in);
	int st = 0;
	waitpid(child, &st, 0);
	if (rc < 0)
		return vs_fail(err, 0, "ps: ps(1) output has no PID column");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return vs_fail(err, 0, "ps: ps(1) failed");
	return 0;
}

int cmd_ps(vs_cli *cli, int argc, char **argv)
{
	const vs_command *cmd = cli_find_command("ps");
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' }, { 0 } };
	bool json = false;
	int c;
	/* '+': options after the id belong to ps(1). */
	while ((c = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
		if (c == 'f') {
			if (cli_parse_format(cmd, optarg, &json))
				return 1;
		} else
			return cli_usage_error(cmd, "invalid option");
	}
	if (optind >= argc)
		return cli_usage_error(cmd, "missing container id");
	const char *id = argv[optind];
	int nextra = argc - optind - 1;
	char **extra = argv + optind + 1;
	if (nextra && !strcmp(extra[0], "--")) {
		extra++;
		nextra--;
	}
	if (json && nextra)
		return cli_usage_error(cmd, "ps options cannot be used with --format json");
	vs_err err = { 0 };
	vs_container *ct;
	if (vs_container_open(&cli->rt, id, false, &ct, &err) < 0)
		return cli_fail(&err);
	pid_t *pids = NULL;
	size_t n = 0;
	int rc = vs_container_pids(ct, &pids, &n, &err);
	vs_container_close(ct);
	if (rc < 0)
		return cli_fail(&err);
	if (json) {
		json_object *a = json_object_new_array();
		for (size_t i = 0; i < n; i++)
			json_object_array_add(a, json_object_new_int(pids[i]));
		printf("%s\n", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
		json_object_put(a);
	} else if (ps_table(pids, n, nextra, extra, &err) < 0) {
		rc = cli_fail(&err);
	}
	free(pids);
	return rc < 0 ? 1 : rc;
}
