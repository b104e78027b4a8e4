#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/sealed_exe.h"
#include "microvm/select.h"
#include "oci/version.h"

static const vs_command commands[] = {
	{ "create", cmd_create, "create a container (everything but running the program)",
	  "vessel create [--bundle DIR] [--pid-file FILE] [--console-socket PATH] [--no-pivot]\n"
	  "              [--no-new-keyring] [--preserve-fds N] ID" },
	{ "start", cmd_start, "run the program of a created container", "vessel start ID" },
	{ "state", cmd_state, "print the state of a container as JSON", "vessel state ID" },
	{ "kill", cmd_kill, "send a signal to a container's init (default SIGTERM)",
	  "vessel kill [--all] ID [SIGNAL]" },
	{ "delete", cmd_delete, "delete a stopped container (--force: any container)",
	  "vessel delete [--force] ID" },
	{ "run", cmd_run, "create and start a container, wait for it and delete it",
	  "vessel run [--bundle DIR] [--detach] [--pid-file FILE] [--console-socket PATH]\n"
	  "           [--no-pivot] [--no-new-keyring] [--preserve-fds N] ID" },
	{ "exec", cmd_exec, "run another process in a live container",
	  "vessel exec [--process FILE] [--cwd DIR] [--env/-e K=V]... [--user/-u UID[:GID]]\n"
	  "            [--additional-gids/-g GID]... [--cap/-c CAP]... [--no-new-privs] "
	  "[--tty/-t]\n"
	  "            [--console-socket PATH] [--detach/-d] [--pid-file FILE] [--preserve-fds N]\n"
	  "            [--cgroup [CTRL[,CTRL]:]SUB]... [--ignore-paused] ID [ARGS...]" },
	{ "list", cmd_list, "list containers", "vessel list [--format table|json] [--quiet]" },
	{ "spec", cmd_spec, "write a default config.json",
	  "vessel spec [--bundle DIR] [--rootless]" },
	{ "features", cmd_features, "print the runtime features JSON", "vessel features" },
	{ "pause", cmd_pause, "freeze every process of a running container", "vessel pause ID" },
	{ "resume", cmd_resume, "thaw a paused container", "vessel resume ID" },
	{ "update", cmd_update, "change the resource limits of a live container",
	  "vessel update [--resources FILE|-] [--memory BYTES] [--memory-swap BYTES]\n"
	  "              [--memory-reservation BYTES] [--cpu-shares N] [--cpu-quota USEC]\n"
	  "              [--cpu-period USEC] [--cpu-rt-period USEC] [--cpu-rt-runtime USEC]\n"
	  "              [--cpuset-cpus LIST] [--cpuset-mems LIST] [--pids-limit N]\n"
	  "              [--blkio-weight N] ID" },
	{ "events", cmd_events, "stream statistics and OOM events as JSON lines (--stats: once)",
	  "vessel events [--interval DURATION] [--stats] ID" },
	{ "ps", cmd_ps, "list the processes of a container",
	  "vessel ps [--format table|json] ID [ps options]" },
	{ "vm", cmd_vm, "boot a KVM microVM from a kernel image; fetch and prepare guest kernels",
	  "vessel vm run --kernel PATH [--initrd PATH] [--cmdline STR] [--cpus N] [--memory MiB]\n"
	  "              [--disk PATH[,ro]] [--rng] [--console stdio|none|FILE] [--console-max BYTES]\n"
	  "              [--net tap=NAME|fd=N[,mac=MAC]] [--vsock PATH[,cid=N]]\n"
	  "              [--fs TAG=DIR[,ro] | --vhost-user-fs TAG=SOCKET] [--virtiofsd PATH]\n"
	  "              [--confine]\n"
	  "exit status: 0 power-off, 80 reset, 81 crash, 82 KVM internal error, 83 stopped,\n"
	  "             84 a device backend failed (virtiofsd),\n"
	  "             or the byte a guest wrote to the debug-exit port 0xf4\n"
	  "vessel vm fetch-kernel [--cache-dir DIR] [--deb FILE]\n"
	  "vessel vm initramfs --agent PATH [--kernel-dir DIR] [--cache-dir DIR]\n"
	  "                    [--initramfs-dir DIR | --output FILE]" },
};

const vs_command *cli_find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int cli_fail(const vs_err *err)
{
	vs_error("%s", err->msg);
	return err->exit_code ? err->exit_code : 1;
}

int cli_usage_error(const vs_command *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vs_error("%s: %s", cmd->name, msg);
	fprintf(stderr, "usage: %s\n", cmd->usage);
	return 1;
}

bool cli_wants_help(const vs_command *cmd, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		/* exec: from the id on, the arguments are the program's. */
		if (cmd->run == cmd_exec && argv[i][0] != '-')
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("%s - %s\n\nusage: %s\n", cmd->name, cmd->summary, cmd->usage);
			return true;
		}
	}
	return false;
}

const char *cli_one_id(const vs_command *cmd, int argc, char **argv, int optind_)
{
	if (optind_ >= argc) {
		cli_usage_error(cmd, "missing container id");
		return NULL;
	}
	if (optind_ + 1 != argc) {
		cli_usage_error(cmd, "unexpected argument \"%s\"", argv[optind_ + 1]);
		return NULL;
	}
	return argv[optind_];
}

/* Commands whose process becomes (or clones) a container process: they run
 * from a sealed copy of vessel (core/sealed_exe.h). */
static bool runs_container_code(const vs_command *cmd)
{
	return cmd->run == cmd_create || cmd->run == cmd_run || cmd->run == cmd_exec;
}

static void usage(FILE *f)
{
	fprintf(f,
		"vessel %s - one lifecycle for containers and KVM microVMs (OCI runtime)\n\n"
		"usage: vessel [global options] COMMAND [options] [ID]\n\n"
		"global options:\n"
		"  --root DIR            state directory (default /run/vessel)\n"
		"  --log FILE            also log to FILE\n"
		"  --log-format FORMAT   text or json (default text)\n"
		"  --debug               log debug messages\n"
		"  --systemd-cgroup      treat cgroupsPath as slice:prefix:name\n"
		"  --version, --help\n\ncommands:\n",
		VS_VERSION);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
	vs_cli cli = { .rt = { .root = "/run/vessel", .vm_default = vs_invoked_as_vm(argv[0]) } };
	char **orig_argv = argv;
	const char *log_path = NULL;
	vs_log_format fmt = VS_LOG_TEXT;
	bool debug = false;

	enum {
		OPT_ROOT = 256,
		OPT_LOG,
		OPT_LOG_FORMAT,
		OPT_DEBUG,
		OPT_SYSTEMD,
		OPT_VERSION,
		OPT_HELP
	};
	static const struct option opts[] = {
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
		{ "debug", no_argument, NULL, OPT_DEBUG },
		{ "systemd-cgroup", no_argument, NULL, OPT_SYSTEMD },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, OPT_HELP },
		{ 0 },
	};
	/* '+': stop at the command name; its own options are parsed by it. */
	int c;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			cli.rt.root = optarg;
			break;
		case OPT_LOG:
			log_path = optarg;
			break;
		case OPT_LOG_FORMAT:
			if (!strcmp(optarg, "json"))
				fmt = VS_LOG_JSON;
			else if (strcmp(optarg, "text")) {
				fprintf(stderr,
					"vessel: --log-format: unknown format \"%s\" (text or "
					"json)\n",
					optarg);
				return 1;
			}
			break;
		case OPT_DEBUG:
			debug = true;
			break;
		case OPT_SYSTEMD:
			cli.rt.systemd_cgroup = true;
			break;
		case 'v':
		case OPT_VERSION:
			printf("vessel version %s\nspec: %s\n", VS_VERSION, VS_OCI_VERSION);
			return 0;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (vs_log_init(log_path, fmt, debug) < 0) {
		perror("vessel: --log");
		return 1;
	}
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	const vs_command *cmd = cli_find_command(argv[optind]);
	if (!cmd) {
		vs_error("unknown command \"%s\" (see vessel --help)", argv[optind]);
		return 1;
	}
	argc -= optind;
	argv += optind;
	if (cli_wants_help(cmd, argc, argv))
		return 0;
	vs_err err = { 0 };
	if (runs_container_code(cmd)) {
		/* The state root is the overlay's spare layer (see sealed_exe.h);
		 * create makes it anyway. */
		vs_mkdir_p(cli.rt.root, 0700, NULL);
		if (vs_reexec_sealed(orig_argv, cli.rt.root, &err) < 0)
			return cli_fail(&err);
	}
	optind = 1; /* reset getopt for the command's own parse */
	int rc = cmd->run(&cli, argc, argv);
	vs_log_close();
	return rc;
}
