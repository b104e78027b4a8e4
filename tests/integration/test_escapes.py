"""Container escapes written as the attack: a hostile config, a hostile image,
a neighbour container, and the smaller ones (procfs/sysfs on a symlink, ids
starting with '.', hooks that outlive vessel). Each one got out on vessel
before its defence (see docs/security.md) and must get nowhere now."""
import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import signal
import stat
import uuid

import pytest

from cgroup_util import alive, wait_for
from conftest import VESSEL
from test_errors import assert_nothing_left, create_fails

SECRET = "host-secret-" + uuid.uuid4().hex


@pytest.fixture
def host_secret(tmp_path):
    """A file only the host can see, next to (above) the state root."""
    path = tmp_path / "secret.txt"
    path.write_text(SECRET + "\n")
    return path


def start_and_wait(vessel, bundle, cid):
    return vessel.run("run", "--bundle", bundle.path, cid, timeout=60)


# ---- host fds reaching the container (CVE-2024-21626 class) -------------------

@pytest.mark.parametrize("fd", range(3, 8))
def test_cwd_through_proc_self_fd_is_refused(vessel, bundle, cid, host_secret, fd):
    # From a host directory fd as cwd, ../ walks the host's tree.
    bundle.sh(f"cat ../secret.txt ../../secret.txt ../../../secret.txt 2>/dev/null; pwd -P")
    bundle.config["process"]["cwd"] = f"/proc/self/fd/{fd}"
    bundle.write()
    p = start_and_wait(vessel, bundle, cid)
    assert SECRET not in p.stdout
    assert p.returncode != 0, p.stdout
    assert "process.cwd" in p.stderr
    assert not os.path.exists(os.path.join(vessel.root, cid))


@pytest.mark.parametrize("fd", range(3, 8))
def test_image_symlink_cwd_to_proc_self_fd_is_refused(vessel, bundle, cid, host_secret, fd):
    os.symlink(f"/proc/self/fd/{fd}", os.path.join(bundle.rootfs, "app"))
    bundle.sh("cat ../secret.txt ../../secret.txt ../../../secret.txt 2>/dev/null; pwd -P")
    bundle.config["process"]["cwd"] = "/app"
    bundle.write()
    p = start_and_wait(vessel, bundle, cid)
    assert SECRET not in p.stdout
    assert p.returncode != 0, p.stdout
    assert "process.cwd" in p.stderr


@pytest.mark.parametrize("fd", range(3, 8))
def test_program_through_proc_self_fd_is_refused(vessel, bundle, cid, tmp_path, fd):
    # /proc/self/fd/N/../../x: a host program next to the state root.
    marker = tmp_path / "ran-on-host"
    prog = tmp_path / "x"
    prog.write_text(f"#!/bin/sh\ntouch {marker}\n")
    prog.chmod(0o755)
    bundle.args(f"/proc/self/fd/{fd}/../../x")
    bundle.write()
    p = start_and_wait(vessel, bundle, cid)
    assert not marker.exists()
    assert p.returncode != 0
    assert "process.args[0]" in p.stderr


def test_program_proc_self_exe_is_refused(vessel, bundle, cid):
    bundle.args("/proc/self/exe", "--version")
    bundle.write()
    p = start_and_wait(vessel, bundle, cid)
    assert "vessel version" not in p.stdout
    assert p.returncode != 0
    assert "process.args[0]" in p.stderr


def test_cwd_and_program_still_resolve_inside_the_image(vessel, bundle, cid):
    # Ordinary symlinks inside the image keep working, resolved in its root.
    os.makedirs(os.path.join(bundle.rootfs, "srv", "data"))
    os.symlink("/srv/data", os.path.join(bundle.rootfs, "work"))
    os.symlink("/bin/busybox", os.path.join(bundle.rootfs, "srv", "sh"))
    bundle.args("/srv/sh", "-c", "pwd -P")
    bundle.config["process"]["cwd"] = "/work"
    bundle.write()
    p = start_and_wait(vessel, bundle, cid)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "/srv/data"


def test_created_init_holds_no_host_directory_fd(vessel, bundle, cid, tmp_path):
    # A directory fd our caller leaked (not --preserve-fds) must not reach the init.
    leaked = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        bundle.args("true").write()
        p = vessel.run("create", "--bundle", bundle.path, cid, pass_fds=(leaked,))
        assert p.returncode == 0, p.stderr
        pid = vessel.state(cid)["pid"]
        fds = os.listdir(f"/proc/{pid}/fd")
        for fd in fds:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            assert not os.path.isdir(f"/proc/{pid}/fd/{fd}"), (fd, target)
            assert target != str(tmp_path)
        # std fds, the exec fifo and exec.error: nothing else.
        assert len(fds) <= 5, [os.readlink(f"/proc/{pid}/fd/{f}") for f in fds]
    finally:
        os.close(leaked)


# ---- the host binary (CVE-2019-5736) ----------------------------------------

PWN_SO = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
/* In whatever process loads us (the interpreter of a #!/proc/self/exe
 * script run by the container init): keep an O_PATH fd on our binary,
 * let a child that no longer maps it try to reopen it for writing once
 * the binary stops running (ETXTBSY until then). */
__attribute__((constructor)) static void pwn(void)
{
	unsetenv("LD_PRELOAD");
	int fd = open("/proc/self/exe", O_PATH);
	if (fd < 0 || fork() != 0)
		return;
	char script[256];
	snprintf(script, sizeof(script),
		 "i=0; while [ $i -lt 60 ]; do "
		 "if echo PWNED >> /proc/self/fd/%d; then echo overwrote > /pwn.result; exit; fi; "
		 "i=$((i+1)); sleep 0.05; done; echo refused > /pwn.result", fd);
	execl("/bin/sh", "sh", "-c", script, (char *)NULL);
	_exit(1);
}
"""


def copy_libs(binary, rootfs):
    """The dynamic loader and libraries binary needs, at the same paths."""
    p = subprocess.run(["ldd", binary], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip("vessel is static here: LD_PRELOAD cannot run code in it "
                    "(test_neighbour_cannot_overwrite_the_runtime covers this build)")
    out = p.stdout
    for path in re.findall(r"(/\S+\.so[.\d]*)", out):
        dest = rootfs + path
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy(path, dest)  # follows symlinks: the file itself


def test_preloaded_library_cannot_overwrite_the_runtime(tmp_path, bundle, cid):
    # A private copy of vessel, so a failing defence damages only the copy.
    victim = str(tmp_path / "vessel-copy")
    shutil.copy(VESSEL, victim)
    before = hashlib.sha256(open(victim, "rb").read()).hexdigest()
    root = str(tmp_path / "state2")
    copy_libs(victim, bundle.rootfs)
    so = os.path.join(bundle.rootfs, "pwn.so")
    src = tmp_path / "pwn.c"
    src.write_text(PWN_SO)
    subprocess.run(["cc", "-shared", "-fPIC", "-o", so, str(src)], check=True)
    evil = os.path.join(bundle.rootfs, "evil")
    with open(evil, "w") as f:
        f.write("#!/proc/self/exe\n")
    os.chmod(evil, 0o755)
    bundle.args("/evil")
    bundle.config["process"]["env"] += [
        "LD_PRELOAD=/pwn.so",
        "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0",
    ]
    # No pid namespace of its own: the attacker's child outlives the init
    # (pid 1 of a new one would take it down), as a process in a long-lived
    # container would; create + start, so no vessel process waits on it.
    bundle.config["linux"]["namespaces"] = [
        ns for ns in bundle.config["linux"]["namespaces"] if ns["type"] != "pid"]
    bundle.write()
    try:
        for cmd in (["create", "--bundle", bundle.path, cid], ["start", cid]):
            # Not pipes: the container keeps its stdio open.
            subprocess.run([victim, "--root", root] + cmd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        result = os.path.join(bundle.rootfs, "pwn.result")
        deadline = time.time() + 10
        while not os.path.exists(result) and time.time() < deadline:
            time.sleep(0.1)
        after = hashlib.sha256(open(victim, "rb").read()).hexdigest()
        assert after == before, "the host's vessel binary was modified from the container"
        if os.path.exists(result):
            assert open(result).read().strip() == "refused"
    finally:
        subprocess.run([victim, "--root", root, "delete", "--force", cid],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_vessel_runs_from_a_sealed_copy(vessel, bundle, cid):
    # What the init is while the container is created: a sealed memfd, not the host file.
    bundle.args("true").write()
    p = vessel.run("create", "--bundle", bundle.path, cid)
    assert p.returncode == 0, p.stderr
    pid = vessel.state(cid)["pid"]
    exe = os.readlink(f"/proc/{pid}/exe")
    # A file on a detached lower-only overlay, or a sealed memfd.
    assert exe in ("/" + os.path.basename(VESSEL), "/memfd:vessel (deleted)"), exe
    assert os.path.realpath(VESSEL) != exe
    with pytest.raises(OSError) as e:
        with open(f"/proc/{pid}/exe", "r+b") as f:
            f.write(b"PWNED")
            f.flush()
    assert e.value.errno in (errno.EROFS, errno.EPERM), e.value


# ---- a neighbour in the same pid namespace ------------------------------------

def test_neighbour_cannot_reach_a_created_init(vessel, bundle, cid, tmp_path, host_secret):
    bundle.args("true").write()
    p = vessel.run("create", "--bundle", bundle.path, cid)
    assert p.returncode == 0, p.stderr
    init = vessel.state(cid)["pid"]

    from conftest import Bundle
    nb = Bundle(str(tmp_path / "neighbour"))
    nb.sh(
        "for f in /proc/1/fd/*; do ls $f/ 2>/dev/null; "
        "cat $f/../secret.txt $f/../../secret.txt 2>/dev/null; done; "
        "cat /proc/1/exe >/dev/null 2>&1 && echo EXE_READABLE; "
        "ls /proc/1/fd 2>&1 | head -3; echo done")
    for ns in nb.config["linux"]["namespaces"]:
        if ns["type"] == "pid":
            ns["path"] = f"/proc/{init}/ns/pid"
    nb.write()
    ncid = cid + "-nb"
    p = vessel.run("run", "--bundle", nb.path, ncid)
    assert p.returncode == 0, p.stderr
    assert "done" in p.stdout
    assert SECRET not in p.stdout
    assert "state.json" not in p.stdout
    assert "EXE_READABLE" not in p.stdout


# ---- capabilities --------------------------------------------------------------

def test_absent_capabilities_mean_none(vessel, bundle, cid):
    bundle.sh("grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status")
    del bundle.config["process"]["capabilities"]
    bundle.write()
    p = start_and_wait(vessel, bundle, cid)
    assert p.returncode == 0, p.stderr
    caps = dict(line.split(":\t") for line in p.stdout.strip().splitlines())
    assert caps == {k: "0000000000000000" for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}


def test_neighbour_cannot_overwrite_the_runtime(tmp_path, bundle, cid):
    """CVE-2019-5736 from a neighbour: hold /proc/<created init>/exe open,
    and once no vessel runs any more, write through it."""
    victim = str(tmp_path / "vessel-copy")
    shutil.copy(VESSEL, victim)
    before = hashlib.sha256(open(victim, "rb").read()).hexdigest()
    root = str(tmp_path / "state-victim")
    quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL, timeout=60)
    bundle.args("sleep", "5").write()
    from conftest import Bundle, Vessel
    nb = Bundle(str(tmp_path / "neighbour"))
    nb.sh("if (exec 3</proc/1/exe) 2>/dev/null; then exec 3</proc/1/exe; "
          "else echo noopen > /result; exit 0; fi; echo opened > /opened; "
          "j=0; while [ $j -lt 100 ]; do "
          "if (echo PWNED >> /proc/self/fd/3) 2>/dev/null; then echo overwrote > /result; exit 0; fi; "
          "j=$((j+1)); sleep 0.05; done; echo refused > /result")
    v = Vessel(str(tmp_path / "state-nb"))
    ncid = cid + "-nb"
    result = os.path.join(nb.rootfs, "result")
    try:
        subprocess.run([victim, "--root", root, "create", "--bundle", bundle.path, cid], **quiet)
        init = int(open(os.path.join(root, cid, "state.json")).read().split('"pid":')[1].split(",")[0])
        for ns in nb.config["linux"]["namespaces"]:
            if ns["type"] == "pid":
                ns["path"] = f"/proc/{init}/ns/pid"
        nb.write()
        p = v.run("run", "--detach", "--bundle", nb.path, ncid)
        assert p.returncode == 0, p.stderr
        deadline = time.time() + 10
        while not (os.path.exists(result) or os.path.exists(os.path.join(nb.rootfs, "opened"))):
            assert time.time() < deadline, "neighbour never got going"
            time.sleep(0.05)
        subprocess.run([victim, "--root", root, "start", cid], **quiet)
        deadline = time.time() + 10
        while not os.path.exists(result) and time.time() < deadline:
            time.sleep(0.05)
        after = hashlib.sha256(open(victim, "rb").read()).hexdigest()
        assert after == before, "the runtime binary was overwritten by a neighbour"
        assert open(result).read().strip() in ("noopen", "refused")
    finally:
        v.run("delete", "--force", ncid)
        subprocess.run([victim, "--root", root, "delete", "--force", cid], **quiet)


# ---- smaller escapes -----------------------------------------------------------

@pytest.mark.parametrize("dest,target", [("proc", "tmp"), ("proc", "/etc"), ("sys", "tmp")])
def test_proc_and_sys_must_be_real_directories(vessel, bundle, cid, dest, target):
    # A hostile image: procfs would land on the link's target instead.
    link = os.path.join(bundle.rootfs, dest)
    os.rmdir(link)
    os.symlink(target, link)
    bundle.args("true").write()
    idx = next(i for i, m in enumerate(bundle.config["mounts"]) if m["destination"] == "/" + dest)
    line = create_fails(vessel, bundle, cid, f"mounts[{idx}].destination: /{dest}")
    assert "symlink" in line
    # Nothing was mounted where the link points.
    real = os.path.join(bundle.rootfs, target.lstrip("/"))
    assert not os.path.exists(os.path.join(real, "self")), "procfs landed on the target"
    assert not os.path.exists(os.path.join(real, "kernel")), "sysfs landed on the target"


def test_dot_id_is_listed(vessel, bundle, cid):
    # A container nobody sees in `list` is one nobody cleans up.
    dot = "." + cid
    bundle.args("sleep", "100").write()
    vessel.run("create", "--bundle", bundle.path, dot, check=True)
    try:
        assert vessel.run("list", "-q", check=True).stdout.split() == [dot]
        listed = json.loads(vessel.run("list", "--format", "json", check=True).stdout)
        assert [c["id"] for c in listed] == [dot]
        assert [c["status"] for c in listed] == ["created"]
        table = vessel.run("list", check=True).stdout.splitlines()
        assert any(l.split()[0] == dot for l in table[1:]), table
    finally:
        vessel.run("delete", "--force", dot)
    assert vessel.run("list", "-q", check=True).stdout == ""


# A hook that starts a grandchild in its process group, records both pids
# and waits. argv: dir
FORKING_HOOK = """#!/bin/sh
/bin/sleep 1000 &
echo $! > "$1/grandchild"
echo $$ > "$1/hook.tmp" && mv "$1/hook.tmp" "$1/hook"
wait
"""


def hook_bundle(bundle, tmp_path, timeout=None):
    d = tmp_path / "hookpids"
    d.mkdir()
    hook = tmp_path / "hook.sh"
    hook.write_text(FORKING_HOOK)
    hook.chmod(0o755)
    h = {"path": str(hook), "args": ["hook", str(d)]}
    if timeout:
        h["timeout"] = timeout
    bundle.config["hooks"] = {"prestart": [h]}
    bundle.args("true").write()
    return d


def pids_of(d):
    wait_for(lambda: (d / "hook").exists() and (d / "grandchild").exists(), what="hook to start")
    return int((d / "hook").read_text()), int((d / "grandchild").read_text())


def reap(*pids):
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_hook_timeout_kills_its_group(vessel, bundle, cid, tmp_path):
    d = hook_bundle(bundle, tmp_path, timeout=1)
    p = vessel.run("create", "--bundle", bundle.path, cid)
    hook, grandchild = pids_of(d)
    try:
        assert p.returncode != 0 and "timed out" in p.stderr, p.stderr
        wait_for(lambda: not alive(hook) and not alive(grandchild), timeout=5,
                 what="hook and its child to be killed")
        assert_nothing_left(vessel, cid, bundle)
    finally:
        reap(hook, grandchild)


def start_create(vessel, bundle, cid):
    return subprocess.Popen([VESSEL, "--root", vessel.root, "create", "--bundle", bundle.path, cid],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def test_hook_dies_with_vessel(vessel, bundle, cid, tmp_path):
    d = hook_bundle(bundle, tmp_path)
    proc = start_create(vessel, bundle, cid)
    hook, grandchild = pids_of(d)
    try:
        proc.kill()
        proc.wait(timeout=10)
        wait_for(lambda: not alive(hook), timeout=5, what="hook to die with vessel")
    finally:
        reap(hook, grandchild)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signalled_vessel_kills_the_hook_group(vessel, bundle, cid, tmp_path, sig):
    d = hook_bundle(bundle, tmp_path)
    proc = start_create(vessel, bundle, cid)
    hook, grandchild = pids_of(d)
    try:
        proc.send_signal(sig)
        rc = proc.wait(timeout=10)
        # Before reading stderr: a surviving hook would hold it open.
        wait_for(lambda: not alive(hook) and not alive(grandchild), timeout=5,
                 what="hook group to be killed")
        stderr = proc.stderr.read().decode()
        # create failed and cleaned up after itself
        assert rc != 0
        assert f"signal {int(sig)}" in stderr, stderr
        assert_nothing_left(vessel, cid, bundle)
    finally:
        reap(hook, grandchild)


# ---- device nodes in the image are never opened by the init ------------------------
# The init reads /etc/passwd (for HOME) before the device cgroup is on:
# opening a device runs its driver. A node with an unassigned major answers
# ENXIO only if something opened it. (/dev/ptmx gets the same check, but
# the default devices replace the image's ptmx with a link to pts/ptmx.)

UNASSIGNED = os.makedev(240, 0)


def test_passwd_device_node_is_not_opened(vessel, bundle, cid):
    passwd = os.path.join(bundle.rootfs, "etc", "passwd")
    os.mknod(passwd, 0o644 | stat.S_IFCHR, UNASSIGNED)
    bundle.args("true").write()
    p = vessel.run("create", "--bundle", bundle.path, cid)
    assert p.returncode != 0
    assert "not a regular file" in p.stderr, p.stderr
    assert "No such device" not in p.stderr, "the init opened the image's device node"
    assert not os.path.exists(os.path.join(vessel.root, cid))
