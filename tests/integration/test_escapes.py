"""Smaller escapes: procfs/sysfs on a symlink in the image, ids starting
with '.', hooks that outlive vessel."""
import json
import os

import pytest

from test_errors import create_fails


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
