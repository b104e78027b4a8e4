"""Operations through the container's cgroup: pause/resume, ps, events
--stats, kill --all and delete --force reaching every member (also ones
outside the pid namespace's process tree), and no cgroup directory left
behind."""
import json
import os
import subprocess
import time

from cgroup_util import MOUNTS, alive, leftovers, read, v1, wait_for


def counter(bundle, tmp_path):
    """A workload that keeps counting into rootfs/tmp/count."""
    bundle.sh("i=0; while true; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; done").write()
    return tmp_path / "bundle" / "rootfs" / "tmp" / "count"


def count(path):
    return wait_for(lambda: path.exists() and path.read_text().strip(), what="the counter")


def test_pause_freezes_and_resume_thaws(vessel, bundle, cid, tmp_path):
    v1("freezer")
    f = counter(bundle, tmp_path)
    vessel.run("run", "-d", "-b", bundle.path, cid, check=True)
    count(f)
    vessel.run("pause", cid, check=True)
    assert vessel.state(cid)["status"] == "paused"
    assert read("freezer", f"/vessel/{cid}", "freezer.state") == "FROZEN"
    # frozen: the counter makes no progress while we look away
    before = count(f)
    time.sleep(0.5)
    assert count(f) == before
    assert vessel.run("list", "--format", "json", check=True).stdout.count('"paused"') == 1
    # pausing twice, or deleting without --force, is refused
    p = vessel.run("pause", cid)
    assert p.returncode != 0 and "paused" in p.stderr
    p = vessel.run("delete", cid)
    assert p.returncode != 0 and "paused" in p.stderr
    vessel.run("resume", cid, check=True)
    assert vessel.state(cid)["status"] == "running"
    wait_for(lambda: count(f) != before, what="the counter to move after resume")
    p = vessel.run("resume", cid)
    assert p.returncode != 0 and "running" in p.stderr
    # a paused container still dies on delete --force (thawed for SIGKILL)
    vessel.run("pause", cid, check=True)
    vessel.run("delete", "--force", cid, check=True)
    assert leftovers(cid) == []


def test_pause_needs_a_running_container(vessel, bundle, cid):
    bundle.sh("sleep 1000").write()
    vessel.run("create", "-b", bundle.path, cid, check=True)
    p = vessel.run("pause", cid)
    assert p.returncode != 0 and "created" in p.stderr
    vessel.run("delete", cid, check=True)


def test_ps_lists_every_pid(vessel, bundle, cid):
    bundle.sh("sleep 1001 & sleep 1002 & wait").write()
    vessel.run("run", "-d", "-b", bundle.path, cid, check=True)
    init = vessel.state(cid)["pid"]
    pids = wait_for(lambda: (lambda v: v if len(v) == 3 else None)(
        json.loads(vessel.run("ps", "--format", "json", cid, check=True).stdout)), what="three processes")
    assert init in pids and pids == sorted(pids)
    table = vessel.run("ps", cid, check=True).stdout.splitlines()
    assert "PID" in table[0].split()
    assert len(table) == 4 and any("sleep 1001" in l for l in table)
    # ps options pass through to ps(1)
    table = vessel.run("ps", cid, "-o", "pid,comm", check=True).stdout.split()
    assert table[:2] == ["PID", "COMMAND"] and str(init) in table
    vessel.run("delete", "--force", cid, check=True)
    assert leftovers(cid) == []


def test_events_stats_has_runcs_shape(vessel, bundle, cid):
    v1("memory")
    bundle.config["linux"]["resources"].update({"memory": {"limit": 64 << 20}, "pids": {"limit": 40}})
    bundle.sh("sleep 1000").write()
    vessel.run("run", "-d", "-b", bundle.path, cid, check=True)
    p = vessel.run("events", "--stats", cid, check=True)
    ev = json.loads(p.stdout)
    assert ev["type"] == "stats" and ev["id"] == cid
    d = ev["data"]
    for key in ("cpu", "memory", "pids", "blkio", "hugetlb", "cpuset"):
        assert key in d
    assert d["memory"]["usage"]["limit"] == 64 << 20
    assert d["memory"]["usage"]["usage"] > 0
    assert d["pids"] == {"current": 1, "limit": 40}
    assert "kernel" in d["cpu"]["usage"] and "user" in d["cpu"]["usage"]
    assert d["memory"]["raw"]["cache"] >= 0
    p = vessel.run("events", "--interval", "soon", cid)
    assert p.returncode != 0 and "--interval" in p.stderr
    vessel.run("delete", "--force", cid, check=True)
    p = vessel.run("events", "--stats", cid)
    assert p.returncode != 0 and "does not exist" in p.stderr


def no_pidns(bundle):
    ns = bundle.config["linux"]["namespaces"]
    bundle.config["linux"]["namespaces"] = [n for n in ns if n["type"] != "pid"]


def orphan_setup(vessel, bundle, cid, tmp_path):
    """Without a pid namespace, a double fork leaves the container's
    process tree: the orphan is reparented outside it but stays in the
    cgroup."""
    no_pidns(bundle)
    bundle.sh("(sleep 1001 &) ; echo started > /tmp/started; exec sleep 1002").write()
    vessel.run("run", "-d", "-b", bundle.path, cid, check=True)
    wait_for(lambda: (tmp_path / "bundle" / "rootfs" / "tmp" / "started").exists(), what="the orphan")
    init = vessel.state(cid)["pid"]
    pids = wait_for(lambda: (lambda v: v if len(v) == 2 else None)(
        json.loads(vessel.run("ps", "--format", "json", cid, check=True).stdout)), what="two processes")
    orphan = [p for p in pids if p != init][0]
    with open(f"/proc/{orphan}/stat") as f:
        assert int(f.read().rsplit(")", 1)[1].split()[1]) != init  # not the init's child
    return init, orphan


def test_kill_all_reaches_processes_outside_the_tree(vessel, bundle, cid, tmp_path):
    init, orphan = orphan_setup(vessel, bundle, cid, tmp_path)
    vessel.run("kill", "--all", cid, "KILL", check=True)
    wait_for(lambda: not alive(orphan) and not alive(init), what="both processes to die")
    vessel.run("delete", cid, check=True)
    assert leftovers(cid) == []


def test_delete_force_reaches_processes_outside_the_tree(vessel, bundle, cid, tmp_path):
    init, orphan = orphan_setup(vessel, bundle, cid, tmp_path)
    vessel.run("delete", "--force", cid, check=True)
    assert not alive(orphan) and not alive(init)
    assert leftovers(cid) == []


def test_delete_force_reaches_a_process_never_in_the_pid_namespace(vessel, bundle, cid):
    for c in ("memory", "pids"):
        v1(c)
    bundle.sh("sleep 1000").write()
    vessel.run("run", "-d", "-b", bundle.path, cid, check=True)
    # A host process moved into the container's cgroups (as an exec'd or
    # escaped process would be): never in its pid namespace at all.
    outsider = subprocess.Popen(["sleep", "1000"])
    try:
        for m in set(MOUNTS.values()):
            procs = os.path.join(m, "vessel", cid, "cgroup.procs")
            if os.path.exists(procs):
                with open(procs, "w") as f:
                    f.write(str(outsider.pid))
        pids = json.loads(vessel.run("ps", "--format", "json", cid, check=True).stdout)
        assert outsider.pid in pids
        vessel.run("delete", "--force", cid, check=True)
        assert outsider.wait(timeout=10) == -9
    finally:
        if outsider.poll() is None:
            outsider.kill()
            outsider.wait()
    assert leftovers(cid) == []


def test_delete_leaves_no_cgroup_directory(vessel, bundle, cid):
    bundle.sh("sleep 1000").write()
    vessel.run("create", "-b", bundle.path, cid, check=True)
    # one directory in each hierarchy, all gone after delete
    assert len(leftovers(cid)) == len(set(MOUNTS.values()))
    vessel.run("delete", cid, check=True)
    assert leftovers(cid) == []
