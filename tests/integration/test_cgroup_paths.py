"""linux.cgroupsPath as runc treats it: absolute below each mount point,
relative below the runtime's own cgroup, the systemd slice:prefix:name form
mapped to a cgroupfs path when systemd is not running; delete removes
exactly the directories vessel created."""
import os

import pytest

from cgroup_util import MOUNTS, leftovers, v1


def own_cgroups():
    """{controller or "cgroup2": path} from /proc/self/cgroup (vessel, our
    child, starts in the same cgroups)."""
    out = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            hid, ctrls, path = line.rstrip("\n").split(":", 2)
            if hid == "0" and not ctrls:
                out["cgroup2"] = path
            for c in ctrls.split(","):
                if c:
                    out[c] = path
    return out


def test_absolute_path(vessel, bundle, cid):
    v1("memory")
    bundle.config["linux"]["cgroupsPath"] = f"/vessel-it-{cid}/inner/../{cid}"
    bundle.sh("sleep 1000").write()
    vessel.run("create", "-b", bundle.path, cid, check=True)
    pid = vessel.state(cid)["pid"]
    procs = os.path.join(MOUNTS["memory"], f"vessel-it-{cid}", cid, "cgroup.procs")
    with open(procs) as f:
        assert str(pid) in f.read().split()
    assert not leftovers("inner")
    vessel.run("delete", "--force", cid, check=True)
    # both levels were ours: both are gone
    assert leftovers(cid) == [] and leftovers(f"vessel-it-{cid}") == []


def test_relative_path_is_below_our_own_cgroup(vessel, bundle, cid):
    v1("memory")
    own = own_cgroups()
    rel = f"vessel-rel-{cid}"
    bundle.config["linux"]["cgroupsPath"] = rel
    bundle.sh("sleep 1000").write()
    vessel.run("create", "-b", bundle.path, cid, check=True)
    for c in ("memory", "pids"):
        if c in MOUNTS:
            assert os.path.isdir(MOUNTS[c] + own[c].rstrip("/") + "/" + rel), c
    if "cgroup2" in MOUNTS:
        # on cgroup2 below the parent of our own cgroup (runc)
        parent = os.path.dirname(own["cgroup2"]) if own["cgroup2"] != "/" else "/"
        assert os.path.isdir(MOUNTS["cgroup2"] + parent.rstrip("/") + "/" + rel)
    vessel.run("delete", "--force", cid, check=True)
    assert leftovers(rel) == []


def test_existing_parent_is_kept(vessel, bundle, cid):
    v1("pids")
    parent = os.path.join(MOUNTS["pids"], f"vessel-keep-{cid}")
    os.mkdir(parent)
    try:
        bundle.config["linux"]["cgroupsPath"] = f"/vessel-keep-{cid}/{cid}"
        bundle.sh("sleep 1000").write()
        vessel.run("create", "-b", bundle.path, cid, check=True)
        vessel.run("delete", "--force", cid, check=True)
        # vessel made the parent in the other hierarchies, not in pids
        assert os.path.isdir(parent)
        assert leftovers(f"vessel-keep-{cid}") == [parent]
    finally:
        os.rmdir(parent)


def test_systemd_form_without_systemd(vessel, bundle, cid):
    v1("memory")
    if os.path.exists("/run/systemd/system"):
        pytest.skip("systemd is running on this host")
    bundle.config["linux"]["cgroupsPath"] = f"vessel-it.slice:vit:{cid}"
    bundle.sh("sleep 1000").write()
    p = vessel.run("--systemd-cgroup", "create", "-b", bundle.path, cid)
    assert p.returncode == 0, p.stderr
    assert "systemd is not running" in p.stderr
    assert os.path.isdir(os.path.join(MOUNTS["memory"], "vessel.slice", "vessel-it.slice", f"vit-{cid}.scope"))
    vessel.run("--systemd-cgroup", "delete", "--force", cid, check=True)
    assert leftovers(f"vit-{cid}.scope") == [] and leftovers("vessel-it.slice") == []
    # the form is required with --systemd-cgroup
    bundle.config["linux"]["cgroupsPath"] = "/not/a/slice"
    bundle.write()
    p = vessel.run("--systemd-cgroup", "create", "-b", bundle.path, cid)
    assert p.returncode != 0 and "slice:prefix:name" in p.stderr
    assert leftovers(cid) == []


def test_root_path_is_refused(vessel, bundle, cid):
    bundle.config["linux"]["cgroupsPath"] = "/a/.."
    bundle.sh("true").write()
    p = vessel.run("create", "-b", bundle.path, cid)
    assert p.returncode != 0 and "linux.cgroupsPath" in p.stderr
