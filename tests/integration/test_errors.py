"""Bad input: one clear line naming the field or path, a nonzero exit, and
nothing left behind (no state dir, no cgroup, no mount, no process)."""
import glob
import os

import pytest
from cgroup_util import leftovers


def assert_nothing_left(vessel, cid, bundle):
    assert not os.path.exists(os.path.join(vessel.root, cid)), "state dir left behind"
    assert leftovers(cid) == [], "cgroup left behind"
    with open("/proc/self/mountinfo") as f:
        assert bundle.path not in f.read(), "mount left behind"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                assert cid.encode() not in f.read(), f"process {pid} left behind"
        except FileNotFoundError:
            pass


def create_fails(vessel, bundle, cid, expect):
    p = vessel.run("create", "--bundle", bundle.path, cid)
    assert p.returncode != 0
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, p.stderr
    assert expect in lines[0], lines[0]
    assert cid in lines[0]
    assert_nothing_left(vessel, cid, bundle)
    return lines[0]


def test_invalid_json(vessel, bundle, cid):
    with open(bundle.config_path, "w") as f:
        f.write('{"ociVersion": "1.0.2", "process": ')
    create_fails(vessel, bundle, cid, "config.json: invalid JSON")


@pytest.mark.parametrize("mutate,expect", [
    (lambda c: c["process"].__setitem__("args", "sh"), "process.args: expected an array"),
    (lambda c: c["process"]["user"].__setitem__("uid", "root"), "process.user.uid: expected an integer"),
    (lambda c: c.__setitem__("hostname", 42), "hostname: expected a string"),
    (lambda c: c["root"].__setitem__("readonly", "yes"), "root.readonly: expected a boolean"),
    (lambda c: c["linux"].__setitem__("namespaces", {"type": "pid"}), "linux.namespaces: expected an array"),
    (lambda c: c["mounts"][0].__setitem__("options", "ro"), "mounts[0].options: expected an array"),
])
def test_wrong_types(vessel, bundle, cid, mutate, expect):
    mutate(bundle.config)
    bundle.write()
    create_fails(vessel, bundle, cid, expect)


def test_unknown_namespace(vessel, bundle, cid):
    bundle.config["linux"]["namespaces"].append({"type": "bogus"})
    bundle.write()
    create_fails(vessel, bundle, cid, 'unknown namespace "bogus"')


def test_duplicate_namespace(vessel, bundle, cid):
    bundle.config["linux"]["namespaces"].append({"type": "pid"})
    bundle.write()
    create_fails(vessel, bundle, cid, 'duplicate namespace "pid"')


def test_missing_namespace_path(vessel, bundle, cid):
    bundle.config["linux"]["namespaces"].append({"type": "time", "path": "/proc/self/ns/nope"})
    bundle.write()
    create_fails(vessel, bundle, cid, "/proc/self/ns/nope")


def test_missing_rootfs(vessel, bundle, cid):
    bundle.config["root"]["path"] = "no-such-rootfs"
    bundle.write()
    create_fails(vessel, bundle, cid, "root.path")


def test_bad_mount_type(vessel, bundle, cid):
    bundle.config["mounts"].append({"destination": "/mnt/x", "type": "nosuchfs", "source": "none"})
    bundle.write()
    line = create_fails(vessel, bundle, cid, "mounts[")
    assert "nosuchfs" in line and "/mnt/x" in line


def test_bad_bind_source(vessel, bundle, cid):
    bundle.config["mounts"].append({"destination": "/mnt/x", "type": "bind", "source": "/no/such/dir",
                                    "options": ["rbind"]})
    bundle.write()
    create_fails(vessel, bundle, cid, "/no/such/dir")


def test_duplicate_rlimit(vessel, bundle, cid):
    bundle.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 2},
                                           {"type": "RLIMIT_NOFILE", "soft": 1, "hard": 2}]
    bundle.write()
    create_fails(vessel, bundle, cid, "duplicate rlimit RLIMIT_NOFILE")


def test_nonexistent_program(vessel, bundle, cid):
    bundle.args("/bin/no-such-program").write()
    create_fails(vessel, bundle, cid, 'process.args[0]: exec "/bin/no-such-program"')
    bundle.args("no-such-program").write()
    create_fails(vessel, bundle, cid, "executable file not found in $PATH")


def test_missing_config(vessel, tmp_path, cid):
    class B:
        path = str(tmp_path)
    p = vessel.run("create", "--bundle", str(tmp_path), cid)
    assert p.returncode != 0 and "config.json" in p.stderr
    assert_nothing_left(vessel, cid, B)


def test_failing_sysctl_cleans_up(vessel, bundle, cid):
    bundle.config["linux"]["sysctl"] = {"net.ipv4.no_such_knob": "1"}
    bundle.write()
    create_fails(vessel, bundle, cid, "linux.sysctl net.ipv4.no_such_knob")


def test_host_wide_sysctl_refused(vessel, bundle, cid):
    before = open("/proc/sys/kernel/core_pattern").read()
    bundle.config["linux"]["sysctl"] = {"kernel.core_pattern": "|/bin/false"}
    bundle.write()
    create_fails(vessel, bundle, cid, 'linux.sysctl: "kernel.core_pattern" is not namespaced')
    assert open("/proc/sys/kernel/core_pattern").read() == before


def test_net_sysctl_needs_network_namespace(vessel, bundle, cid):
    bundle.config["linux"]["namespaces"] = [n for n in bundle.config["linux"]["namespaces"]
                                            if n["type"] != "network"]
    bundle.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    bundle.write()
    create_fails(vessel, bundle, cid, "needs a network namespace")


def test_idmap_mount_without_mapping_refused(vessel, bundle, cid):
    bundle.config["mounts"].append({"destination": "/mnt", "type": "bind", "source": "/tmp",
                                    "options": ["rbind", "idmap"]})
    bundle.write()
    create_fails(vessel, bundle, cid, "idmap needs uidMappings/gidMappings or a user namespace")


def test_unknown_command_and_flags(vessel):
    assert vessel.run("frobnicate").returncode != 0
    assert vessel.run("create", "--no-such-flag", "x").returncode != 0
    assert vessel.run("state").returncode != 0  # missing id


def test_operations_on_missing_container(vessel):
    for cmd in (["start", "ghost"], ["state", "ghost"], ["kill", "ghost"], ["delete", "ghost"]):
        p = vessel.run(*cmd)
        assert p.returncode != 0
        assert 'container "ghost" does not exist' in p.stderr
    # --force on a missing container succeeds, as with runc (containerd relies on it)
    assert vessel.run("delete", "--force", "ghost").returncode == 0


def test_help_and_version(vessel):
    p = vessel.run("--version")
    assert p.returncode == 0 and "vessel version" in p.stdout and "spec: 1." in p.stdout
    for cmd in ("create", "start", "state", "kill", "delete", "run", "list", "spec", "features"):
        p = vessel.run(cmd, "--help")
        assert p.returncode == 0 and "usage: vessel " + cmd in p.stdout, cmd
