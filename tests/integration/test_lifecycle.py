"""The OCI lifecycle through the CLI: create/start/state/kill/delete/run."""
import json

from cgroup_util import alive, leftovers, wait_for
import os
import signal
import time


def wait_status(vessel, cid, status, timeout=10):
    """Polls state; a container not created yet (run still starting) is waited for."""
    deadline = time.time() + timeout
    st = None
    while time.time() < deadline:
        p = vessel.run("state", cid)
        if p.returncode == 0:
            st = json.loads(p.stdout)
            if st["status"] == status:
                return st
        time.sleep(0.05)
    raise AssertionError(f"{cid} never reached {status}: {st}")


def test_run_prints_and_returns_exit_code(vessel, bundle, cid):
    bundle.sh("echo hello; exit 7").write()
    p = vessel.run("run", "--bundle", bundle.path, cid)
    assert p.stdout == "hello\n"
    assert p.returncode == 7
    # run without --detach deletes the container afterwards
    assert not os.path.exists(os.path.join(vessel.root, cid))


def test_run_killed_by_signal_gives_128_plus_signal(vessel, bundle, cid):
    # Without a pid namespace the program is not an init, so the kernel
    # delivers a signal it does not handle.
    ns = bundle.config["linux"]["namespaces"]
    bundle.config["linux"]["namespaces"] = [n for n in ns if n["type"] != "pid"]
    bundle.sh("kill -SEGV $$").write()
    p = vessel.run("run", "-b", bundle.path, cid)
    assert p.returncode == 128 + signal.SIGSEGV


def test_create_start_state_delete(vessel, bundle, cid, tmp_path):
    marker = tmp_path / "bundle" / "rootfs" / "tmp" / "started"
    bundle.sh("touch /tmp/started; sleep 30").write()
    pidfile = tmp_path / "pid"
    vessel.run("create", "--bundle", bundle.path, "--pid-file", pidfile, cid, check=True)
    st = vessel.state(cid)
    assert st["status"] == "created"
    assert st["ociVersion"]
    assert st["id"] == cid
    assert st["bundle"] == bundle.path
    assert st["pid"] == int(pidfile.read_text())
    assert st["owner"] == "root"
    assert st["pid"] > 0
    # create does not run the program: the marker must not appear
    time.sleep(0.3)
    assert not marker.exists()
    vessel.run("start", cid, check=True)
    wait_status(vessel, cid, "running")
    deadline = time.time() + 5
    while not marker.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert marker.exists()
    # a running container refuses plain delete and a second start
    p = vessel.run("delete", cid)
    assert p.returncode != 0 and "running" in p.stderr
    p = vessel.run("start", cid)
    assert p.returncode != 0 and "not created" in p.stderr
    vessel.run("kill", cid, "KILL", check=True)
    wait_status(vessel, cid, "stopped")
    p = vessel.run("kill", cid)
    assert p.returncode != 0 and "not running" in p.stderr
    vessel.run("delete", cid, check=True)
    assert not os.path.exists(os.path.join(vessel.root, cid))
    p = vessel.run("state", cid)
    assert p.returncode != 0 and "does not exist" in p.stderr


def test_annotations_in_state(vessel, bundle, cid):
    bundle.config["annotations"] = {"org.example.key": "value"}
    bundle.sh("sleep 10").write()
    vessel.run("create", "-b", bundle.path, cid, check=True)
    assert vessel.state(cid)["annotations"] == {"org.example.key": "value"}
    vessel.run("delete", cid, check=True)


def test_delete_force_running(vessel, bundle, cid):
    bundle.sh("sleep 60").write()
    vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
    pid = wait_status(vessel, cid, "running")["pid"]
    vessel.run("delete", "--force", cid, check=True)
    assert not alive(pid)
    assert not os.path.exists(os.path.join(vessel.root, cid))
    assert leftovers(cid) == []  # any layout: v1, v2 or hybrid


def test_kill_signal_names(vessel, bundle, cid):
    # sh is pid 1 here: a signal before its trap is installed would be dropped
    bundle.sh("trap 'exit 42' USR1; touch /tmp/trapped; while true; do sleep 0.05; done").write()
    vessel.run("run", "-d", "-b", bundle.path, cid, check=True)
    wait_status(vessel, cid, "running")
    wait_for(lambda: os.path.exists(os.path.join(bundle.rootfs, "tmp", "trapped")), what="trap")
    assert vessel.run("kill", cid, "NOPE").returncode != 0
    vessel.run("kill", cid, "SIGUSR1", check=True)
    wait_status(vessel, cid, "stopped")
    vessel.run("delete", cid, check=True)


def test_list_table_and_json(vessel, bundle, cid):
    bundle.sh("sleep 30").write()
    vessel.run("create", "-b", bundle.path, cid, check=True)
    p = vessel.run("list", check=True)
    lines = p.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "PID", "STATUS"]
    assert any(l.split()[0] == cid and l.split()[2] == "created" for l in lines[1:])
    items = json.loads(vessel.run("list", "--format", "json", check=True).stdout)
    assert [i["id"] for i in items] == [cid]
    assert items[0]["status"] == "created"
    assert items[0]["owner"] == "root"
    assert vessel.run("list", "-q", check=True).stdout.split() == [cid]
    vessel.run("delete", "--force", cid, check=True)


def test_duplicate_id_refused(vessel, bundle, cid):
    bundle.sh("sleep 30").write()
    vessel.run("create", "-b", bundle.path, cid, check=True)
    p = vessel.run("create", "-b", bundle.path, cid)
    assert p.returncode != 0 and "already exists" in p.stderr
    assert vessel.state(cid)["status"] == "created"
    vessel.run("delete", cid, check=True)


def test_invalid_ids(vessel, bundle):
    bundle.write()
    for bad in ["", "a/b", "..", ".", "x" * 1025, "a b"]:
        p = vessel.run("create", "-b", bundle.path, bad)
        assert p.returncode != 0, bad
        assert "invalid container id" in p.stderr or "missing container id" in p.stderr
    assert not os.path.exists(vessel.root) or os.listdir(vessel.root) == []


def test_kill_and_delete_reach_a_container_run_is_waiting_on(vessel, bundle, cid):
    """run must not hold the container lock while it waits."""
    import subprocess
    from conftest import VESSEL
    bundle.sh("sleep 30").write()
    proc = subprocess.Popen([VESSEL, "--root", vessel.root, "run", "-b", bundle.path, cid],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_status(vessel, cid, "running")
        start = time.time()
        vessel.run("kill", cid, "KILL", check=True, timeout=10)
        assert proc.wait(timeout=10) == 128 + signal.SIGKILL
        assert time.time() - start < 5
        assert not os.path.exists(os.path.join(vessel.root, cid))
    finally:
        proc.kill()
        proc.wait()


def test_delete_force_while_run_waits(vessel, bundle, cid):
    import subprocess
    from conftest import VESSEL
    bundle.sh("sleep 30").write()
    proc = subprocess.Popen([VESSEL, "--root", vessel.root, "run", "-b", bundle.path, cid],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_status(vessel, cid, "running")
        vessel.run("delete", "--force", cid, check=True, timeout=10)
        assert proc.wait(timeout=10) == 128 + signal.SIGKILL
        assert not os.path.exists(os.path.join(vessel.root, cid))
    finally:
        proc.kill()
        proc.wait()


def test_delete_force_refuses_corrupt_state(vessel, bundle, cid):
    bundle.sh("sleep 30").write()
    vessel.run("create", "-b", bundle.path, cid, check=True)
    state_file = os.path.join(vessel.root, cid, "state.json")
    good = open(state_file).read()
    with open(state_file, "w") as f:
        f.write("{garbage")
    p = vessel.run("delete", "--force", cid)
    assert p.returncode != 0 and "corrupt" in p.stderr
    with open(state_file, "w") as f:
        f.write(good)
    vessel.run("delete", "--force", cid, check=True)


def test_start_fails_when_the_program_cannot_be_executed(vessel, bundle, cid):
    import shutil
    victim = os.path.join(bundle.rootfs, "bin", "victim")
    shutil.copy("/bin/busybox", victim)
    bundle.args("/bin/victim", "true").write()
    vessel.run("create", "-b", bundle.path, cid, check=True)
    os.unlink(victim)  # gone between create's check and start's exec
    p = vessel.run("start", cid)
    assert p.returncode != 0
    assert "did not start" in p.stderr and "exec /bin/victim" in p.stderr
    wait_status(vessel, cid, "stopped")
    vessel.run("delete", cid, check=True)
