/* `vessel vm run`: boot a microVM directly from a kernel image and wait for
 * it to power off, reset or crash; the exit status says which. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/log.h"
#include "microvm/initramfs.h"
#include "microvm/kernel.h"
#include "microvm/vmm_seccomp.h"
#include "vm/vm.h"

static vs_vm *running_vm;

static void stop_vm(int sig)
{
	(void)sig;
	if (running_vm)
		vs_vm_stop(running_vm);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

/* --vsock PATH[,cid=N][,connect_timeout=MS][,close_timeout=MS]: the hybrid
 * vsock socket, the guest's CID and how long to wait on the guest. Options
 * are taken from the end, so PATH itself may hold commas. */
static int parse_vsock(char *arg, vs_vm_config *cfg)
{
	uint64_t cid = 3;
	char *comma;
	while ((comma = strrchr(arg, ','))) {
		const char *kv = comma + 1;
		uint32_t *ms = !strncmp(kv, "connect_timeout=", 16) ? &cfg->vsock_connect_timeout_ms
			       : !strncmp(kv, "close_timeout=", 14) ? &cfg->vsock_close_timeout_ms
								    : NULL;
		uint64_t v;
		if (!strncmp(kv, "cid=", 4)) {
			if (parse_u64(kv + 4, &v) < 0 || v < 3 || v >= UINT32_MAX)
				return -1;
			cid = v;
		} else if (ms) {
			if (parse_u64(strchr(kv, '=') + 1, &v) < 0 || v < 1 ||
			    v > VS_VM_VSOCK_MAX_TIMEOUT_MS)
				return -1;
			*ms = (uint32_t)v;
		} else {
			break; /* part of PATH */
		}
		*comma = '\0';
	}
	if (!*arg)
		return -1;
	cfg->vsock_path = arg;
	cfg->vsock_cid = cid;
	return 0;
}

/* --fs TAG=DIR[,ro] and --vhost-user-fs TAG=SOCKET: arg is split in place
 * (TAG, then the rest). */
static int parse_fs(char *arg, bool with_ro, vs_vm_config *cfg)
{
	char *eq = strchr(arg, '=');
	if (!eq || eq == arg || !eq[1])
		return -1;
	*eq = '\0';
	if (strlen(arg) > 36)
		return -1;
	char *rest = eq + 1;
	cfg->fs_tag = arg;
	cfg->fs_readonly = false;
	cfg->fs_dir = cfg->fs_socket = NULL;
	if (!with_ro) {
		cfg->fs_socket = rest;
		return 0;
	}
	char *comma = strrchr(rest, ',');
	if (comma && !strcmp(comma, ",ro")) {
		*comma = '\0';
		cfg->fs_readonly = true;
	}
	if (!*rest)
		return -1;
	cfg->fs_dir = rest;
	return 0;
}

static int vm_run(const vs_command *cmd, int argc, char **argv)
{
	enum {
		O_KERNEL = 256,
		O_INITRD,
		O_CMDLINE,
		O_CPUS,
		O_MEMORY,
		O_DISK,
		O_RNG,
		O_CONSOLE,
		O_NET,
		O_VSOCK,
		O_FS,
		O_VHOST_USER_FS,
		O_VIRTIOFSD,
		O_CONFINE,
		O_CONSOLE_MAX
	};
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "initrd", required_argument, NULL, O_INITRD },
		{ "cmdline", required_argument, NULL, O_CMDLINE },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "memory", required_argument, NULL, O_MEMORY },
		{ "disk", required_argument, NULL, O_DISK },
		{ "rng", no_argument, NULL, O_RNG },
		{ "net", required_argument, NULL, O_NET },
		{ "vsock", required_argument, NULL, O_VSOCK },
		{ "fs", required_argument, NULL, O_FS },
		{ "vhost-user-fs", required_argument, NULL, O_VHOST_USER_FS },
		{ "virtiofsd", required_argument, NULL, O_VIRTIOFSD },
		{ "console", required_argument, NULL, O_CONSOLE },
		{ "confine", no_argument, NULL, O_CONFINE },
		{ "console-max", required_argument, NULL, O_CONSOLE_MAX },
		{ 0 },
	};
	vs_vm_config cfg;
	vs_vm_config_init(&cfg);
	char *disk = NULL, *vsock = NULL, *fs = NULL;
	bool confine = false;
	uint64_t n;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case O_KERNEL:
			cfg.kernel = optarg;
			break;
		case O_INITRD:
			cfg.initrd = optarg;
			break;
		case O_CMDLINE:
			cfg.cmdline = optarg;
			break;
		case O_CPUS:
			if (parse_u64(optarg, &n) < 0 || n < 1 || n > VS_VM_MAX_CPUS)
				return cli_usage_error(cmd, "--cpus: 1 to %d", VS_VM_MAX_CPUS);
			cfg.cpus = (unsigned)n;
			break;
		case O_CONSOLE_MAX:
			if (parse_u64(optarg, &n) < 0 || n < 1)
				return cli_usage_error(cmd, "--console-max: bytes, at least 1");
			cfg.console_max = n;
			break;
		case O_MEMORY:
			if (parse_u64(optarg, &n) < 0 || n < 2)
				return cli_usage_error(cmd, "--memory: MiB, at least 2");
			cfg.memory_mib = n;
			break;
		case O_DISK: {
			free(disk);
			disk = strdup(optarg);
			char *comma = strrchr(disk, ',');
			cfg.disk_readonly = false;
			if (comma && !strcmp(comma, ",ro")) {
				*comma = '\0';
				cfg.disk_readonly = true;
			} else if (comma && !strcmp(comma, ",rw")) {
				*comma = '\0';
			}
			cfg.disk = disk;
			break;
		}
		case O_RNG:
			cfg.rng = true;
			break;
		case O_CONFINE: /* as the microvm backend's monitor: vmm_seccomp.h */
			confine = true;
			break;
		case O_NET: /* parsed by the device (virtio/net.c) */
			cfg.net = optarg;
			break;
		case O_VSOCK:
			free(vsock);
			vsock = strdup(optarg);
			if (parse_vsock(vsock, &cfg) < 0) {
				free(disk);
				free(vsock);
				free(fs);
				return cli_usage_error(
					cmd,
					"--vsock: "
					"PATH[,cid=N][,connect_timeout=MS][,close_timeout=MS], "
					"N from 3 to 4294967294, MS from 1 to 3600000");
			}
			break;
		case O_FS:
		case O_VHOST_USER_FS:
			if (fs) {
				free(disk);
				free(vsock);
				free(fs);
				return cli_usage_error(cmd, "only one --fs or --vhost-user-fs");
			}
			fs = strdup(optarg);
			if (!fs || parse_fs(fs, c == O_FS, &cfg) < 0) {
				free(disk);
				free(vsock);
				free(fs);
				return cli_usage_error(
					cmd, c == O_FS ? "--fs: TAG=DIR[,ro], TAG of 1 to 36 bytes"
						       : "--vhost-user-fs: TAG=SOCKET, TAG of 1 to "
							 "36 bytes");
			}
			break;
		case O_VIRTIOFSD:
			cfg.virtiofsd = optarg;
			break;
		case O_CONSOLE:
			if (!strcmp(optarg, "stdio")) {
				cfg.console = VS_VM_CONSOLE_STDIO;
			} else if (!strcmp(optarg, "none")) {
				cfg.console = VS_VM_CONSOLE_NONE;
			} else {
				cfg.console = VS_VM_CONSOLE_FILE;
				cfg.console_path = optarg;
			}
			break;
		default:
			free(disk);
			free(vsock);
			free(fs);
			return cli_usage_error(cmd, "unknown option");
		}
	}
	if (optind < argc) {
		free(disk);
		free(vsock);
		free(fs);
		return cli_usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);
	}
	if (!cfg.kernel) {
		free(disk);
		free(vsock);
		free(fs);
		return cli_usage_error(cmd, "--kernel is required");
	}

	/* --confine jails the monitor in the vsock PATH's directory (or an
	 * empty one): its connects reach PATH_<port> there and nothing else.
	 * kill() reaches nobody: a virtiofsd is stopped by closing its
	 * connection, and its death signal covers the rest. */
	vs_vmm_confinement jail = { .jail = true };
	char *vsock_dir = NULL;
	vs_err err = { 0 };
	vs_vm *vm = NULL;
	int failed = 0;
	if (confine && cfg.vsock_path) {
		const char *slash = strrchr(cfg.vsock_path, '/');
		vsock_dir = !slash ? strdup(".")
			    : slash == cfg.vsock_path
				    ? strdup("/")
				    : strndup(cfg.vsock_path, (size_t)(slash - cfg.vsock_path));
		if (!vsock_dir)
			failed = vs_fail_errno(&err, "--confine: allocating the jail's path");
		jail.root = vsock_dir;
		cfg.vsock_jailed = true;
	}
	if (failed < 0 || vs_vm_create(&cfg, &vm, &err) < 0 ||
	    (confine && vs_vmm_confine_opts(&jail, &err) < 0)) {
		free(vsock_dir);
		if (vm)
			vs_vm_destroy(vm);
		free(disk);
		free(vsock);
		free(fs);
		return cli_fail(&err);
	}
	/* A terminal on stdin goes raw so keys reach the guest as typed;
	 * Ctrl-C still stops the VM (ISIG kept). */
	struct termios saved;
	bool raw = cfg.console == VS_VM_CONSOLE_STDIO && isatty(STDIN_FILENO) &&
		   tcgetattr(STDIN_FILENO, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		t.c_lflag |= ISIG;
		t.c_oflag |= OPOST | ONLCR;
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	running_vm = vm;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = stop_vm;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	vs_vm_result res;
	int rc = vs_vm_run(vm, &res, &err);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	running_vm = NULL;
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (rc < 0) {
		rc = cli_fail(&err);
	} else {
		rc = vs_vm_exit_status(&res);
		switch (res.reason) {
		case VS_VM_EXIT_POWEROFF:
		case VS_VM_EXIT_GUEST_CODE:
			vs_debug("vm: %s", res.detail);
			break;
		case VS_VM_EXIT_RESET:
		case VS_VM_EXIT_STOPPED:
			vs_info("vm: %s", res.detail);
			break;
		case VS_VM_EXIT_DEVICE:
			vs_error("vm: %s", res.detail);
			break;
		case VS_VM_EXIT_CRASH:
		case VS_VM_EXIT_INTERNAL:
			vs_error("vm: %s (rip 0x%llx)", res.detail, (unsigned long long)res.rip);
			break;
		}
	}
	vs_vm_destroy(vm);
	free(vsock_dir);
	free(disk);
	free(vsock);
	free(fs);
	return rc;
}

/* `vessel vm fetch-kernel [--cache-dir DIR] [--deb FILE]`: prints the
 * cached kernel's directory. */
static int vm_fetch_kernel(const vs_command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cache-dir", required_argument, NULL, 'c' },
		{ "deb", required_argument, NULL, 'd' },
		{ 0 },
	};
	const char *cache = VS_KERNEL_CACHE, *deb = NULL;
	for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
		if (c == 'c')
			cache = optarg;
		else if (c == 'd')
			deb = optarg;
		else
			return cli_usage_error(cmd, "fetch-kernel: invalid option");
	}
	if (optind != argc)
		return cli_usage_error(cmd, "fetch-kernel: unexpected argument \"%s\"",
				       argv[optind]);
	vs_err err = { 0 };
	vs_guest_kernel k;
	if (vs_kernel_fetch(cache, deb, &k, &err) < 0)
		return cli_fail(&err);
	printf("%s\n", k.modules);
	return 0;
}

/* `vessel vm initramfs --agent PATH [--kernel-dir DIR] [--cache-dir DIR]
 * [--initramfs-dir DIR | --output FILE]`: the initramfs create would use
 * (for inspection and tests); prints its path. */
static int vm_initramfs(const vs_command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "kernel-dir", required_argument, NULL, 'k' },
		{ "cache-dir", required_argument, NULL, 'c' },
		{ "initramfs-dir", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ 0 },
	};
	const char *agent = NULL, *kdir = NULL, *cache = VS_KERNEL_CACHE,
		   *idir = VS_INITRAMFS_CACHE, *output = NULL;
	for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
		switch (c) {
		case 'a':
			agent = optarg;
			break;
		case 'k':
			kdir = optarg;
			break;
		case 'c':
			cache = optarg;
			break;
		case 'i':
			idir = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		default:
			return cli_usage_error(cmd, "initramfs: invalid option");
		}
	}
	if (!agent)
		return cli_usage_error(cmd, "initramfs: --agent is required");
	if (optind != argc)
		return cli_usage_error(cmd, "initramfs: unexpected argument \"%s\"", argv[optind]);
	vs_err err = { 0 };
	vs_guest_kernel k;
	char path[4096];
	if ((kdir ? vs_kernel_from_dir(kdir, &k, &err)
		  : vs_kernel_lookup(NULL, NULL, cache, &k, &err)) < 0)
		return cli_fail(&err);
	if (output ? vs_initramfs_write(agent, &k, output, &err)
		   : vs_initramfs_get(agent, &k, idir, path, sizeof(path), &err))
		return cli_fail(&err);
	printf("%s\n", output ? output : path);
	return 0;
}

int cmd_vm(vs_cli *cli, int argc, char **argv)
{
	(void)cli;
	const vs_command *cmd = cli_find_command("vm");
	if (argc < 2)
		return cli_usage_error(cmd, "missing subcommand (run, fetch-kernel, initramfs)");
	if (!strcmp(argv[1], "run"))
		return vm_run(cmd, argc - 1, argv + 1);
	if (!strcmp(argv[1], "fetch-kernel"))
		return vm_fetch_kernel(cmd, argc - 1, argv + 1);
	if (!strcmp(argv[1], "initramfs"))
		return vm_initramfs(cmd, argc - 1, argv + 1);
	return cli_usage_error(cmd, "unknown subcommand \"%s\"", argv[1]);
}
