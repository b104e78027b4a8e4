"""Smaller escapes: procfs/sysfs on a symlink in the image, ids starting
with '.', hooks that outlive vessel."""
import json
import os
import signal
import subprocess

import pytest

from cgroup_util import alive, wait_for
from conftest import VESSEL
from test_errors import assert_nothing_left, create_fails


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
