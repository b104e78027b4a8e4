"""Behaviour runc and crun share and the runtime-spec asks for, found by
running their test suites against vessel: each test is one such gap."""
import os
import socket
import subprocess
import time

import pytest

from cgroup_util import MOUNTS
from test_errors import assert_nothing_left, create_fails


def run_ok(vessel, bundle, cid):
    p = vessel.run("run", "--bundle", bundle.path, cid)
    assert p.returncode == 0, p.stderr
    return p.stdout


def write_passwd(bundle, text):
    with open(os.path.join(bundle.rootfs, "etc", "passwd"), "w") as f:
        f.write(text)


PASSWD = "root:x:0:0:root:/root:/bin/sh\nsvc:x:1000:1000:a service:/home/svc:/bin/sh\n"


# --- HOME from the image's /etc/passwd -------------------------------------

@pytest.mark.parametrize("uid,home", [(0, "/root"), (1000, "/home/svc"), (4242, "/")])
def test_home_comes_from_the_users_passwd_entry(vessel, bundle, cid, uid, home):
    write_passwd(bundle, PASSWD)
    bundle.config["process"]["user"] = {"uid": uid, "gid": uid}
    bundle.sh('echo "$HOME"').write()
    assert run_ok(vessel, bundle, cid) == home + "\n"


def test_home_given_in_env_is_kept(vessel, bundle, cid):
    write_passwd(bundle, PASSWD)
    bundle.config["process"]["env"].append("HOME=/mine")
    bundle.sh('echo "$HOME"').write()
    assert run_ok(vessel, bundle, cid) == "/mine\n"


def test_home_without_passwd_is_root_dir(vessel, bundle, cid):
    bundle.sh('echo "$HOME"').write()
    assert run_ok(vessel, bundle, cid) == "/\n"


def test_passwd_symlink_never_leaves_the_rootfs(vessel, bundle, cid, tmp_path):
    """Attack: the image's /etc/passwd is an absolute symlink to a host file
    with an entry for the container's uid; the host file must not be read."""
    host = tmp_path / "host-passwd"
    host.write_text("root:x:0:0:root:/from-the-host:/bin/sh\n")
    os.symlink(str(host), os.path.join(bundle.rootfs, "etc", "passwd"))
    bundle.sh('echo "$HOME"').write()
    assert run_ok(vessel, bundle, cid) == "/\n"


def test_passwd_fifo_does_not_hang_create(vessel, bundle, cid):
    """Attack: a FIFO as /etc/passwd would block a plain open/read forever."""
    os.mkfifo(os.path.join(bundle.rootfs, "etc", "passwd"))
    bundle.sh('echo "$HOME"').write()
    p = vessel.run("run", "--bundle", bundle.path, cid, timeout=20)
    assert p.returncode != 0 and "/etc/passwd is not a regular file" in p.stderr
    assert_nothing_left(vessel, cid, bundle)


# --- hostname sysctls --------------------------------------------------------

@pytest.mark.parametrize("field,key", [("hostname", "kernel.hostname"),
                                       ("domainname", "kernel.domainname")])
def test_uts_sysctl_contradicting_the_field_is_an_error(vessel, bundle, cid, field, key):
    bundle.config[field] = "one"
    bundle.config["linux"]["sysctl"] = {key: "other"}
    bundle.write()
    msg = create_fails(vessel, bundle, cid, f"linux.sysctl.{key}")
    assert f'contradicts {field} "one"' in msg


def test_uts_sysctl_agreeing_with_the_field_is_fine(vessel, bundle, cid):
    bundle.config["hostname"] = "same"
    bundle.config["linux"]["sysctl"] = {"kernel.hostname": "same"}
    bundle.sh("hostname").write()
    assert run_ok(vessel, bundle, cid) == "same\n"


# --- namespaces a config does not list are the host's -----------------------

def own_ns(kind):
    return os.readlink(f"/proc/self/ns/{kind}")


def test_only_pid_and_mount_namespaces(vessel, bundle, cid):
    bundle.config["linux"]["namespaces"] = [{"type": "pid"}, {"type": "mount"}]
    bundle.config.pop("hostname", None)  # it would be the host's
    bundle.sh("echo $$; for n in net ipc uts mnt; do readlink /proc/self/ns/$n; done").write()
    lines = run_ok(vessel, bundle, cid).split()
    assert lines[0] == "1"
    assert lines[1:4] == [own_ns("net"), own_ns("ipc"), own_ns("uts")]
    assert lines[4] != own_ns("mnt")
    assert_nothing_left(vessel, cid, bundle)


def no_namespaces(bundle):
    """A config that lists no namespace: the container shares the host's."""
    bundle.config["linux"]["namespaces"] = []
    bundle.config["mounts"] = []
    bundle.config.pop("hostname", None)
    for key in ("maskedPaths", "readonlyPaths"):
        bundle.config["linux"].pop(key, None)


def test_no_namespaces_shares_the_hosts_and_delete_kills_only_the_container(vessel, bundle, cid):
    no_namespaces(bundle)
    bundle.args("sleep", "60").write()
    # A host process the container's delete must leave alone.
    neighbour = subprocess.Popen(["sleep", "60"])
    try:
        vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
        pid = vessel.state(cid)["pid"]
        for kind in ("pid", "net", "ipc", "uts", "mnt", "cgroup"):
            assert os.readlink(f"/proc/{pid}/ns/{kind}") == own_ns(kind), kind
        assert os.readlink(f"/proc/{pid}/root") == bundle.rootfs
        vessel.run("delete", "--force", cid, check=True)
        assert not os.path.exists(f"/proc/{pid}/cmdline") or \
            open(f"/proc/{pid}/stat").read().split()[2] == "Z"
        assert neighbour.poll() is None, "delete killed a host process"
        assert_nothing_left(vessel, cid, bundle)
    finally:
        neighbour.kill()
        neighbour.wait()


def test_no_namespaces_runs_in_the_rootfs(vessel, bundle, cid):
    no_namespaces(bundle)
    with open(os.path.join(bundle.rootfs, "marker"), "w") as f:
        f.write("inside\n")
    bundle.sh("cat /marker; echo $$").write()
    out = run_ok(vessel, bundle, cid).split()
    assert out[0] == "inside" and out[1] != "1"
    assert_nothing_left(vessel, cid, bundle)


@pytest.mark.parametrize("mutate,field", [
    (lambda c: c["mounts"].append({"destination": "/proc", "type": "proc", "source": "proc"}),
     "mounts[0] (/proc)"),
    (lambda c: c["linux"].__setitem__("maskedPaths", ["/proc/kcore"]), "linux.maskedPaths"),
    (lambda c: c["linux"].__setitem__("readonlyPaths", ["/proc/sys"]), "linux.readonlyPaths"),
    (lambda c: c["root"].__setitem__("readonly", True), "root.readonly"),
])
def test_without_a_mount_namespace_nothing_is_mounted_on_the_host(vessel, bundle, cid, mutate, field):
    """runc 1.1 refuses masked/readonly paths there and makes `mounts` in the
    host's namespace (where they stay); vessel refuses all of them."""
    no_namespaces(bundle)
    mutate(bundle.config)
    bundle.write()
    with open("/proc/self/mountinfo") as f:
        before = f.read()
    create_fails(vessel, bundle, cid, f"{field}: needs a mount namespace")
    with open("/proc/self/mountinfo") as f:
        assert f.read() == before


# --- hostname in a joined uts namespace --------------------------------------

def test_hostname_is_set_in_a_joined_uts_namespace(vessel, bundle, cid):
    holder = subprocess.Popen(["unshare", "--uts", "sleep", "60"])
    try:
        ns = f"/proc/{holder.pid}/ns/uts"
        deadline = time.time() + 5
        while os.readlink(ns) == own_ns("uts") and time.time() < deadline:
            time.sleep(0.01)
        host_name = socket.gethostname()
        bundle.config["linux"]["namespaces"] = [
            {"type": "uts", "path": ns} if n["type"] == "uts" else n
            for n in bundle.config["linux"]["namespaces"]]
        bundle.config["hostname"] = "joined-host"
        bundle.sh("hostname; readlink /proc/self/ns/uts").write()
        name, inside = run_ok(vessel, bundle, cid).split()
        assert name == "joined-host" and inside == os.readlink(ns)
        held = subprocess.run(["nsenter", "-t", str(holder.pid), "-u", "hostname"],
                              capture_output=True, text=True, check=True).stdout
        assert held == "joined-host\n"
        assert socket.gethostname() == host_name
    finally:
        holder.kill()
        holder.wait()


# --- bind-mount sources are opened by the runtime -----------------------------

def userns_bundle(tmp_path, name):
    """A bundle whose root is host uid 100000 (which must reach the rootfs)."""
    from conftest import Bundle
    d = str(tmp_path)
    os.chmod(d, 0o755)
    while d != "/":
        d = os.path.dirname(d)
        os.chmod(d, os.stat(d).st_mode | 0o011)
    b = Bundle(str(tmp_path / name))
    b.config["linux"]["namespaces"].append({"type": "user"})
    b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    return b


def test_bind_source_the_container_user_cannot_reach(vessel, cid, tmp_path):
    """As in runc: the runtime opens the source before the init enters the
    user namespace, so a source below a 0700 host directory still works."""
    b = userns_bundle(tmp_path, "userns-bundle")
    locked = tmp_path / "locked"
    (locked / "data").mkdir(parents=True)
    os.chmod(locked, 0o700)
    (locked / "data" / "file").write_text("reached\n")
    os.chmod(locked / "data", 0o755)
    os.chmod(locked / "data" / "file", 0o644)
    os.mkdir(os.path.join(b.rootfs, "data"))  # the mapped root cannot create it
    b.config["mounts"].append({"destination": "/data", "type": "bind",
                               "source": str(locked / "data"), "options": ["rbind", "ro"]})
    b.sh("cat /data/file").write()
    p = vessel.run("run", "--bundle", b.path, cid)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "reached\n"
    assert_nothing_left(vessel, cid, b)


def test_bad_bind_source_names_its_key(vessel, bundle, cid, tmp_path):
    bundle.config["mounts"].append({"destination": "/data", "type": "bind",
                                    "source": str(tmp_path / "missing"), "options": ["rbind"]})
    n = len(bundle.config["mounts"]) - 1
    bundle.write()
    msg = create_fails(vessel, bundle, cid, f"mounts[{n}].source: {tmp_path}/missing")
    assert "No such file or directory" in msg


def test_unreadable_bind_source_in_userns_is_reported_by_key(vessel, cid, tmp_path):
    """Not "sync with container init: Connection reset by peer"."""
    b = userns_bundle(tmp_path, "userns-bundle")
    b.config["mounts"].append({"destination": "/data", "type": "bind",
                               "source": str(tmp_path / "nothing-here"), "options": ["rbind"]})
    n = len(b.config["mounts"]) - 1
    b.write()
    msg = create_fails(vessel, b, cid, f"mounts[{n}].source: {tmp_path}/nothing-here")
    assert "sync with container init" not in msg


def add_volumes(b, tmp_path, n):
    for i in range(n):
        d = tmp_path / f"vol{i}"
        d.mkdir()
        os.makedirs(os.path.join(b.rootfs, f"vol{i}"), exist_ok=True)
        b.config["mounts"].append({"destination": f"/vol{i}", "type": "bind",
                                   "source": str(d), "options": ["rbind"]})


@pytest.mark.parametrize("fd", range(3, 10))
def test_bind_source_fds_do_not_reach_the_image(vessel, cid, tmp_path, fd):
    """Attack (CVE-2024-21626 shape): cwd /proc/self/fd/N aimed at the host
    directory fds the runtime passed for bind mounts (user namespace: the
    path where they exist); ../ from one would walk the host's tree."""
    b = userns_bundle(tmp_path, "userns-bundle")
    add_volumes(b, tmp_path, 4)
    b.config["process"]["cwd"] = f"/proc/self/fd/{fd}"
    b.sh("ls ..; pwd").write()
    p = vessel.run("run", "--bundle", b.path, cid)
    assert p.returncode != 0, p.stdout
    assert_nothing_left(vessel, cid, b)


def test_created_init_holds_no_bind_source_fd(vessel, cid, tmp_path):
    b = userns_bundle(tmp_path, "userns-bundle")
    add_volumes(b, tmp_path, 3)
    b.args("true").write()
    vessel.run("create", "--bundle", b.path, cid, check=True)
    pid = vessel.state(cid)["pid"]
    fds = os.listdir(f"/proc/{pid}/fd")
    for f in fds:
        assert not os.path.isdir(f"/proc/{pid}/fd/{f}"), os.readlink(f"/proc/{pid}/fd/{f}")
    assert len(fds) <= 5, [os.readlink(f"/proc/{pid}/fd/{f}") for f in fds]
    vessel.run("delete", "--force", cid, check=True)
    assert_nothing_left(vessel, cid, b)


# --- the default /vessel parent goes with the last container ------------------

def vessel_parents():
    return sorted({os.path.join(m, "vessel") for m in MOUNTS.values()
                   if os.path.isdir(os.path.join(m, "vessel"))})


def empty_vessel_parents():
    """/vessel directories holding no container (others may be testing at
    the same time: a parent with a child cgroup is theirs to remove)."""
    return [p for p in vessel_parents()
            if not any(e.is_dir() for e in os.scandir(p))]


def test_empty_default_parent_is_removed_with_the_last_container(vessel, bundle, cid):
    """The record of a container made by an older vessel (or by a create
    that died between mkdir and record) does not list /vessel; delete must
    remove it anyway once it is empty."""
    bundle.args("true").write()
    vessel.run("create", "--bundle", bundle.path, cid, check=True)
    record = os.path.join(vessel.root, cid, "cgroups.created")
    with open(record) as f:
        lines = [l for l in f.read().splitlines() if not l.endswith("/vessel")]
    assert lines, "no cgroup recorded"
    with open(record, "w") as f:
        f.write("\n".join(lines) + "\n")
    assert vessel_parents(), "no /vessel parent was made"
    vessel.run("delete", cid, check=True)
    assert empty_vessel_parents() == []
    assert_nothing_left(vessel, cid, bundle)


def test_exec_without_a_mount_namespace_runs_in_the_rootfs(vessel, bundle, cid):
    # The init chroot'ed; an exec'd process must too, or its cwd, program
    # and HOME would be the host's (found by an attack review).
    no_namespaces(bundle)
    with open(os.path.join(bundle.rootfs, "marker"), "w") as f:
        f.write("inside\n")
    bundle.sh("sleep 1000").write()
    vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
    p = vessel.run("exec", cid, "/bin/sh", "-c", "cat /marker; ls /work 2>&1 | head -1")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0] == "inside"
    assert "No such file" in p.stdout
