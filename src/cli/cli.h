/* The command-line front end: argument parsing and printing only; every
 * action is a libvessel call. */
#ifndef VESSEL_CLI_H
#define VESSEL_CLI_H

#include <stdbool.h>

#include "core/error.h"
#include "lifecycle/container.h"

typedef struct vs_cli {
	vs_runtime rt;
} vs_cli;

typedef struct vs_command {
	const char *name;
	int (*run)(vs_cli *cli, int argc, char **argv);
	const char *summary;
	const char *usage; /* printed by --help and on a usage error */
} vs_command;

/* Each command lives in its own file. */
int cmd_create(vs_cli *cli, int argc, char **argv);
int cmd_start(vs_cli *cli, int argc, char **argv);
int cmd_state(vs_cli *cli, int argc, char **argv);
int cmd_kill(vs_cli *cli, int argc, char **argv);
int cmd_delete(vs_cli *cli, int argc, char **argv);
int cmd_run(vs_cli *cli, int argc, char **argv);
int cmd_list(vs_cli *cli, int argc, char **argv);
int cmd_spec(vs_cli *cli, int argc, char **argv);
int cmd_features(vs_cli *cli, int argc, char **argv);
int cmd_pause(vs_cli *cli, int argc, char **argv);
int cmd_resume(vs_cli *cli, int argc, char **argv);
int cmd_update(vs_cli *cli, int argc, char **argv);
int cmd_events(vs_cli *cli, int argc, char **argv);
int cmd_ps(vs_cli *cli, int argc, char **argv);
int cmd_vm(vs_cli *cli, int argc, char **argv);
int cmd_exec(vs_cli *cli, int argc, char **argv);

/* tty_proxy.c: relay our stdio to a pty master until pid exits (raw mode on
 * our terminal meanwhile, its size followed). */
#include <sys/types.h>
int cli_tty_proxy(int master, pid_t pid);

/* run.c: while we wait, signals meant for pid go to it (runc does this).
 * cli_hold_signals blocks them until the pid is known (restore the old mask
 * after cli_forward_signals: what arrived meanwhile is forwarded then). */
#include <signal.h>
void cli_hold_signals(sigset_t *old);
void cli_forward_signals(pid_t pid);

const vs_command *cli_find_command(const char *name);

/* The shape of start/pause/resume/state: no options, one id, open the
 * container (locked or not), run op on it, report its error. */
int cli_container_op(vs_cli *cli, const char *name, int argc, char **argv, bool lock,
		     int (*op)(vs_container *c, vs_err *err));

/* --format table|json; a usage error (returned nonzero) for anything else. */
int cli_parse_format(const vs_command *cmd, const char *arg, bool *json);

/* Print the error (stderr and log) and return its exit code. */
int cli_fail(const vs_err *err);
/* A usage problem in a command: message + usage; returns 1, as runc exits. */
int cli_usage_error(const vs_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* True (and usage printed) if argv has -h/--help. */
bool cli_wants_help(const vs_command *cmd, int argc, char **argv);
/* Exactly one positional argument (the container id) after options. */
const char *cli_one_id(const vs_command *cmd, int argc, char **argv, int optind_);

/* Shared by create and run: the options both accept. */
#include "lifecycle/backend.h"
/* --preserve-fds N (create, run, exec): 0..4096; a usage error otherwise. */
int cli_parse_preserve_fds(const vs_command *cmd, const char *arg, int *out);
int cli_parse_create_opts(const vs_command *cmd, int argc, char **argv, vs_create_opts *opts,
			  bool *detach, const char **id);

#endif
