"""state.json and cgroup.json are not trusted: a rewritten record must never
make vessel signal, freeze or list an unrelated host process. Each test
starts a victim `sleep` on the host in a throwaway cgroup of its own, creates
a container, rewrites its records, and runs kill, kill --all, ps, pause and
delete --force against it."""
import json
import pathlib
import os
import signal
import subprocess
import time
import uuid

import pytest

from cgroup_util import MOUNTS, alive, wait_for


def start_time(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


def frozen(path):
    """Whether the v1 freezer (or cgroup2) says path is frozen."""
    if "freezer" in MOUNTS:
        with open(os.path.join(MOUNTS["freezer"] + path, "freezer.state")) as f:
            return f.read().strip() != "THAWED"
    with open(os.path.join(MOUNTS["cgroup2"] + path, "cgroup.freeze")) as f:
        return f.read().strip() == "1"


def thaw(path):
    try:
        if "freezer" in MOUNTS:
            with open(os.path.join(MOUNTS["freezer"] + path, "freezer.state"), "w") as f:
                f.write("THAWED")
        else:
            with open(os.path.join(MOUNTS["cgroup2"] + path, "cgroup.freeze"), "w") as f:
                f.write("0")
    except OSError:
        pass


class Victim:
    """A host `sleep` in its own session (so -pid names its process group)
    and in a cgroup of its own in every hierarchy (so a container record
    pointing there reaches it, and only it)."""

    def __init__(self):
        self.path = "/vessel-victim-" + uuid.uuid4().hex[:8]
        self.dirs = []
        for m in sorted(set(MOUNTS.values())):
            d = m + self.path
            os.mkdir(d)
            self.dirs.append(d)
            for f in ("cpuset.cpus", "cpuset.mems"):
                if os.path.exists(os.path.join(d, f)):
                    with open(os.path.join(m, f)) as src, open(os.path.join(d, f), "w") as dst:
                        dst.write(src.read().strip())
        self.proc = subprocess.Popen(["sleep", "1000"], start_new_session=True)
        self.pid = self.proc.pid
        for d in self.dirs:
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write(str(self.pid))
        self.start_time = start_time(self.pid)

    def intact(self):
        return alive(self.pid) and not frozen(self.path)

    def close(self):
        thaw(self.path)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        for d in reversed(self.dirs):
            for _ in range(100):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


class Target:
    """A running container whose records the test rewrites; close() removes
    it by hand whatever vessel still can or cannot do."""

    def __init__(self, vessel, bundle, cid):
        self.vessel, self.cid = vessel, cid
        self.dir = os.path.join(vessel.root, cid)
        bundle.args("sleep", "1000").write()
        vessel.run("create", "--bundle", bundle.path, cid, check=True)
        vessel.run("start", cid, check=True)
        self.pid = vessel.state(cid)["pid"]
        self.start_time = start_time(self.pid)
        with open(os.path.join(self.dir, "cgroups.created")) as f:
            self.cgroups = [l for l in f.read().splitlines() if l]
        self.cgroup = self.load("cgroup.json")

    def load(self, name):
        with open(os.path.join(self.dir, name)) as f:
            return json.load(f)

    def save(self, name, doc):
        with open(os.path.join(self.dir, name), "w") as f:
            json.dump(doc, f)

    def edit_state(self, **fields):
        st = self.load("state.json")
        for k, v in fields.items():
            if v is None:
                st.pop(k, None)
            else:
                st[k] = v
        self.save("state.json", st)

    def point_cgroup_json(self, path, dirs_path=None):
        """cgroup.json naming path, with each directory at mount + dirs_path."""
        cg = self.load("cgroup.json")
        cg["path"] = path
        for h in cg["hierarchies"]:
            h["dir"] = h["mount"] + (dirs_path or path)
        self.save("cgroup.json", cg)

    def close(self):
        # The real init, verified by its start time, then its cgroups.
        if alive(self.pid) and start_time(self.pid) == self.start_time:
            os.kill(self.pid, signal.SIGKILL)
            wait_for(lambda: not alive(self.pid), what="container init to die")
        self.vessel.run("delete", "--force", self.cid)
        for d in reversed(self.cgroups):
            try:
                os.rmdir(d)
            except OSError:
                pass
        subprocess.run(["rm", "-rf", self.dir], check=True)


@pytest.fixture
def victim():
    v = Victim()
    yield v
    v.close()


@pytest.fixture
def target(vessel, bundle, cid, victim):
    t = Target(vessel, bundle, cid)
    yield t
    t.close()


def attack(vessel, target, victim, field):
    """Every command that signals, freezes or lists: the victim survives
    unfrozen and unlisted, each command warns once naming the container and
    the distrusted field, and delete --force removes the state dir."""
    cid = target.cid
    runs = {
        "ps": vessel.run("ps", "--format", "json", cid),
        "pause": vessel.run("pause", cid),
    }
    assert victim.intact(), "pause froze the victim"
    runs["kill"] = vessel.run("kill", cid, "KILL")
    assert victim.intact(), "kill reached the victim"
    runs["kill --all"] = vessel.run("kill", "--all", cid, "KILL")
    assert victim.intact(), "kill --all reached the victim"
    runs["state"] = vessel.run("state", cid)
    runs["delete --force"] = vessel.run("delete", "--force", cid)
    assert victim.intact(), "delete --force reached the victim"
    assert str(victim.pid) not in runs["ps"].stdout
    assert runs["ps"].returncode != 0
    assert runs["pause"].returncode != 0
    assert json.loads(runs["state"].stdout)["status"] == "stopped"
    for what, p in runs.items():
        warnings = [l for l in p.stderr.splitlines() if "warning" in l]
        assert len(warnings) == 1, f"{what}: {p.stderr}"
        assert cid in warnings[0] and field in warnings[0], f"{what}: {warnings[0]}"
    assert runs["delete --force"].returncode == 0, runs["delete --force"].stderr
    assert not os.path.exists(target.dir)
    # The real init was not signalled either: nothing was trusted.
    assert alive(target.pid)


@pytest.mark.parametrize("start", ["removed", "zero"])
def test_victim_pid_without_start_time(vessel, target, victim, start):
    target.edit_state(pid=victim.pid, startTime=None if start == "removed" else 0)
    attack(vessel, target, victim, "startTime")


def test_victim_pid_with_wrong_start_time(vessel, target, victim):
    # A recycled pid looks like this too: not an attack signal by itself, so
    # no warning; the container is simply stopped and nothing is signalled.
    target.edit_state(pid=victim.pid, startTime=victim.start_time + 1)
    for args in (("kill", target.cid, "KILL"), ("kill", "--all", target.cid, "KILL"),
                 ("pause", target.cid)):
        vessel.run(*args)
        assert victim.intact(), args
    assert vessel.state(target.cid)["status"] == "stopped"


def test_pid_as_string(vessel, target, victim):
    # Even with the victim's true start time, a pid that is not a JSON
    # integer is not the one create wrote.
    target.edit_state(pid=str(victim.pid), startTime=victim.start_time)
    attack(vessel, target, victim, "pid")


def test_negative_pid(vessel, target, victim):
    # kill(-pid) would signal the victim's whole process group.
    target.edit_state(pid=-victim.pid, startTime=victim.start_time)
    attack(vessel, target, victim, "pid")


def test_state_cgroup_path_disagrees_with_cgroup_json(vessel, target, victim):
    target.edit_state(cgroupPath=victim.path)
    attack(vessel, target, victim, "cgroupPath")


def test_cgroup_json_removed_and_state_points_at_victim(vessel, target, victim):
    os.unlink(os.path.join(target.dir, "cgroup.json"))
    target.edit_state(cgroupPath=victim.path)
    attack(vessel, target, victim, "cgroup.json")


def test_cgroup_path_with_dotdot(vessel, target, victim):
    sneaky = target.cgroup["path"] + "/../.." + victim.path
    target.edit_state(cgroupPath=sneaky)
    target.point_cgroup_json(sneaky)
    attack(vessel, target, victim, "cgroupPath")


def test_both_records_point_at_victim(vessel, target, victim):
    # Consistent records naming another cgroup: the live init is not in it.
    target.edit_state(cgroupPath=victim.path)
    target.point_cgroup_json(victim.path)
    attack(vessel, target, victim, "cgroupPath")


def test_cgroup_dirs_outside_the_path(vessel, target, victim):
    # Path left alone, the directories redirected.
    target.point_cgroup_json(target.cgroup["path"], dirs_path=victim.path)
    attack(vessel, target, victim, "cgroup.json")


@pytest.mark.parametrize("where", ["host", "cgroup"])
def test_cgroup_record_names_other_directories(vessel, target, victim, tmp_path, where):
    # The record is believed as a whole, but delete removes only directories
    # of the container's own cgroup: not a host tree, not another cgroup.
    if where == "host":
        other = tmp_path / "precious"
        (other / "empty").mkdir(parents=True)
        lines = [str(other)]
        survivors = [other / "empty", other]
    else:
        # An empty cgroup of someone else's, below the victim's.
        child = victim.dirs[0] + "/child"
        os.mkdir(child)
        victim.dirs.append(child)  # removed first on teardown
        lines = [child]
        survivors = [pathlib.Path(child)]
    with open(os.path.join(target.dir, "cgroups.created"), "a") as f:
        f.write("".join(l + "\n" for l in lines))
    p = vessel.run("delete", "--force", target.cid)
    for s in survivors:
        assert s.exists(), f"{s} was removed"
    assert p.returncode == 0, p.stderr
    assert "left alone" in p.stderr
    assert victim.intact()
    assert not os.path.exists(target.dir)
