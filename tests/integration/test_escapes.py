"""Container escapes written as the attack: a hostile config, a hostile image,
a neighbour container. Each one got out on vessel before its defence (see
docs/security.md) and must get nowhere now."""
import errno
import hashlib
import os
import re
import shutil
import subprocess
import time
import uuid

import pytest

from conftest import VESSEL

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
