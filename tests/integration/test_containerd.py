"""containerd as a real client: its runc v2 shim drives vessel as its runc
binary (the path Kubernetes takes through a RuntimeClass). A private
containerd daemon imports a busybox image built here; no registry."""
import os
import shutil
import signal
import subprocess
import time

import pytest

from pty_util import on_pty
from conftest import VESSEL, make_rootfs
from oci_image import make_oci_archive

pytestmark = pytest.mark.skipif(shutil.which("containerd") is None or shutil.which("ctr") is None,
                                reason="containerd is not installed")
IMAGE = "vessel.test/busybox:latest"
NS = "vessel-test"


@pytest.fixture(scope="module")
def ctr(tmp_path_factory):
    d = tmp_path_factory.mktemp("containerd")
    sock = d / "containerd.sock"
    (d / "config.toml").write_text(
        f'version = 2\nroot = "{d}/root"\nstate = "{d}/state"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        f'[grpc]\n  address = "{sock}"\n')
    log = open(d / "containerd.log", "w")
    daemon = subprocess.Popen(["containerd", "--config", str(d / "config.toml")], stdout=log, stderr=log)

    def run(*args, timeout=60, check=False):
        p = subprocess.run(["ctr", "-a", str(sock), "-n", NS] + list(args), capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        if check and p.returncode:
            raise AssertionError(f"ctr {args}: {p.returncode}: {p.stderr}")
        return p

    run.sock = str(sock)
    try:
        for _ in range(100):
            if sock.exists() and run("version").returncode == 0:
                break
            time.sleep(0.1)
        rootfs = d / "rootfs"
        make_rootfs(str(rootfs))
        make_oci_archive(str(rootfs), str(d / "image.tar"))
        run("images", "import", "--base-name", IMAGE.split(":")[0], str(d / "image.tar"), check=True)
        yield run
    finally:
        for line in run("containers", "ls", "-q").stdout.split():
            run("task", "kill", "-s", "KILL", line)
            run("task", "delete", "-f", line)
            run("containers", "delete", line)
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
        log.close()
        # containerd's overlay snapshots live under its root; nothing may stay mounted
        mounts = [l.split()[4] for l in open("/proc/self/mountinfo") if str(d) in l]
        for m in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", m])
        assert mounts == [], mounts


def test_ctr_run_uses_vessel(ctr, cid):
    p = ctr("run", "--rm", "--runc-binary", VESSEL, IMAGE, cid, "/bin/sh", "-c",
            "echo hello from containerd; echo $$; exit 6")
    assert p.stdout.split() == ["hello", "from", "containerd", "1"], p.stderr
    assert p.returncode == 6


def test_ctr_detached_task_kill_and_delete(ctr, cid):
    ctr("run", "-d", "--runc-binary", VESSEL, IMAGE, cid, "/bin/sh", "-c",
        "trap 'exit 4' TERM; while true; do sleep 0.1; done", check=True)
    try:
        tasks = ctr("task", "ls", check=True).stdout
        assert any(l.split()[0] == cid and l.split()[2] == "RUNNING" for l in tasks.splitlines()[1:])
        # sh is pid 1: a TERM that beats its `trap` is dropped, so send it again
        deadline = time.time() + 10
        last_kill = 0
        while time.time() < deadline:
            if time.time() - last_kill > 1:
                ctr("task", "kill", cid)
                last_kill = time.time()
            row = [l.split() for l in ctr("task", "ls").stdout.splitlines()[1:] if l.split()[0] == cid]
            if row and row[0][2] == "STOPPED":
                break
            time.sleep(0.1)
        assert row and row[0][2] == "STOPPED"
        ctr("task", "delete", cid, check=True)
    finally:
        ctr("task", "delete", "-f", cid)
        ctr("containers", "delete", cid)
    assert cid not in ctr("containers", "ls", "-q").stdout.split()


# ---- exec and terminals ------------------------------------------------------------

def shim_root():
    """Where the runc v2 shim keeps its runtime's state (--root) for NS."""
    return os.path.join("/run/containerd/runc", NS)


@pytest.fixture
def task(ctr, cid):
    ctr("run", "-d", "--runc-binary", VESSEL, IMAGE, cid, "/bin/sleep", "1000", check=True)
    yield cid
    ctr("task", "kill", "-s", "KILL", cid)
    for _ in range(50):
        if ctr("task", "delete", cid).returncode == 0:
            break
        time.sleep(0.1)
    ctr("task", "delete", "-f", cid)
    ctr("containers", "delete", cid)


def test_ctr_task_exec(ctr, task):
    p = ctr("task", "exec", "--exec-id", "e1", task, "/bin/sh", "-c", "echo in-exec; exit 9")
    assert p.returncode == 9, p.stderr
    assert p.stdout.strip() == "in-exec"


def ctr_on_pty(ctr, *args, timeout=60):
    """ctr -t wants a console of its own: run it on a pty, as from a shell."""
    return on_pty(["ctr", "-a", ctr.sock, "-n", NS] + list(args), timeout=timeout)


def test_ctr_task_exec_tty(ctr, task):
    out, rc = ctr_on_pty(ctr, "task", "exec", "-t", "--exec-id", "e2", task, "/bin/sh", "-c",
                         "tty; stty size; exit 3")
    assert rc == 3, out
    assert out.split()[0] == "/dev/pts/0", out


def test_ctr_run_tty(ctr, cid):
    try:
        out, rc = ctr_on_pty(ctr, "run", "--rm", "-t", "--runc-binary", VESSEL, IMAGE, cid,
                             "/bin/sh", "-c", "tty; exit 5")
        assert rc == 5, out
        assert out.split()[0] == "/dev/pts/0", out
    finally:
        ctr("task", "delete", "-f", cid)
        ctr("containers", "delete", cid)


def test_vessel_ps_json_lists_execd_process(ctr, task):
    import json
    proc = subprocess.Popen(["ctr", "-a", ctr.sock, "-n", NS, "task", "exec", "--exec-id",
                             "e3", task, "/bin/sleep", "555"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pids = []
        for _ in range(100):
            p = subprocess.run([VESSEL, "--root", shim_root(), "ps", "--format", "json", task],
                               capture_output=True, text=True)
            assert p.returncode == 0, p.stderr
            pids = json.loads(p.stdout)
            if len(pids) == 2:
                break
            time.sleep(0.1)
        cmds = sorted(open(f"/proc/{pid}/cmdline").read().split("\0")[0:2][1] for pid in pids)
        assert cmds == ["1000", "555"]
    finally:
        proc.kill()
        proc.wait()
