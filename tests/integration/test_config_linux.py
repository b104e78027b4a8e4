"""What config.json must do inside the container: namespaces, rootfs,
mounts, /dev, process attributes. Each test reads the effect from inside."""
import os
import subprocess

import pytest


def run_sh(vessel, bundle, cid, script, **kw):
    bundle.sh(script).write()
    p = vessel.run("run", "--bundle", bundle.path, cid, **kw)
    assert p.returncode == 0, p.stderr
    return p.stdout


def ns_list(bundle):
    return bundle.config["linux"]["namespaces"]


def test_hostname_and_domainname(vessel, bundle, cid):
    bundle.config["hostname"] = "inside-host"
    bundle.config["domainname"] = "example.org"
    out = run_sh(vessel, bundle, cid, "hostname; cat /proc/sys/kernel/domainname")
    assert out.split() == ["inside-host", "example.org"]


def test_pid_namespace_makes_process_pid_1(vessel, bundle, cid):
    assert run_sh(vessel, bundle, cid, "echo $$").strip() == "1"


def test_network_namespace_has_only_loopback(vessel, bundle, cid):
    out = run_sh(vessel, bundle, cid, "cat /proc/net/dev")
    ifaces = [l.split(":")[0].strip() for l in out.splitlines()[2:]]
    assert ifaces == ["lo"]


def test_ipc_uts_cgroup_namespaces_are_new(vessel, bundle, cid):
    out = run_sh(vessel, bundle, cid, "readlink /proc/self/ns/ipc /proc/self/ns/uts /proc/self/ns/cgroup; cat /proc/self/cgroup")
    lines = out.splitlines()
    for i, kind in enumerate(["ipc", "uts", "cgroup"]):
        assert lines[i] != os.readlink(f"/proc/self/ns/{kind}")
    # In a cgroup namespace the container's own cgroup is the root.
    assert all(l.endswith(":/") for l in lines[3:] if l)


def test_user_namespace_with_mappings(vessel, cid, tmp_path):
    # The mapped root (host uid 100000) must be able to reach the rootfs.
    from conftest import Bundle
    os.chmod(tmp_path, 0o755)
    d = str(tmp_path)
    while d != "/":
        d = os.path.dirname(d)
        os.chmod(d, os.stat(d).st_mode | 0o011)
    bundle = Bundle(str(tmp_path / "userns-bundle"))
    ns_list(bundle).append({"type": "user"})
    bundle.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    bundle.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    # sysfs cannot be mounted fresh in a user namespace without owning the netns
    out = run_sh(vessel, bundle, cid, "cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /proc/1")
    lines = [l.split() for l in out.splitlines()]
    assert lines[0] == ["0", "100000", "65536"]
    assert lines[1] == ["0", "100000", "65536"]
    assert lines[2] == ["0"]


def test_time_namespace_offsets(vessel, bundle, cid):
    ns_list(bundle).append({"type": "time"})
    bundle.config["linux"]["timeOffsets"] = {"boottime": {"secs": 86400 * 365, "nanosecs": 0},
                                             "monotonic": {"secs": 86400 * 365, "nanosecs": 0}}
    out = run_sh(vessel, bundle, cid, "cut -d. -f1 /proc/uptime")
    host_uptime = float(open("/proc/uptime").read().split()[0])
    assert int(out) >= 86400 * 365 + int(host_uptime) - 5


def test_join_namespace_by_path(vessel, bundle, cid, tmp_path):
    from conftest import Bundle
    other = Bundle(str(tmp_path / "other"))
    other.sh("sleep 30").write()
    vessel.run("run", "-d", "-b", other.path, cid + "-a", check=True)
    pid = vessel.state(cid + "-a")["pid"]
    target = os.readlink(f"/proc/{pid}/ns/net")
    for n in ns_list(bundle):
        if n["type"] == "network":
            n["path"] = f"/proc/{pid}/ns/net"
    out = run_sh(vessel, bundle, cid, "readlink /proc/self/ns/net")
    assert out.strip() == target
    vessel.run("delete", "-f", cid + "-a", check=True)


def test_masked_paths_read_empty(vessel, bundle, cid):
    with open(os.path.join(bundle.rootfs, "etc", "secret"), "w") as f:
        f.write("top secret\n")
    os.makedirs(os.path.join(bundle.rootfs, "secretdir"))
    open(os.path.join(bundle.rootfs, "secretdir", "f"), "w").close()
    bundle.config["linux"]["maskedPaths"] += ["/etc/secret", "/secretdir", "/does/not/exist"]
    out = run_sh(vessel, bundle, cid, "wc -c < /etc/secret; ls /secretdir | wc -l; ls /sys/firmware | wc -l;"
                 "touch /secretdir/new 2>/dev/null || echo refused")
    assert out.split() == ["0", "0", "0", "refused"]


def test_readonly_paths_refuse_writes(vessel, bundle, cid):
    bundle.sh("echo 1 > /proc/sys/kernel/ns_last_pid && echo wrote").write()
    p = vessel.run("run", "-b", bundle.path, cid)
    assert p.returncode != 0
    assert "wrote" not in p.stdout
    assert "Read-only file system" in p.stderr


def test_root_readonly(vessel, bundle, cid):
    bundle.config["root"]["readonly"] = True
    bundle.sh("touch /newfile 2>&1; echo rc=$?").write()
    p = vessel.run("run", "-b", bundle.path, cid)
    assert "Read-only file system" in p.stdout and "rc=1" in p.stdout
    assert not os.path.exists(os.path.join(bundle.rootfs, "newfile"))


def test_rlimit_shows_in_proc_limits(vessel, bundle, cid):
    bundle.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456},
                                           {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]
    out = run_sh(vessel, bundle, cid, "grep -E 'open files|core file' /proc/self/limits")
    rows = {l[:26].strip(): l[26:].split()[:2] for l in out.splitlines()}
    assert rows["Max open files"] == ["123", "456"]
    assert rows["Max core file size"] == ["0", "0"]


def cap_mask(names):
    import ctypes.util  # noqa: F401  (only to keep imports local)
    numbers = {"CAP_CHOWN": 0, "CAP_KILL": 5, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_RAW": 13,
               "CAP_SYS_ADMIN": 21, "CAP_AUDIT_WRITE": 29}
    m = 0
    for n in names:
        m |= 1 << numbers[n]
    return m


def test_capabilities_all_sets(vessel, bundle, cid):
    caps = bundle.config["process"]["capabilities"]
    caps["bounding"] = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"]
    caps["permitted"] = ["CAP_CHOWN", "CAP_KILL"]
    caps["effective"] = ["CAP_KILL"]
    caps["inheritable"] = ["CAP_CHOWN"]
    caps["ambient"] = ["CAP_CHOWN"]
    # no exec of a setuid/file-capability binary, so sets survive execve as computed
    out = run_sh(vessel, bundle, cid, "grep ^Cap /proc/self/status")
    got = {l.split(":")[0]: int(l.split()[1], 16) for l in out.splitlines()}
    assert got["CapBnd"] == cap_mask(["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"])
    assert got["CapInh"] == cap_mask(["CAP_CHOWN"])
    assert got["CapAmb"] == cap_mask(["CAP_CHOWN"])
    # After execve as root, permitted = inheritable|bounding-limited full set for uid 0;
    # what matters is that a dropped capability is absent everywhere.
    sys_admin = cap_mask(["CAP_SYS_ADMIN"])
    for k in ("CapBnd", "CapPrm", "CapEff", "CapInh", "CapAmb"):
        assert not got[k] & sys_admin, k


def test_unknown_capability_warns_but_runs(vessel, bundle, cid):
    bundle.config["process"]["capabilities"]["bounding"].append("CAP_FROM_THE_FUTURE")
    bundle.sh("echo ran").write()
    p = vessel.run("run", "-b", bundle.path, cid)
    assert p.returncode == 0 and p.stdout == "ran\n"
    assert "CAP_FROM_THE_FUTURE" in p.stderr and "warning" in p.stderr


def test_user_uid_gid_groups_umask_cwd_env(vessel, bundle, cid):
    proc = bundle.config["process"]
    proc["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [2000, 2001], "umask": 0o077}
    proc["cwd"] = "/work/dir"
    proc["env"].append("GREETING=hi there")
    out = run_sh(vessel, bundle, cid, "id -u; id -g; id -G; umask; pwd; echo $GREETING")
    lines = out.splitlines()
    assert lines[0] == "1000" and lines[1] == "1001"
    assert sorted(lines[2].split()) == ["1001", "2000", "2001"]
    assert lines[3] == "0077"
    assert lines[4] == "/work/dir"
    assert lines[5] == "hi there"


def test_no_new_privileges_and_oom_score_adj(vessel, bundle, cid):
    bundle.config["process"]["noNewPrivileges"] = True
    bundle.config["process"]["oomScoreAdj"] = 345
    out = run_sh(vessel, bundle, cid, "grep NoNewPrivs /proc/self/status; cat /proc/self/oom_score_adj")
    assert out.split() == ["NoNewPrivs:", "1", "345"]


def test_sysctl(vessel, bundle, cid):
    bundle.config["linux"]["sysctl"] = {"kernel.shmmni": "1234", "net.ipv4.ip_forward": "1"}
    bundle.config["linux"]["readonlyPaths"] = []
    out = run_sh(vessel, bundle, cid, "cat /proc/sys/kernel/shmmni /proc/sys/net/ipv4/ip_forward")
    assert out.split() == ["1234", "1"]
    assert open("/proc/sys/kernel/shmmni").read().strip() != "1234"


def test_default_devices_and_dev_layout(vessel, bundle, cid):
    out = run_sh(vessel, bundle, cid,
                 "for d in null zero full random urandom tty; do stat -c '%n %F %t,%T %a' /dev/$d; done;"
                 "for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done;"
                 "grep -E ' /dev/(pts|shm) ' /proc/mounts | cut -d' ' -f2,3")
    lines = out.splitlines()
    expect = {"null": "1,3", "zero": "1,5", "full": "1,7", "random": "1,8", "urandom": "1,9", "tty": "5,0"}
    for line, (name, dev) in zip(lines[:6], expect.items()):
        assert line == f"/dev/{name} character special file {dev} 666"
    assert lines[6:11] == ["/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1", "/proc/self/fd/2", "pts/ptmx"]
    assert sorted(lines[11:]) == ["/dev/pts devpts", "/dev/shm tmpfs"]


def test_linux_devices(vessel, bundle, cid):
    bundle.config["linux"]["devices"] = [
        {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o620, "uid": 7, "gid": 8},
        {"path": "/dev/sub/fifo", "type": "p"},
    ]
    out = run_sh(vessel, bundle, cid, "stat -c '%F %t,%T %a %u %g' /dev/mynull; stat -c %F /dev/sub/fifo")
    assert out.splitlines() == ["character special file 1,3 620 7 8", "fifo"]


def test_bind_mount_readonly_and_options(vessel, bundle, cid, tmp_path):
    src = tmp_path / "shared"
    src.mkdir()
    (src / "f").write_text("from host\n")
    bundle.config["mounts"] += [
        {"destination": "/mnt/ro", "type": "bind", "source": str(src), "options": ["rbind", "ro", "nosuid"]},
        {"destination": "/mnt/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "noexec", "nodev"]},
    ]
    out = run_sh(vessel, bundle, cid, "cat /mnt/ro/f; touch /mnt/ro/g 2>/dev/null || echo ro-refused;"
                 "grep -E ' /mnt/(ro|tmp) ' /proc/mounts")
    lines = out.splitlines()
    assert lines[0] == "from host" and lines[1] == "ro-refused"
    ro = next(l for l in lines if " /mnt/ro " in l).split()[3].split(",")
    tmp = next(l for l in lines if " /mnt/tmp " in l).split()[3].split(",")
    assert "ro" in ro and "nosuid" in ro
    assert "noexec" in tmp and "nodev" in tmp and "size=1024k" in tmp
    assert not (src / "g").exists()


def test_recursive_readonly_reaches_submounts(vessel, bundle, cid, tmp_path):
    outer = tmp_path / "outer"
    (outer / "inner").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(outer / "inner")], check=True)
    try:
        bundle.config["mounts"].append(
            {"destination": "/mnt/o", "type": "bind", "source": str(outer), "options": ["rbind", "rro"]})
        out = run_sh(vessel, bundle, cid, "touch /mnt/o/inner/x 2>/dev/null || echo refused")
        assert out.strip() == "refused"
    finally:
        subprocess.run(["umount", str(outer / "inner")], check=True)


def test_mount_destination_cannot_escape_rootfs_via_symlink(vessel, bundle, cid, tmp_path):
    escape = tmp_path / "escape-target"
    escape.mkdir()
    os.symlink("../../../../../../../../" + str(escape).lstrip("/"), os.path.join(bundle.rootfs, "evil"))
    bundle.config["mounts"].append({"destination": "/evil/sub", "type": "tmpfs", "source": "tmpfs"})
    out = run_sh(vessel, bundle, cid, "touch /evil/sub/x && echo ok")
    assert out.strip() == "ok"
    assert os.listdir(escape) == []  # nothing was created or mounted on the host side


def test_recursive_atime_options(vessel, bundle, cid, tmp_path):
    src = tmp_path / "at"
    src.mkdir()
    bundle.config["mounts"] += [
        {"destination": "/mnt/a", "type": "bind", "source": str(src), "options": ["rbind", "rnoatime"]},
        {"destination": "/mnt/b", "type": "bind", "source": str(src), "options": ["rbind", "rstrictatime"]},
        {"destination": "/mnt/c", "type": "bind", "source": str(src), "options": ["rbind", "rnoatime", "ratime"]},
    ]
    out = run_sh(vessel, bundle, cid, "grep -E ' /mnt/(a|b|c) ' /proc/self/mountinfo")
    opts = {l.split()[4]: l.split()[5].split(",") for l in out.splitlines()}
    assert "noatime" in opts["/mnt/a"]
    assert "relatime" not in opts["/mnt/b"] and "noatime" not in opts["/mnt/b"]
    assert "relatime" in opts["/mnt/c"]


def test_missing_cwd_created_on_readonly_root(vessel, bundle, cid):
    bundle.config["root"]["readonly"] = True
    bundle.config["process"]["cwd"] = "/does/not/exist/yet"
    assert run_sh(vessel, bundle, cid, "pwd").strip() == "/does/not/exist/yet"


def test_mount_propagation_options(vessel, bundle, cid, tmp_path):
    src = tmp_path / "p"
    src.mkdir()
    bundle.config["linux"]["rootfsPropagation"] = "rprivate"
    bundle.config["mounts"] += [
        {"destination": "/mnt/p", "type": "bind", "source": str(src), "options": ["rbind", "rshared"]},
        {"destination": "/mnt/q", "type": "bind", "source": str(src), "options": ["rbind", "runbindable"]},
    ]
    out = run_sh(vessel, bundle, cid, "grep -E ' /mnt/(p|q) ' /proc/self/mountinfo")
    p_line = next(l for l in out.splitlines() if " /mnt/p " in l)
    q_line = next(l for l in out.splitlines() if " /mnt/q " in l)
    assert "shared:" in p_line
    assert "unbindable" in q_line


def test_only_std_fds_reach_the_container(vessel, bundle, cid, tmp_path):
    extra = open(tmp_path / "leak", "w")
    os.set_inheritable(extra.fileno(), True)
    try:
        bundle.sh("ls /proc/self/fd | sort -n | tr '\\n' ' '").write()
        p = vessel.run("run", "-b", bundle.path, cid, close_fds=False)
        fds = p.stdout.split()
        # ls itself opens one directory fd (3)
        assert fds == ["0", "1", "2", "3"], fds
    finally:
        extra.close()


def test_preserve_fds(vessel, bundle, cid):
    """fd 3 (a pipe) reaches the program with --preserve-fds 1. The pipe is
    moved to fd 3 by a shell so pytest's own fds stay untouched."""
    from conftest import VESSEL
    r, w = os.pipe()
    try:
        os.write(w, b"through fd 3\n")
        os.close(w)
        bundle.sh("cat <&3").write()
        cmd = f'exec "$@" 3<&{r}'
        p = subprocess.run(["/bin/bash", "-c", cmd, "bash", VESSEL, "--root", vessel.root, "run",
                            "--preserve-fds", "1", "-b", bundle.path, cid],
                           pass_fds=(r,), capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert p.stdout == "through fd 3\n"
    finally:
        os.close(r)


def test_preserve_fds_never_exposes_vessel_fds(vessel, bundle, cid, tmp_path):
    """Asking for more fds than were passed must not hand over the log file
    or other fds of vessel's own."""
    log = tmp_path / "vessel.log"
    bundle.sh("ls -l /proc/self/fd/").write()
    p = vessel.run("--log", log, "run", "--preserve-fds", "6", "-b", bundle.path, cid)
    assert p.returncode == 0, p.stderr
    assert str(log) not in p.stdout
    assert "exec.fifo" not in p.stdout and "socket:" not in p.stdout
