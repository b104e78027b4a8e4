"""linux.resources on this host's real cgroup hierarchies: limits land in
the files, memory and pids limits bite, update changes live limits, and a
value the host cannot apply fails create, naming controller and file, and
leaves nothing behind."""
import json
import os

import pytest

from cgroup_util import Events, MOUNTS, leftovers, read, v1, v2_has, wait_for


def with_resources(bundle, res, script="sleep 1000"):
    bundle.config["linux"]["resources"].update(res)
    return bundle.sh(script).write()


def test_cpu_memory_pids_land_in_v1_files(vessel, bundle, cid):
    for c in ("cpu", "cpuset", "memory", "pids"):
        v1(c)
    # swap needs swap accounting (memory.memsw.*), which not every v1 host has
    memsw = os.path.exists(os.path.join(MOUNTS["memory"], "memory.memsw.limit_in_bytes"))
    memory = {"limit": 67108864, "reservation": 33554432, "swappiness": 10}
    if memsw:
        memory["swap"] = 134217728
    with_resources(bundle, {
        "cpu": {"shares": 512, "quota": 20000, "period": 100000, "cpus": "0", "mems": "0"},
        "memory": memory,
        "pids": {"limit": 50},
    })
    vessel.run("create", "-b", bundle.path, cid, check=True)
    path = f"/vessel/{cid}"
    assert read("cpu", path, "cpu.shares") == "512"
    assert read("cpu", path, "cpu.cfs_quota_us") == "20000"
    assert read("cpu", path, "cpu.cfs_period_us") == "100000"
    assert read("cpuset", path, "cpuset.cpus") == "0"
    assert read("cpuset", path, "cpuset.mems") == "0"
    assert read("memory", path, "memory.limit_in_bytes") == "67108864"
    assert read("memory", path, "memory.soft_limit_in_bytes") == "33554432"
    assert read("memory", path, "memory.swappiness") == "10"
    if memsw:
        assert read("memory", path, "memory.memsw.limit_in_bytes") == "134217728"
    assert read("pids", path, "pids.max") == "50"
    # the init joined every hierarchy before it could exec
    pid = vessel.state(cid)["pid"]
    for c in ("cpu", "memory", "pids"):
        assert str(pid) in read(c, path, "cgroup.procs").split()
    vessel.run("delete", "--force", cid, check=True)
    assert leftovers(cid) == []


def test_default_device_rules_v1(vessel, bundle, cid):
    v1("devices")
    with_resources(bundle, {"devices": [{"allow": False, "access": "rwm"},
                                        {"allow": True, "type": "c", "major": 1, "minor": 1, "access": "r"}]},
                   "cat /dev/null && echo null-ok; head -c 1 /dev/mem >/dev/null 2>&1 || echo mem-denied")
    p = vessel.run("run", "-b", bundle.path, cid)
    assert p.returncode == 0, p.stderr
    assert "null-ok" in p.stdout and "mem-denied" in p.stdout


def test_hugetlb_on_cgroup2_of_hybrid_host(vessel, bundle, cid):
    root, ok = v2_has("hugetlb")
    if root is None or "hugetlb" in MOUNTS:
        pytest.skip("this test is for a hybrid host whose hugetlb lives in cgroup2")
    if not ok:
        pytest.skip(f"hugetlb is not in {root}/cgroup.controllers: it is gone from cgroup2 on this host")
    with_resources(bundle, {"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]})
    vessel.run("create", "-b", bundle.path, cid, check=True)
    with open(f"{root}/vessel/{cid}/hugetlb.2MB.max") as f:
        assert f.read().strip() == "4194304"
    p = vessel.run("events", "--stats", cid, check=True)
    assert "2MB" in json.loads(p.stdout)["data"]["hugetlb"]
    vessel.run("delete", cid, check=True)
    assert leftovers(cid) == []


def test_memory_limit_oom_kills_and_events_reports_it(vessel, bundle, cid, tmp_path):
    v1("memory")
    rootfs = tmp_path / "bundle" / "rootfs"
    # 16M limit (and no swap to escape into); dd wants a 64M buffer.
    memory = {"limit": 16 << 20}
    if os.path.exists(os.path.join(MOUNTS["memory"], "memory.memsw.limit_in_bytes")):
        memory["swap"] = 16 << 20
    with_resources(bundle, {"memory": memory},
                   "while [ ! -e /tmp/go ]; do sleep 0.05; done; "
                   "dd if=/dev/zero of=/dev/null bs=64M count=1; echo $? > /tmp/dd.rc; sleep 1000")
    vessel.run("run", "-d", "-b", bundle.path, cid, check=True)
    ev = Events(vessel, "--interval", "1s", cid)
    try:
        # The first sample means the OOM watch is in place.
        first = ev.next()
        assert first and first["type"] == "stats" and first["id"] == cid
        (rootfs / "tmp" / "go").touch()
        assert ev.until("oom") == {"type": "oom", "id": cid}
        rc = wait_for(lambda: (rootfs / "tmp" / "dd.rc").exists() and (rootfs / "tmp" / "dd.rc").read_text(),
                      what="dd to finish")
        assert rc.strip() == "137"  # SIGKILLed by the OOM killer; the shell lives on
        assert vessel.state(cid)["status"] == "running"
        vessel.run("delete", "--force", cid, check=True)
        # events ends on its own once the container is gone
        ev.p.wait(timeout=15)
    finally:
        ev.close()
    assert leftovers(cid) == []


def test_pids_limit_makes_fork_fail(vessel, bundle, cid):
    v1("pids")
    # the shell plus three sleeps fill a limit of 4
    with_resources(bundle, {"pids": {"limit": 4}}, "for i in 1 2 3 4 5 6; do sleep 1000 & done; echo loop-done")
    p = vessel.run("run", "-b", bundle.path, cid)
    assert "can't fork" in p.stderr
    assert "loop-done" not in p.stdout
    assert leftovers(cid) == []


def test_update_changes_live_limits(vessel, bundle, cid):
    for c in ("cpu", "memory", "pids", "cpuset"):
        v1(c)
    with_resources(bundle, {"memory": {"limit": 64 << 20, "swap": 64 << 20}, "pids": {"limit": 20}})
    vessel.run("run", "-d", "-b", bundle.path, cid, check=True)
    path = f"/vessel/{cid}"
    # raising memory above the old memory+swap needs both, in the right order
    vessel.run("update", "--memory", "128m", "--memory-swap", "128m", "--pids-limit", "30",
               "--cpu-shares", "300", "--cpu-quota", "30000", "--cpu-period", "100000",
               "--cpuset-cpus", "1", cid, check=True)
    assert read("memory", path, "memory.limit_in_bytes") == str(128 << 20)
    assert read("pids", path, "pids.max") == "30"
    assert read("cpu", path, "cpu.shares") == "300"
    assert read("cpu", path, "cpu.cfs_quota_us") == "30000"
    assert read("cpuset", path, "cpuset.cpus") == "1"
    # and lowering again, from a LinuxResources document on stdin
    doc = json.dumps({"memory": {"limit": 32 << 20, "swap": 32 << 20}, "cpu": {"shares": 700}})
    p = vessel.run("update", "--resources", "-", cid, input=doc.encode(), stdin=None)
    assert p.returncode == 0, p.stderr
    assert read("memory", path, "memory.limit_in_bytes") == str(32 << 20)
    assert read("cpu", path, "cpu.shares") == "700"
    # the runc spelling of the flag works too
    vessel.run("update", "--cpu-share", "800", cid, check=True)
    assert read("cpu", path, "cpu.shares") == "800"
    p = vessel.run("update", "--memory", "lots", cid)
    assert p.returncode != 0 and "--memory" in p.stderr
    vessel.run("kill", cid, "KILL", check=True)
    wait_for(lambda: vessel.state(cid)["status"] == "stopped", what="stop")
    p = vessel.run("update", "--pids-limit", "5", cid)
    assert p.returncode != 0 and "stopped" in p.stderr
    vessel.run("delete", cid, check=True)
    assert leftovers(cid) == []


@pytest.mark.parametrize("res, controller, needle", [
    ({"network": {"classID": 1048577}}, "net_cls", "net_cls"),
    ({"hugepageLimits": [{"pageSize": "3MB", "limit": 1}]}, "hugetlb", "hugetlb.3MB"),
    ({"cpu": {"realtimeRuntime": 2000000000, "realtimePeriod": 1000000}}, "cpu", "cpu.rt_"),
    ({"unified": {"memory.max": "100"}}, "memory", "memory.max"),
])
def test_unappliable_value_fails_naming_controller_and_file(vessel, bundle, cid, res, controller, needle):
    if controller in MOUNTS and controller == "net_cls":
        pytest.skip("this host has net_cls: nothing missing to report")
    if controller == "memory" and "memory" not in MOUNTS:
        pytest.skip("memory lives in cgroup2 here: unified memory.max is valid")
    with_resources(bundle, res)
    p = vessel.run("create", "-b", bundle.path, cid)
    assert p.returncode != 0
    assert f"cgroup {controller}: " in p.stderr, p.stderr
    assert needle in p.stderr, p.stderr
    # a failed create leaves nothing: no state, no cgroup directory, no process
    assert not os.path.exists(os.path.join(vessel.root, cid))
    assert leftovers(cid) == []


def test_bad_resources_fail_before_touching_the_host(vessel, bundle, cid):
    with_resources(bundle, {"memory": {"swappiness": 500}})
    p = vessel.run("create", "-b", bundle.path, cid)
    assert p.returncode != 0 and "linux.resources.memory.swappiness" in p.stderr
    assert leftovers(cid) == []


def test_prestart_hooks_see_the_limits(vessel, bundle, cid, tmp_path):
    v1("memory")
    seen = tmp_path / "seen"
    limit = os.path.join(MOUNTS["memory"], "vessel", cid, "memory.limit_in_bytes")
    bundle.config["hooks"] = {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", f"cat {limit} > {seen}"]}]}
    with_resources(bundle, {"memory": {"limit": 48 << 20}}, "true")
    p = vessel.run("run", "-b", bundle.path, cid)
    assert p.returncode == 0, p.stderr
    assert seen.read_text().strip() == str(48 << 20)
