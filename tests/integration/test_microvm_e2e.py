"""End-to-end: podman runs workloads as microVMs through vessel
(docs/microvm.md "End-to-end tests"): output and exit codes, exec (and an
exec whose relay is SIGKILLed), kill and stop, the memory limit as the guest's RAM (OOM inside the guest), a
volume written on both sides, the network (a listener in the test, podman
-p), and selection by the name vessel-vm.

They need a host whose KVM has hardware virtualization (vmx or svm in
/proc/cpuinfo) and a cached guest kernel (`vessel vm fetch-kernel`); they
skip elsewhere, saying which was missing. vessel's release binary (VESSEL)
and the agent installed by `make install` are used;
tests/e2e/microvm.sh sets all of it up on a fresh Debian 12 host."""
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.request
import uuid

import pytest

from conftest import VESSEL, make_rootfs

KERNEL_CACHE = "/var/cache/vessel/kernels"  # VS_KERNEL_CACHE
CONFIG_FILE = "/etc/vessel/config.json"  # VS_CONFIG_FILE
AGENT = "/usr/local/libexec/vessel/vessel-agent"  # VS_AGENT_PATH, from make install
LIMITS = ["--ulimit", "nofile=10000:10000", "--ulimit", "nproc=4000:4000"]
MICROVM = ["--annotation", "io.vessel.backend=microvm"]
IMAGE = "localhost/vessel-e2e-busybox"
NO_VTX = "no VT-x/AMD-V (vmx/svm) in /proc/cpuinfo"
NO_KERNEL = "no guest kernel cached: run vessel vm fetch-kernel"


def has_hw_virt():
    with open("/proc/cpuinfo") as f:
        return any(w in ("vmx", "svm") for line in f if line.startswith("flags")
                   for w in line.split())


def cached_kernels():
    """Versions in the kernel cache (what `vessel vm fetch-kernel` keeps)."""
    try:
        names = os.listdir(KERNEL_CACHE)
    except OSError:
        return []
    return sorted(n for n in names if os.path.isfile(os.path.join(KERNEL_CACHE, n, "vmlinuz")))


def configured_kernel():
    """vm.kernel of vessel's config file, when it names a file."""
    try:
        with open(CONFIG_FILE) as f:
            k = json.load(f).get("vm", {}).get("kernel")
    except (OSError, ValueError, AttributeError):
        return None
    return k if isinstance(k, str) and os.path.isfile(k) else None


def skip_reason():
    if not has_hw_virt():
        return NO_VTX
    if not cached_kernels() and not configured_kernel():
        return NO_KERNEL
    if shutil.which("podman") is None:
        return "podman is not installed"
    return None


SKIP = skip_reason()
pytestmark = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")


def host_boot_id():
    with open("/proc/sys/kernel/random/boot_id") as f:
        return f.read().strip()


# Printed by a workload: a guest has its own kernel, so its own boot id; a
# container shares the host's.
BOOT_ID = "cat /proc/sys/kernel/random/boot_id"


# podman's working directory: conmon writes a file named "oom" into it when
# it sees the container's cgroup OOM, which must not land in the checkout.
WORKDIR = tempfile.mkdtemp(prefix="vessel-e2e-")
atexit.register(shutil.rmtree, WORKDIR, True)


def podman(*args, runtime=VESSEL, timeout=120):
    return subprocess.run(["podman", "--runtime", runtime] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, cwd=WORKDIR)


def ok(p):
    assert p.returncode == 0, (p.args, p.returncode, p.stdout, p.stderr)
    return p.stdout


@pytest.fixture(autouse=True)
def installed():
    if not os.access(AGENT, os.X_OK):
        pytest.fail(f"{AGENT} is missing: run `make install` (the initramfs packs it)")
    if not os.access(VESSEL, os.X_OK):
        pytest.fail(f"{VESSEL} is missing: run `make all`")


@pytest.fixture
def rootfs(tmp_path):
    path = str(tmp_path / "rootfs")
    make_rootfs(path)
    return path


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """The busybox rootfs as a podman image (podman import: no registry)."""
    d = tmp_path_factory.mktemp("image")
    make_rootfs(str(d / "rootfs"))
    tar = str(d / "rootfs.tar")
    with tarfile.open(tar, "w") as t:
        t.add(str(d / "rootfs"), arcname=".")
    ok(podman("import", tar, IMAGE))
    yield IMAGE
    podman("rmi", "-f", IMAGE)


@pytest.fixture
def containers():
    """Names of containers to remove whatever happens; each test's own."""
    made = []

    def name():
        n = "vessel-e2e-" + uuid.uuid4().hex[:10]
        made.append(n)
        return n

    yield name
    for n in made:
        podman("rm", "-f", "-t", "0", n)


def vm_run(source, *cmd, opts=(), network="none", runtime=VESSEL, annotate=True):
    """podman run --rm of a microvm workload from a rootfs dir or an image."""
    net = ["--network", network] if network else []
    src = ["--rootfs", source] if source.startswith("/") else [source]
    return podman("run", "--rm", *LIMITS, *net, *(MICROVM if annotate else ()), *opts, *src,
                  *cmd, runtime=runtime)


def vm_detached(name, source, *cmd, opts=(), network="none"):
    net = ["--network", network] if network else []
    src = ["--rootfs", source] if source.startswith("/") else [source]
    ok(podman("run", "-d", "--name", name, *LIMITS, *net, *MICROVM, *opts, *src, *cmd))
    return name


def with_id(cid):
    """Live processes whose command line names the container (conmon,
    vessel's relays, the monitor, virtiofsd)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if cid.encode() in f.read():
                    found.append(int(d))
        except OSError:
            pass
    return found


def wait_for(cond, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def full_id(name):
    return ok(podman("inspect", "--format", "{{.Id}}", name)).strip()


# ---- run: output, exit code, its own kernel ---------------------------------------

@pytest.mark.parametrize("source", ["rootfs", "image"])
def test_run_output_exit_code_and_its_own_kernel(request, source):
    src = request.getfixturevalue(source)
    p = vm_run(src, "/bin/sh", "-c", f"echo hello; echo oops >&2; {BOOT_ID}; uname -r; exit 7")
    assert p.returncode == 7, p.stderr
    hello, boot_id, release = p.stdout.splitlines()
    assert hello == "hello"
    assert "oops" in p.stderr
    assert boot_id != host_boot_id()
    # The cache's kernel (vm.kernel of the config file would win).
    kernels = cached_kernels()
    if kernels and not configured_kernel():
        assert release in kernels, (release, kernels)


def test_exit_by_signal_is_128_plus_it(rootfs):
    p = vm_run(rootfs, "/bin/sh", "-c", "kill -9 $$")
    assert p.returncode == 137, p.stderr


def test_process_fields_reach_the_guest(rootfs):
    p = vm_run(rootfs, "/bin/sh", "-c", "id -u; id -g; pwd; echo $E; hostname",
               opts=["--user", "1000:100", "--workdir", "/tmp", "--env", "E=x y",
                     "--hostname", "vm-host"])
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["1000", "100", "/tmp", "x y", "vm-host"]


def test_stdin_reaches_the_guest(rootfs):
    cmd = ["podman", "--runtime", VESSEL, "run", "--rm", "-i", *LIMITS, "--network", "none",
           *MICROVM, "--rootfs", rootfs, "/bin/sh", "-c", "wc -c"]
    p = subprocess.run(cmd, input=b"x" * 100000, capture_output=True, timeout=120, cwd=WORKDIR)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [b"100000"]


# ---- exec, kill, stop --------------------------------------------------------------

def test_exec_runs_in_the_guest(rootfs, containers):
    n = vm_detached(containers(), rootfs, "/bin/sh", "-c", f"{BOOT_ID} > /tmp/boot; sleep 1000")
    p = podman("exec", "-e", "X=1", "-w", "/tmp", n, "/bin/sh", "-c",
               f"echo $X; pwd; {BOOT_ID}; cat /tmp/boot; exit 4")
    assert p.returncode == 4, p.stderr
    x, cwd, exec_boot, init_boot = p.stdout.splitlines()
    assert (x, cwd) == ("1", "/tmp")
    # Same guest as the workload, not the host.
    assert exec_boot == init_boot != host_boot_id()
    p = podman("exec", "-t", n, "/bin/sh", "-c", "[ -t 1 ] && echo is-a-tty")
    assert p.returncode == 0, p.stderr
    assert "is-a-tty" in p.stdout


def vessel_execs(cid):
    """Host pids of vessel processes exec'ing into the container: `vessel
    exec` and its relay (a fork with the same command line)."""
    pids = []
    for pid in with_id(cid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if os.path.basename(argv[0]) in (b"vessel", b"vessel-vm") and b"exec" in argv:
            pids.append(pid)
    return pids


def guest_ps(name):
    return ok(podman("exec", name, "ps", "-o", "pid,args"))


def test_exec_ends_when_its_relay_is_sigkilled(rootfs, containers):
    # SIGKILL cannot be forwarded into the guest: the relay just dies, its
    # connection to the agent closes, and the agent ends the exec'd process.
    n = vm_detached(containers(), rootfs, "/bin/sleep", "1000")
    cid = full_id(n)
    bg = subprocess.Popen(["podman", "--runtime", VESSEL, "exec", n, "/bin/sleep", "1001"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, cwd=WORKDIR)
    try:
        assert wait_for(lambda: "sleep 1001" in guest_ps(n)), guest_ps(n)
        relays = vessel_execs(cid)
        assert relays
        for pid in relays:
            os.kill(pid, signal.SIGKILL)
        assert wait_for(lambda: "sleep 1001" not in guest_ps(n)), guest_ps(n)
        assert "sleep 1000" in guest_ps(n)
    finally:
        bg.kill()
        bg.wait()


def test_stop_sends_term_to_the_guest_program(rootfs, containers):
    n = vm_detached(containers(), rootfs, "/bin/sh", "-c",
                    "trap 'exit 3' TERM; while :; do sleep 0.1; done")
    assert ok(podman("inspect", "--format", "{{.State.Status}}", n)).strip() == "running"
    ok(podman("stop", "-t", "30", n))
    st = ok(podman("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", n))
    assert st.split() == ["exited", "3"]


def test_kill_ends_the_vm_and_rm_leaves_nothing(rootfs, containers):
    n = vm_detached(containers(), rootfs, "/bin/sleep", "1000")
    cid = full_id(n)
    ok(podman("kill", n))
    assert ok(podman("wait", n)).strip() == "137"
    ok(podman("rm", n))
    # No monitor, virtiofsd, relay or conmon of it is left.
    assert wait_for(lambda: not with_id(cid)), with_id(cid)


# ---- memory ------------------------------------------------------------------------

def meminfo_kib(text, key):
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{key} not in {text!r}")


# A shell variable as large as the argument, filled with bytes (in the
# shell's own memory, which the guest kernel's OOM killer then picks).
def hog(mib):
    return f"x=$(head -c {mib}m /dev/zero | tr '\\0' x); echo survived ${{#x}}"


def test_memory_limit_is_the_guests_ram(rootfs):
    # 256 MiB limit: guest RAM is the limit minus the monitor's 8 MiB.
    p = vm_run(rootfs, "/bin/sh", "-c", f"cat /proc/meminfo; {hog(32)}", opts=["--memory", "256m"])
    assert p.returncode == 0, p.stderr
    total = meminfo_kib(p.stdout, "MemTotal")
    assert 128 * 1024 < total <= 248 * 1024, total
    assert f"survived {32 << 20}" in p.stdout


def test_over_the_limit_is_oom_killed_inside_the_guest(rootfs):
    # A child over the guest's RAM is OOM-killed by the guest's kernel
    # (its /proc/vmstat counts it) while the VM and the workload go on.
    p = vm_run(rootfs, "/bin/sh", "-c",
               f"({hog(400)}); echo child=$?; grep '^oom_kill ' /proc/vmstat",
               opts=["--memory", "256m"])
    assert p.returncode == 0, p.stderr
    assert "survived" not in p.stdout
    assert "child=137" in p.stdout, p.stdout
    assert int(p.stdout.split("oom_kill ")[1].split()[0]) >= 1


def test_workload_over_the_limit_exits_137(rootfs):
    p = vm_run(rootfs, "/bin/sh", "-c", hog(400), opts=["--memory", "256m"])
    assert p.returncode == 137, (p.stdout, p.stderr)
    assert "survived" not in p.stdout


# ---- a volume written on both sides -----------------------------------------------

def test_volume_written_on_both_sides(rootfs, containers, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "from-host").write_text("host data\n")
    n = vm_detached(containers(), rootfs, "/bin/sh", "-c",
                    "cat /vol/from-host; echo guest data > /vol/from-guest; "
                    "while [ ! -e /vol/later ]; do sleep 0.1; done; cat /vol/later",
                    opts=["-v", f"{vol}:/vol"])
    # The guest's write is seen on the host while the VM runs...
    assert wait_for(lambda: (vol / "from-guest").exists()
                    and (vol / "from-guest").read_text() == "guest data\n")
    # ...and a host write made now is seen in the guest.
    (vol / "later.tmp").write_text("written later\n")
    os.rename(vol / "later.tmp", vol / "later")
    assert ok(podman("wait", n)).strip() == "0"
    assert ok(podman("logs", n)).splitlines() == ["host data", "written later"]


# ---- network -----------------------------------------------------------------------

@pytest.fixture
def listener():
    """A TCP listener on every host address that sends a token to whoever
    connects, then closes (busybox nc prints it; busybox-static's wget
    crashes in glibc's static resolver, so no HTTP client in the guest)."""
    token = uuid.uuid4().hex
    srv = socket.socket()
    srv.bind(("0.0.0.0", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except socket.timeout:
                continue
            with c:
                c.sendall(token.encode() + b"\n")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield srv.getsockname()[1], token
    stop.set()
    t.join()
    srv.close()


GATEWAY = "$(ip route | awk '/^default/ {print $3}')"


def test_guest_reaches_a_listener_on_the_host(rootfs, listener):
    port, token = listener
    # podman's default network: the guest has the container's eth0 (its
    # address and default route), so the bridge's gateway is the host.
    p = vm_run(rootfs, "/bin/sh", "-c", f"nc -w 20 {GATEWAY} {port} </dev/null", network=None)
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert p.stdout.strip() == token


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_published_port_reaches_the_guest(rootfs, containers):
    port = free_port()
    n = vm_detached(containers(), rootfs, "/bin/sh", "-c",
                    "mkdir -p /www && echo in-the-guest > /www/index.html && "
                    "exec httpd -f -p 8080 -h /www",
                    opts=["-p", f"127.0.0.1:{port}:8080"], network=None)
    body = []

    def fetch():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                body.append(r.read().decode())
            return True
        except OSError:
            return False

    assert wait_for(fetch), ok(podman("logs", n))
    assert body[-1] == "in-the-guest\n"
    # The guest's eth0 is the container's: same address and MAC.
    want = ok(podman("inspect", "--format",
                     "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.MacAddress}}", n)).split()
    got = ok(podman("exec", n, "/bin/sh", "-c",
                    "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1; "
                    "cat /sys/class/net/eth0/address")).split()
    assert got == want


# ---- selection by name ------------------------------------------------------------

def test_vessel_vm_name_makes_every_workload_a_vm(rootfs, tmp_path):
    vm = tmp_path / "vessel-vm"
    os.symlink(VESSEL, vm)
    host = host_boot_id()
    # As vessel-vm: a VM without any annotation...
    p = vm_run(rootfs, "/bin/sh", "-c", BOOT_ID, runtime=str(vm), annotate=False)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() != host
    # ...unless the workload asks for a container.
    p = vm_run(rootfs, "/bin/sh", "-c", BOOT_ID, runtime=str(vm), annotate=False,
               opts=["--annotation", "io.vessel.backend=container"])
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == host
    # As vessel, without the annotation: a container.
    p = vm_run(rootfs, "/bin/sh", "-c", BOOT_ID, annotate=False)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == host
