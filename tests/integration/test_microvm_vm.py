"""The microvm backend's real VM path (docs/microvm.md "The real VM path"):
the container's init carries on as the monitor and boots the guest inside
the container. This host has no VT-x, so no Linux guest reaches userspace:
the guest here is a freestanding test guest (tests/guests/power.c) named by
io.vessel.vm.kernel, with io.vessel.vm.allow-emulated=true, in the ASan
build's test-guest mode (VESSEL_TEST_MICROVM_GUEST=DIR: the kernel and
initramfs caches under DIR, the guest's action from DIR/cmdline, no agent:
the guest's debug-exit code stands in for the agent's wait reply).
Everything up to and after the guest's first instruction is the production
code: the in-process monitor, its fds opened before pivot_root, the hybrid
vsock listener bound by the host side, the confinement, the exit status,
the network namespace rules, and what delete leaves."""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

import cgroup_util
from conftest import REPO, VESSEL

GUEST_ENV = "VESSEL_TEST_MICROVM_GUEST"
IS_ASAN = os.path.basename(os.path.dirname(os.path.abspath(VESSEL))) == "build-asan"
RELEASE = os.path.join(REPO, "build", "vessel")
# Packed as the initramfs's /init: it must be static, so the release build's.
AGENT = os.path.join(REPO, "build", "vessel-agent")
POWER = os.path.join(REPO, "build", "guests", "power.bzImage")

pytestmark = [
    pytest.mark.skipif(not IS_ASAN, reason="the test-guest mode exists only in the ASan build "
                       "(VS_TEST_HOOKS); this is the release binary"),
    pytest.mark.skipif(not os.access("/dev/kvm", os.R_OK | os.W_OK), reason="/dev/kvm not usable"),
]


@pytest.fixture
def guest(tmp_path):
    """A test-guest tree; .action() sets what the guest does."""
    for f in (AGENT, POWER):
        if not os.path.exists(f):
            pytest.fail(f"{f} missing: make all guests")
    d = tmp_path / "guest"
    # The kernel cache's layout (a version directory holding vmlinuz): an
    # annotation may name nothing else (docs/microvm.md).
    (d / "kernels" / "power").mkdir(parents=True)
    shutil.copy(POWER, d / "kernels" / "power" / "vmlinuz")
    shutil.copy(AGENT, d / "vessel-agent")

    class G:
        path = str(d)
        kernel = str(d / "kernels" / "power" / "vmlinuz")
        env = dict(os.environ, **{GUEST_ENV: str(d)})

        def action(self, a):
            (d / "cmdline").write_text(f"action={a}\n")
            return self
    return G()


def vm_bundle(bundle, guest, **ann):
    c = bundle.config
    c["process"]["terminal"] = False
    c.setdefault("annotations", {}).update({
        "io.vessel.backend": "microvm",
        "io.vessel.vm.allow-emulated": "true",
        "io.vessel.vm.kernel": guest.kernel,
        "io.vessel.vm.memory": "64",
    }, **ann)
    return bundle.write()


def pid_of(vessel, env, cid):
    return json.loads(vessel.run("state", cid, env=env, check=True).stdout)["pid"]


def status_fields(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def console(vessel, cid):
    try:
        with open(os.path.join(vessel.root, cid, "console.log")) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait_for(cond, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def processes_naming(path):
    """Live pids with an fd or cwd under path (what a leftover monitor or
    virtiofsd would hold)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            for fd in os.listdir(f"/proc/{d}/fd"):
                if os.readlink(f"/proc/{d}/fd/{fd}").startswith(path):
                    found.append(int(d))
                    break
        except OSError:
            pass
    return found


def assert_nothing_left(vessel, cid):
    # virtiofsd ends on its own once the monitor's connection closes.
    assert wait_for(lambda: not virtiofsd_of(vessel, cid)), "virtiofsd left behind"
    assert not os.path.exists(os.path.join(vessel.root, cid))
    assert cgroup_util.leftovers(cid) == []
    assert processes_naming(os.path.join(vessel.root, cid)) == []


def assert_create_fails(vessel, bundle, guest, cid, message):
    """create fails, saying message, and leaves nothing."""
    p = vessel.run("create", "--bundle", bundle.path, cid, env=guest.env)
    assert p.returncode != 0
    assert message in p.stderr, p.stderr
    assert_nothing_left(vessel, cid)


def test_run_exits_with_the_guests_status(vessel, bundle, guest, cid):
    # The monitor's exit status is the guest's (here its debug-exit code,
    # standing in for the agent's wait reply): what the engine waits on.
    vm_bundle(bundle, guest)
    guest.action("exit:42")
    p = vessel.run("run", "--bundle", bundle.path, cid, env=guest.env)
    assert p.returncode == 42, p.stderr
    # virtiofsd's complaints about its connection closing go to its log in
    # the state dir, not to the workload's stderr.
    assert "virtio_loop" not in p.stderr and "virtiofsd" not in p.stderr, p.stderr
    assert_nothing_left(vessel, cid)


def test_create_boots_the_vm_inside_the_container(vessel, bundle, guest, cid):
    vm_bundle(bundle, guest)
    guest.action("hang")
    vessel.run("create", "--bundle", bundle.path, cid, env=guest.env, check=True)
    pid = pid_of(vessel, guest.env, cid)
    # create booted it: the guest's first output, before start.
    assert wait_for(lambda: "HANGING" in console(vessel, cid)), console(vessel, cid)
    assert json.loads(vessel.run("state", cid, env=guest.env).stdout)["status"] == "created"
    # state's pid is the monitor: it holds the VM, inside the container.
    fds = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    assert "anon_inode:kvm-vm" in fds and any(f.startswith("anon_inode:kvm-vcpu") for f in fds)
    assert os.readlink(f"/proc/{pid}/ns/pid") != os.readlink("/proc/self/ns/pid")
    assert os.readlink(f"/proc/{pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt")
    assert os.readlink(f"/proc/{pid}/root") != "/" or os.stat(f"/proc/{pid}/root/bin/busybox")
    # Nothing of the host's kernel cache or state dir is an open path in it
    # (the kernel and initramfs were read before it confined itself).
    assert not [f for f in fds if f.startswith(guest.path)], fds
    # The hybrid vsock socket: bound by the host side in the state dir.
    sock = os.path.join(vessel.root, cid, "vsock.sock")
    assert os.path.exists(sock)
    # Confined: seccomp filter, no capabilities, no_new_privs.
    st = status_fields(pid)
    assert st["Seccomp"] == "2"
    assert st["NoNewPrivs"] == "1"
    for s in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(st[s], 16) == 0, (s, st[s])
    # In the container's cgroup, which bounds the whole VM.
    with open(f"/proc/{pid}/cgroup") as f:
        assert cid in f.read()
    vessel.run("start", cid, env=guest.env, check=True)
    assert json.loads(vessel.run("state", cid, env=guest.env).stdout)["status"] == "running"
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: json.loads(vessel.run("state", cid, env=guest.env).stdout)["status"]
                    == "stopped")
    vessel.run("delete", cid, env=guest.env, check=True)
    assert_nothing_left(vessel, cid)


def virtiofsd_of(vessel, cid):
    """virtiofsd processes serving this container's root share."""
    share = os.path.join(vessel.root, cid, "rootfs.share").encode()
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit() and cgroup_util.alive(int(d)):
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if os.path.basename(argv[0]) == b"virtiofsd" and b"source=" + share in argv:
                found.append(int(d))
    return found


@pytest.mark.skipif(not os.access("/usr/lib/qemu/virtiofsd", os.X_OK),
                    reason="no virtiofsd (Debian: qemu-system-common)")
def test_virtiofsd_serves_the_containers_root_with_its_volumes(vessel, bundle, guest, cid,
                                                                tmp_path):
    # The guest's root is the container's: virtiofsd, started by the host
    # side, serves a clone of the container's mount tree, so a volume
    # bind-mounted into the container is there, and writes reach the same
    # files. It lives in its own mount namespace (the host's mount table
    # never shows the share) and ends when the monitor does.
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "on-the-volume").write_text("v\n")
    (tmp_path / "bundle" / "rootfs" / "in-the-image").write_text("i\n")
    bundle.config["mounts"].append({"destination": "/data", "type": "bind", "source": str(vol),
                                    "options": ["rbind", "rw"]})
    vm_bundle(bundle, guest)
    guest.action("hang")
    vessel.run("create", "--bundle", bundle.path, cid, env=guest.env, check=True)
    pid = pid_of(vessel, guest.env, cid)
    fsd = virtiofsd_of(vessel, cid)
    assert fsd, "no virtiofsd for the container"
    served = [p for p in fsd if os.path.exists(f"/proc/{p}/root/data/on-the-volume")]
    assert served, "virtiofsd does not see the container's volume"
    p = served[0]
    assert os.path.exists(f"/proc/{p}/root/in-the-image")
    assert os.path.isdir(f"/proc/{p}/root/bin")
    assert os.readlink(f"/proc/{p}/ns/mnt") != os.readlink("/proc/self/ns/mnt")
    # The host sees no mount on the share directory.
    share = os.path.join(vessel.root, cid, "rootfs.share")
    with open("/proc/self/mountinfo") as f:
        assert share not in f.read()
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not virtiofsd_of(vessel, cid)), "virtiofsd outlived the monitor"
    vessel.run("delete", cid, env=guest.env, check=True)
    assert_nothing_left(vessel, cid)


def test_virtiofsd_serves_no_proc_sys_or_dev_of_the_container(vessel, bundle, guest, cid):
    # The attack: virtiofsd runs as host root with CAP_DAC_OVERRIDE, so a
    # guest reading /proc, /sys or /dev of the share would reach the
    # container's kernel interfaces (its /proc/<pid>/mem, sysfs knobs,
    # device nodes) past what the container itself may do. The cloned tree
    # has them (vessel spec mounts proc, sysfs, a /dev tmpfs with devpts,
    # shm, mqueue); none may remain in virtiofsd's mount namespace.
    vm_bundle(bundle, guest)
    guest.action("hang")
    vessel.run("create", "--bundle", bundle.path, cid, env=guest.env, check=True)
    fsd = virtiofsd_of(vessel, cid)
    assert fsd, "no virtiofsd for the container"
    kernel = ("proc", "sysfs", "devtmpfs", "devpts", "mqueue")
    share = os.path.join(vessel.root, cid, "rootfs.share")
    checked = 0
    for p in fsd:
        try:
            with open(f"/proc/{p}/mountinfo") as f:
                mounts = [(pre.split()[4], post.split()[0])
                          for pre, post in (l.split(" - ", 1) for l in f.read().splitlines())]
        except OSError:
            continue
        checked += 1
        # Before its sandbox pivots, virtiofsd has the tree on the share
        # directory; after, the share is its root and the mount points
        # are shown from there.
        pivoted = not any(point == share for point, _ in mounts)
        for point, fstype in mounts:
            if pivoted:
                rel = point
            elif point.startswith(share + "/"):
                rel = point[len(share):]
            else:
                continue
            top = rel.split("/")[1] if rel != "/" else ""
            assert top not in ("proc", "sys", "dev"), f"virtiofsd {p} still has {fstype} on {point}"
            assert not pivoted or fstype not in kernel, f"virtiofsd {p} has {fstype} on {point}"
    assert checked, "no virtiofsd mount table could be read"
    vessel.run("delete", "--force", cid, env=guest.env, check=True)
    assert_nothing_left(vessel, cid)


def cgroups_of(pid):
    with open(f"/proc/{pid}/cgroup") as f:
        return sorted(f.read().splitlines())


def test_virtiofsd_runs_in_the_containers_cgroups(vessel, bundle, guest, cid):
    # The attack: virtiofsd works for the guest, but outside the
    # container's cgroups its memory, pids and CPU escape the limits (and
    # delete's kill of the cgroup). It is moved in before it execs, so all
    # its processes are in every hierarchy the container's init is in.
    vm_bundle(bundle, guest)
    guest.action("hang")
    vessel.run("create", "--bundle", bundle.path, cid, env=guest.env, check=True)
    pid = pid_of(vessel, guest.env, cid)
    want = cgroups_of(pid)
    assert any(cid in line for line in want), want
    fsd = virtiofsd_of(vessel, cid)
    assert fsd, "no virtiofsd for the container"
    for p in fsd:
        assert cgroups_of(p) == want, f"virtiofsd {p}"
    vessel.run("delete", "--force", cid, env=guest.env, check=True)
    assert_nothing_left(vessel, cid)


@pytest.mark.skipif(not os.access("/usr/bin/mkfs.erofs", os.X_OK),
                    reason="no mkfs.erofs (Debian: erofs-utils)")
def test_without_virtiofsd_the_root_is_an_erofs_image(vessel, bundle, guest, cid, tmp_path):
    # The fallback (the test tree's no-virtiofsd stands for a host without
    # it): an erofs image of the same container root tree, volume included,
    # without the container's /proc, /sys and /dev, held by the monitor for
    # its virtio-blk; a warning says writes stay in the VM.
    open(os.path.join(guest.path, "no-virtiofsd"), "w").close()
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "on-the-volume").write_text("v\n")
    (tmp_path / "bundle" / "rootfs" / "in-the-image").write_text("i\n")
    bundle.config["mounts"].append({"destination": "/data", "type": "bind", "source": str(vol),
                                    "options": ["rbind", "rw"]})
    vm_bundle(bundle, guest)
    guest.action("hang")
    p = vessel.run("create", "--bundle", bundle.path, cid, env=guest.env)
    assert p.returncode == 0, p.stderr
    assert "writes stay in the VM" in p.stderr
    assert not virtiofsd_of(vessel, cid)
    image = os.path.join(vessel.root, cid, "rootfs.erofs")
    pid = pid_of(vessel, guest.env, cid)
    fds = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    assert image in fds
    out = tmp_path / "extracted"
    subprocess.run(["fsck.erofs", f"--extract={out}", image], check=True, capture_output=True)
    assert (out / "in-the-image").read_text() == "i\n"
    assert (out / "data" / "on-the-volume").read_text() == "v\n"
    assert (out / "bin" / "busybox").exists()
    for d in ("proc", "sys", "dev"):
        assert not (out / d).exists(), d
    vessel.run("delete", "--force", cid, env=guest.env, check=True)
    assert_nothing_left(vessel, cid)


@pytest.mark.skipif(not os.access("/usr/bin/mkfs.erofs", os.X_OK),
                    reason="no mkfs.erofs (Debian: erofs-utils)")
def test_a_sparse_file_cannot_grow_the_erofs_image_past_its_limit(vessel, bundle, guest, cid,
                                                                   tmp_path):
    # The attack: a sparse file costs the rootfs nothing, but mkfs.erofs
    # writes its every byte into the image in the state dir (a tmpfs,
    # /run, on most hosts): a 1 TiB one would fill it. The image is
    # limited (RLIMIT_FSIZE, io.vessel.vm.rootfs-image-max, here 8M), and
    # create fails naming the limit, leaving nothing behind.
    open(os.path.join(guest.path, "no-virtiofsd"), "w").close()
    with open(tmp_path / "bundle" / "rootfs" / "sparse", "wb") as f:
        f.truncate(64 << 20)
    vm_bundle(bundle, guest, **{"io.vessel.vm.rootfs-image-max": "8M"})
    guest.action("hang")
    p = vessel.run("create", "--bundle", bundle.path, cid, env=guest.env)
    assert p.returncode != 0, "create succeeded with an image past its limit"
    assert "larger than 8388608 bytes" in p.stderr and "rootfs-image-max" in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(vessel.root, cid, "rootfs.erofs"))
    assert_nothing_left(vessel, cid)


@pytest.mark.parametrize("value", ["0", "8X", "-1", "M", "99999999999T", "8 M"])
def test_a_bad_rootfs_image_max_fails_create_naming_the_annotation(vessel, bundle, guest, cid,
                                                                   value):
    vm_bundle(bundle, guest, **{"io.vessel.vm.rootfs-image-max": value})
    guest.action("hang")
    p = vessel.run("create", "--bundle", bundle.path, cid, env=guest.env)
    assert p.returncode != 0
    assert "io.vessel.vm.rootfs-image-max" in p.stderr, p.stderr
    assert_nothing_left(vessel, cid)


def test_delete_force_of_a_created_vm_leaves_nothing(vessel, bundle, guest, cid):
    vm_bundle(bundle, guest)
    guest.action("hang")
    vessel.run("create", "--bundle", bundle.path, cid, env=guest.env, check=True)
    pid = pid_of(vessel, guest.env, cid)
    vessel.run("delete", "--force", cid, env=guest.env, check=True)
    assert wait_for(lambda: not cgroup_util.alive(pid))
    assert_nothing_left(vessel, cid)


def test_the_host_side_dials_the_guest_through_the_monitors_vsock(vessel, bundle, guest, cid):
    # What the agent client does (CONNECT 1024 on vsock.sock in the state
    # dir): the listener the host side bound is the monitor's vsock device.
    # The guest (tests/guests/vsock_echo.c) echoes and exits with the first
    # byte, which `run` returns: the engine sees the guest's status. The
    # guest's own connection to a host port is refused: the monitor was
    # given a listening fd and no path, so the guest reaches no host socket.
    import socket
    echo = os.path.join(guest.path, "kernels", "vsock_echo", "vmlinuz")
    os.mkdir(os.path.dirname(echo))
    shutil.copy(os.path.join(REPO, "build", "guests", "vsock_echo.bzImage"), echo)
    vm_bundle(bundle, guest, **{"io.vessel.vm.kernel": echo})
    guest.action("none")
    run = subprocess.Popen([VESSEL, "--root", vessel.root, "run", "--bundle", bundle.path, cid],
                           env=guest.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: "LISTENING" in console(vessel, cid), 60), console(vessel, cid)
        assert "HOSTPORT rc=0 op=3" in console(vessel, cid)  # RST
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(os.path.join(vessel.root, cid, "vsock.sock"))
        s.sendall(b"CONNECT 1024\n")
        assert s.recv(64).startswith(b"OK ")
        s.sendall(b"\x07ping")
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            b = s.recv(64)
            if not b:
                break
            got += b
        s.close()
        assert got == b"\x07ping"
        assert run.wait(timeout=60) == 7, run.stderr.read()
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert_nothing_left(vessel, cid)


def test_a_failed_create_leaves_nothing(vessel, bundle, guest, cid):
    # The monitor fails building the VM (inside the container, after
    # pivot_root): create fails naming why, and nothing is left.
    bad = os.path.join(guest.path, "kernels", "not-a-kernel", "vmlinuz")
    os.mkdir(os.path.dirname(bad))
    with open(bad, "w") as f:
        f.write("not a kernel\n")
    vm_bundle(bundle, guest, **{"io.vessel.vm.kernel": bad})
    guest.action("hang")
    assert_create_fails(vessel, bundle, guest, cid, "neither a bzImage nor an ELF")


def test_a_vm_that_ends_before_its_agent_answers_fails_create(vessel, bundle, guest, cid):
    # As with a real guest (the test tree's with-agent): create waits for
    # the agent. The guest ends first: create fails saying so and leaves
    # nothing.
    open(os.path.join(guest.path, "with-agent"), "w").close()
    vm_bundle(bundle, guest)
    guest.action("exit:03")
    assert_create_fails(vessel, bundle, guest, cid, "the VM ended before its agent answered")


def test_the_confined_monitor_dials_its_agent_itself(vessel, bundle, guest, cid):
    # With an agent expected, the monitor's own waiter thread dials the
    # guest's agent through its vsock device (a socket pair injected into
    # the device, then CONNECT 1024) to learn the program's exit code. It
    # runs under the monitor's seccomp filter: once a thread of the monitor
    # sits in poll(2) waiting for the device's answer, it has made its
    # socketpair, sendmsg and write, and the monitor is still alive.
    open(os.path.join(guest.path, "with-agent"), "w").close()
    vm_bundle(bundle, guest)
    guest.action("hang")
    create = subprocess.Popen([VESSEL, "--root", vessel.root, "create", "--bundle", bundle.path,
                               cid], env=guest.env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: "HANGING" in console(vessel, cid), 60), console(vessel, cid)
        with open(os.path.join(vessel.root, cid, "state.json")) as f:
            pid = json.load(f)["pid"]

        def in_poll():
            for t in os.listdir(f"/proc/{pid}/task"):
                try:
                    with open(f"/proc/{pid}/task/{t}/syscall") as f:
                        if f.read().split()[0] == "7":  # poll
                            return True
                except (OSError, IndexError):
                    pass
            return False
        assert wait_for(in_poll), "no monitor thread waiting on its agent connection"
        assert cgroup_util.alive(pid)
        assert status_fields(pid)["Seccomp"] == "2"
    finally:
        create.kill()
        create.wait()
    vessel.run("delete", "--force", cid, env=guest.env, check=True)
    assert_nothing_left(vessel, cid)


def test_the_hosts_network_namespace_is_refused(vessel, bundle, guest, cid):
    # The attack: a microvm workload in the host's network namespace would
    # have its VM take over the host's interface.
    bundle.config["linux"]["namespaces"] = [
        n for n in bundle.config["linux"]["namespaces"] if n["type"] != "network"]
    vm_bundle(bundle, guest)
    assert_create_fails(vessel, bundle, guest, cid, "host's network namespace")


def test_joining_the_hosts_network_namespace_by_path_is_refused(vessel, bundle, guest, cid):
    for n in bundle.config["linux"]["namespaces"]:
        if n["type"] == "network":
            n["path"] = "/proc/self/ns/net"  # resolved by vessel: its own, the host's
    vm_bundle(bundle, guest)
    assert_create_fails(vessel, bundle, guest, cid, "is the host's network namespace")


@pytest.fixture
def netns(cid):
    """A network namespace with an eth0 (one end of a veth pair, with an
    address), as an engine's CNI would make it; removed afterwards."""
    name = "vs" + cid[-10:]
    host = "vh" + cid[-10:]
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "link", "add", host, "type", "veth", "peer", "name", "eth0",
                        "netns", name], check=True)
        subprocess.run(["ip", "-n", name, "addr", "add", "10.213.0.2/24", "dev", "eth0"],
                       check=True)
        subprocess.run(["ip", "-n", name, "link", "set", "eth0", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "link", "del", host], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def in_netns(name, *cmd):
    return subprocess.run(["ip", "netns", "exec", name] + list(cmd), capture_output=True,
                          text=True).stdout


def join_netns(bundle, name):
    for n in bundle.config["linux"]["namespaces"]:
        if n["type"] == "network":
            n["path"] = f"/var/run/netns/{name}"


def test_the_guest_takes_over_the_namespaces_eth0(vessel, bundle, guest, cid, netns, tmp_path):
    join_netns(bundle, netns)
    vm_bundle(bundle, guest)
    guest.action("hang")
    vessel.run("create", "--bundle", bundle.path, cid, env=guest.env, check=True)
    pid = pid_of(vessel, guest.env, cid)
    links = in_netns(netns, "ip", "-o", "link", "show")
    assert "vstap0" in links, links
    mac = in_netns(netns, "cat", "/sys/class/net/eth0/address").strip()
    # Frames both ways: eth0's ingress to the tap, the tap's to eth0.
    f = in_netns(netns, "tc", "filter", "show", "dev", "eth0", "ingress")
    assert "mirred" in f and "vstap0" in f, f
    f = in_netns(netns, "tc", "filter", "show", "dev", "vstap0", "ingress")
    assert "mirred" in f and "eth0" in f, f
    # The monitor holds the tap; the guest's NIC has eth0's MAC (the
    # device's config space is not visible from here: the cmdline shows it
    # was asked for, in the monitor's fd table the tap is open).
    fds = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    assert "/dev/net/tun" in fds
    assert mac
    # A second microvm workload in the same namespace is refused, and
    # leaves the first one's network alone.
    second = tmp_path / "second"
    shutil.copytree(bundle.path, second, symlinks=True)
    cid2 = cid + "-2"
    p = vessel.run("create", "--bundle", str(second), cid2, env=guest.env)
    assert p.returncode != 0
    assert "one VM per network namespace" in p.stderr, p.stderr
    assert_nothing_left(vessel, cid2)
    assert "vstap0" in in_netns(netns, "ip", "-o", "link", "show")
    # kill -9: the tap goes with the monitor's fd; a new VM can take the
    # namespace (the dead one's eth0 qdisc is reclaimed).
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: "vstap0" not in in_netns(netns, "ip", "-o", "link", "show"))
    vessel.run("delete", cid, env=guest.env, check=True)
    assert_nothing_left(vessel, cid)
    vessel.run("create", "--bundle", str(second), cid2, env=guest.env, check=True)
    assert "vstap0" in in_netns(netns, "ip", "-o", "link", "show")
    vessel.run("delete", "--force", cid2, env=guest.env, check=True)
    assert_nothing_left(vessel, cid2)
    assert wait_for(lambda: "vstap0" not in in_netns(netns, "ip", "-o", "link", "show"))


def test_a_namespace_with_only_lo_gets_no_net_device(vessel, bundle, guest, cid):
    vm_bundle(bundle, guest)
    guest.action("hang")
    vessel.run("create", "--bundle", bundle.path, cid, env=guest.env, check=True)
    pid = pid_of(vessel, guest.env, cid)
    fds = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    assert "/dev/net/tun" not in fds
    vessel.run("delete", "--force", cid, env=guest.env, check=True)
    assert_nothing_left(vessel, cid)


def test_release_binary_has_no_test_guest_mode(tmp_path):
    if not os.path.exists(RELEASE):
        pytest.skip(f"{RELEASE} missing: make all")
    with open(RELEASE, "rb") as f:
        assert GUEST_ENV.encode() not in f.read()
