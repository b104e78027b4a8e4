"""vessel exec: a process in a live container's namespaces, cgroups and
root, with runc's defaults and overrides; and the escapes an exec'd process
must not find (the host fds and binaries CVE-2019-5736 and CVE-2024-21626
reached)."""
import glob
import json
import os
import signal
import subprocess
import time
import uuid

import pytest

from conftest import VESSEL

NS = ("pid", "mnt", "net", "ipc", "uts", "cgroup", "user", "time")
SECRET = "host-secret-" + uuid.uuid4().hex


@pytest.fixture
def running(vessel, bundle, cid):
    """A detached container whose program waits."""
    bundle.sh("sleep 1000").write()
    vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
    return cid


def init_pid(vessel, cid):
    return vessel.state(cid)["pid"]


def ns_of(pid):
    return {n: os.readlink(f"/proc/{pid}/ns/{n}") for n in NS}


def cgroups_of(pid):
    with open(f"/proc/{pid}/cgroup") as f:
        return f.read()


def exec_detached(vessel, cid, tmp_path, *argv):
    pidfile = tmp_path / f"exec-{uuid.uuid4().hex[:6]}.pid"
    vessel.run("exec", "--detach", "--pid-file", pidfile, cid, *argv, check=True)
    return int(pidfile.read_text())


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pid, timeout=5):
    end = time.time() + timeout
    while time.time() < end and alive(pid):
        time.sleep(0.05)
    return not alive(pid)


def pids_of(vessel, cid):
    p = vessel.run("ps", "--format", "json", cid, check=True)
    return json.loads(p.stdout)


# ---- exit status and signals ----------------------------------------------------

def test_exit_code_is_the_programs(vessel, running):
    p = vessel.run("exec", running, "sh", "-c", "echo out; echo err >&2; exit 7")
    assert p.returncode == 7
    assert p.stdout == "out\n"
    assert "err" in p.stderr


def test_killed_by_a_signal_is_128_plus_it(vessel, running):
    p = vessel.run("exec", running, "sh", "-c", "kill -9 $$")
    assert p.returncode == 128 + 9


def test_signals_to_vessel_exec_reach_the_process(vessel, running):
    proc = subprocess.Popen([VESSEL, "--root", vessel.root, "exec", running, "sh", "-c",
                             "trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 42
    finally:
        proc.kill()
        proc.wait()


# ---- the same container ---------------------------------------------------------

def test_namespaces_and_cgroups_are_the_inits(vessel, running, tmp_path):
    init = init_pid(vessel, running)
    pid = exec_detached(vessel, running, tmp_path, "sleep", "100")
    assert alive(pid)
    assert ns_of(pid) == ns_of(init)
    assert cgroups_of(pid) == cgroups_of(init)
    assert os.readlink(f"/proc/{pid}/root") == "/"  # as the host's /proc shows a pivoted root
    assert os.stat(f"/proc/{pid}/root/bin/busybox").st_ino == \
        os.stat(f"/proc/{init}/root/bin/busybox").st_ino


def test_with_a_user_namespace_too(vessel, cid, tmp_path):
    # The mapped root (host uid 100000) must be able to reach the rootfs.
    from conftest import Bundle
    os.chmod(tmp_path, 0o755)
    d = str(tmp_path)
    while d != "/":
        d = os.path.dirname(d)
        os.chmod(d, os.stat(d).st_mode | 0o011)
    bundle = Bundle(str(tmp_path / "userns-bundle"))
    bundle.config["linux"]["namespaces"].append({"type": "user"})
    bundle.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    bundle.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    bundle.sh("sleep 1000").write()
    vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
    init = init_pid(vessel, cid)
    pid = exec_detached(vessel, cid, tmp_path, "sleep", "100")
    assert ns_of(pid) == ns_of(init)
    with open(f"/proc/{pid}/status") as f:
        uid_line = [l for l in f if l.startswith("Uid:")][0]
    assert uid_line.split()[1] == "100000"  # container root, mapped
    p = vessel.run("exec", cid, "id", "-u")
    assert (p.returncode, p.stdout) == (0, "0\n")


def test_with_a_time_namespace(vessel, bundle, cid):
    year = 86400 * 365
    bundle.config["linux"]["namespaces"].append({"type": "time"})
    bundle.config["linux"]["timeOffsets"] = {"boottime": {"secs": year, "nanosecs": 0},
                                             "monotonic": {"secs": year, "nanosecs": 0}}
    bundle.sh("sleep 1000").write()
    vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
    p = vessel.run("exec", cid, "cut", "-d.", "-f1", "/proc/uptime")
    assert p.returncode == 0, p.stderr
    assert int(p.stdout) >= year


def test_defaults_come_from_config(vessel, bundle, cid):
    bundle.config["process"]["env"] = ["PATH=/bin", "FROM_CONFIG=yes"]
    bundle.config["process"]["cwd"] = "/tmp"
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1001}
    bundle.sh("sleep 1000").write()
    vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
    p = vessel.run("exec", cid, "sh", "-c", "echo $FROM_CONFIG; pwd; id -u; id -g")
    assert p.stdout.split() == ["yes", "/tmp", "1000", "1001"], p.stderr


def test_overrides_user_env_cwd(vessel, running):
    p = vessel.run("exec", "-u", "123:456", "-g", "7", "-g", "8", "-e", "FOO=bar", "-e",
                   "PATH=/bin", "--cwd", "/etc", running,
                   "sh", "-c", "id -u; id -g; id -G; echo $FOO; pwd")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split("\n")
    assert lines[0:2] == ["123", "456"]
    assert set(lines[2].split()) >= {"7", "8"}
    assert lines[3:5] == ["bar", "/etc"]


def cap_sets(text):
    return {l.split(":")[0]: int(l.split()[1], 16) for l in text.splitlines() if l.startswith("Cap")}


def test_cap_adds_to_the_configs_sets(vessel, running):
    CAP_SYS_ADMIN = 21
    base = cap_sets(vessel.run("exec", running, "grep", "Cap", "/proc/self/status").stdout)
    assert not base["CapBnd"] & (1 << CAP_SYS_ADMIN)
    p = vessel.run("exec", "--cap", "CAP_SYS_ADMIN", running, "grep", "Cap", "/proc/self/status")
    caps = cap_sets(p.stdout)
    for s in ("CapBnd", "CapEff", "CapPrm"):
        assert caps[s] & (1 << CAP_SYS_ADMIN), s
        assert caps[s] & base[s] == base[s]
    p = vessel.run("exec", "--cap", "CAP_BOGUS", running, "true")
    assert p.returncode != 0 and "CAP_BOGUS" in p.stderr


def test_no_new_privs(vessel, bundle, cid):
    bundle.config["process"]["noNewPrivileges"] = False
    bundle.sh("sleep 1000").write()
    vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
    running = cid
    p = vessel.run("exec", "--no-new-privs", running, "grep", "NoNewPrivs", "/proc/self/status")
    assert p.stdout.split() == ["NoNewPrivs:", "1"]
    p = vessel.run("exec", running, "grep", "NoNewPrivs", "/proc/self/status")
    assert p.stdout.split() == ["NoNewPrivs:", "0"]


@pytest.mark.parametrize("nnp", [False, True], ids=["caps-drop-after", "nnp"])
def test_config_seccomp_applies_to_exec(vessel, bundle, cid, nnp):
    bundle.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]}
    bundle.config["process"]["noNewPrivileges"] = nnp
    bundle.sh("sleep 1000").write()
    vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
    p = vessel.run("exec", cid, "sh", "-c", "mkdir /tmp/x; echo rc=$?; grep Seccomp: /proc/self/status")
    assert "No space left on device" in p.stderr
    assert p.stdout.split() == ["rc=1", "Seccomp:", "2"]


def test_config_rlimits_and_umask_apply_to_exec(vessel, bundle, cid):
    bundle.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}]
    bundle.config["process"]["user"]["umask"] = 0o077
    bundle.sh("sleep 1000").write()
    vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
    p = vessel.run("exec", cid, "sh", "-c", "ulimit -n; ulimit -Hn; umask")
    assert p.stdout.split() == ["123", "456", "0077"], p.stderr


def test_oom_score_adj_from_config(vessel, bundle, cid, tmp_path):
    bundle.config["process"]["oomScoreAdj"] = 345
    bundle.sh("sleep 1000").write()
    vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
    pid = exec_detached(vessel, cid, tmp_path, "sleep", "100")
    with open(f"/proc/{pid}/oom_score_adj") as f:
        assert f.read().strip() == "345"


def test_cgroup_sub_places_the_process_there(vessel, running, tmp_path):
    init = init_pid(vessel, running)
    made = []
    mounts = {}
    for line in open("/proc/self/mountinfo"):
        pre, _, post = line.partition(" - ")
        if post.split()[0] in ("cgroup", "cgroup2"):
            mounts[pre.split()[4]] = pre.split()[3]
    # The sub-cgroup in every hierarchy the init is in.
    for line in cgroups_of(init).splitlines():
        _, ctrls, path = line.split(":", 2)
        for mnt, root in mounts.items():
            name = os.path.basename(mnt)
            if (ctrls == "" and name == "unified") or (ctrls and name == ctrls.replace("name=", "")):
                d = mnt + path[len(root) if root != "/" else 0:] + "/sub"
                os.mkdir(d)
                made.append(d)
                for f in ("cpuset.cpus", "cpuset.mems"):  # a new v1 cpuset starts empty
                    if "cpuset" in ctrls.split(","):
                        with open(os.path.join(os.path.dirname(d), f)) as src:
                            val = src.read().strip()
                        with open(os.path.join(d, f), "w") as dst:
                            dst.write(val)
    assert made
    try:
        pidfile = tmp_path / "sub.pid"
        vessel.run("exec", "-d", "--pid-file", pidfile, "--cgroup", "sub", running, "sleep", "100",
                   check=True)
        pid = int(pidfile.read_text())
        for line in cgroups_of(pid).splitlines():
            assert line.endswith("/sub"), line
        assert pid in pids_of(vessel, running)
        # CTRL:SUB: only the pids hierarchy gets the sub-cgroup.
        vessel.run("exec", "-d", "--pid-file", pidfile, "--cgroup", "pids:sub", running,
                   "sleep", "100", check=True)
        lines = cgroups_of(int(pidfile.read_text())).splitlines()
        assert [l for l in lines if l.split(":")[1] == "pids"][0].endswith("/sub")
        assert not [l for l in lines if l.split(":")[1] == "memory"][0].endswith("/sub")
    finally:
        vessel.run("delete", "--force", running)


def test_process_file(vessel, running, tmp_path):
    proc = {"args": ["sh", "-c", "echo $A; pwd; id -u"], "env": ["A=from-file", "PATH=/bin"],
            "cwd": "/dev", "user": {"uid": 42, "gid": 42}}
    f = tmp_path / "process.json"
    f.write_text(json.dumps(proc))
    p = vessel.run("exec", "--process", f, running)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["from-file", "/dev", "42"]


def test_process_file_errors_name_the_file_and_key(vessel, running, tmp_path):
    f = tmp_path / "process.json"
    f.write_text(json.dumps({"args": [], "cwd": "/"}))
    p = vessel.run("exec", "--process", f, running)
    assert p.returncode != 0
    assert f"{f}: process.args" in p.stderr
    f.write_text(json.dumps({"args": ["true"], "cwd": "/", "apparmorProfile": "x"}))
    p = vessel.run("exec", "--process", f, running)
    assert p.returncode != 0 and "apparmorProfile" in p.stderr


def test_apparmor_and_label_are_refused_by_name(vessel, running):
    for opt in ("--apparmor", "--process-label"):
        p = vessel.run("exec", opt, "x", running, "true")
        assert p.returncode != 0
        assert opt in p.stderr and ("AppArmor" in p.stderr or "SELinux" in p.stderr)


def test_detach_writes_the_host_pid(vessel, running, tmp_path):
    pid = exec_detached(vessel, running, tmp_path, "sleep", "100")
    with open(f"/proc/{pid}/cmdline") as f:
        assert f.read().split("\0")[:2] == ["sleep", "100"]
    assert pid in pids_of(vessel, running)


def test_preserve_fds(vessel, running):
    r, w = os.pipe()
    # fd 3 of vessel exec only (ours may be pytest's).
    p = vessel.run("exec", "--preserve-fds", "1", running, "sh", "-c", "echo via-fd3 >&3",
                   pass_fds=(3,), preexec_fn=lambda: os.dup2(w, 3))
    os.close(w)
    assert p.returncode == 0, p.stderr
    assert os.read(r, 100) == b"via-fd3\n"
    os.close(r)


def test_exec_after_the_program_forked(vessel, bundle, cid):
    bundle.sh("sleep 1000 & sleep 1000 & wait").write()
    vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
    time.sleep(0.2)
    p = vessel.run("exec", cid, "sh", "-c", "ps -o comm | grep -c sleep")
    assert p.returncode == 0 and p.stdout.strip() == "2"


def test_exec_into_created_container(vessel, bundle, cid):
    bundle.sh("true").write()
    vessel.run("create", "--bundle", bundle.path, cid, check=True)
    p = vessel.run("exec", cid, "echo", "in-created")
    assert (p.returncode, p.stdout) == (0, "in-created\n")


# ---- refusals: one line naming the cause, nothing left ----------------------------

def assert_refused(p, *words):
    assert p.returncode != 0
    lines = [l for l in p.stderr.splitlines() if l.startswith("vessel:")]
    assert len(lines) == 1, p.stderr  # (a usage error adds the usage)
    for w in words:
        assert w in lines[0], p.stderr


def test_refusals_leave_no_process(vessel, running):
    before = pids_of(vessel, running)
    assert_refused(vessel.run("exec", running, "no-such-program"), "no-such-program", "not found")
    assert_refused(vessel.run("exec", "--cwd", "/no/such/dir", running, "true"), "process.cwd")
    assert_refused(vessel.run("exec", "-u", "alice", running, "true"), "--user")
    assert_refused(vessel.run("exec", "-e", "NOEQUALS", running, "true"), "--env")
    assert_refused(vessel.run("exec", "--cgroup", "../escape", running, "true"), "--cgroup")
    assert_refused(vessel.run("exec", "--cgroup", "nosuchsub", running, "true"), "--cgroup")
    assert pids_of(vessel, running) == before


def test_refused_in_stopped_unknown_paused(vessel, bundle, cid):
    assert_refused(vessel.run("exec", "no-such-container", "true"), "does not exist")
    bundle.sh("sleep 1000").write()
    vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
    vessel.run("pause", cid, check=True)
    assert_refused(vessel.run("exec", cid, "true"), "paused", "--ignore-paused")
    vessel.run("resume", cid, check=True)
    vessel.run("kill", cid, "KILL", check=True)
    for _ in range(100):
        if vessel.state(cid)["status"] == "stopped":
            break
        time.sleep(0.05)
    assert_refused(vessel.run("exec", cid, "true"), "stopped")


def test_ignore_paused_runs_once_resumed(vessel, running, tmp_path):
    vessel.run("pause", running, check=True)
    pidfile = tmp_path / "paused.pid"
    proc = subprocess.Popen([VESSEL, "--root", vessel.root, "exec", "--ignore-paused", "-d",
                             "--pid-file", str(pidfile), running, "sleep", "100"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        assert proc.poll() is None  # its process is frozen with the container
        assert vessel.run("state", running, check=True)  # the lock is not held meanwhile
        vessel.run("resume", running, check=True)
        assert proc.wait(timeout=10) == 0
        assert alive(int(pidfile.read_text()))
    finally:
        proc.kill()
        proc.wait()


def test_terminal_without_console_socket_when_detached_is_refused(vessel, running):
    assert_refused(vessel.run("exec", "-d", "-t", running, "true"), "--console-socket")


# ---- ps, kill --all, delete --force see exec'd processes --------------------------

def test_kill_all_ends_execd_processes(vessel, running, tmp_path):
    pid = exec_detached(vessel, running, tmp_path, "sleep", "1000")
    assert pid in pids_of(vessel, running)
    vessel.run("kill", "--all", running, "KILL", check=True)
    assert wait_gone(pid)
    # The init may still be in do_exit (a pid namespace's init waits for the
    # rest of it there, outside its cgroups): that is not untrusted state,
    # and delete removes the cgroup.
    p = vessel.run("delete", running)
    assert p.returncode == 0 and "untrusted" not in p.stderr, p.stderr
    assert not glob.glob(f"/sys/fs/cgroup/*/vessel/{running}"), "cgroup left behind"


def test_delete_force_ends_execd_processes(vessel, running, tmp_path):
    pids = [exec_detached(vessel, running, tmp_path, "sleep", "1000") for _ in range(2)]
    vessel.run("delete", "--force", running, check=True)
    assert all(wait_gone(p) for p in pids)
    assert not os.path.exists(os.path.join(vessel.root, running))


# ---- escapes written as the attack ------------------------------------------------

@pytest.fixture
def host_secret(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text(SECRET + "\n")
    return path


@pytest.mark.parametrize("fd", range(3, 8))
def test_cwd_through_proc_self_fd_is_refused(vessel, running, host_secret, fd):
    p = vessel.run("exec", "--cwd", f"/proc/self/fd/{fd}", running, "sh", "-c",
                   "cat ../secret.txt ../../secret.txt ../../../secret.txt 2>/dev/null; pwd -P")
    assert SECRET not in p.stdout
    assert p.returncode != 0 and "process.cwd" in p.stderr


def test_image_symlink_cwd_to_proc_self_fd_is_refused(vessel, bundle, running, host_secret):
    for fd in range(3, 8):
        link = os.path.join(bundle.rootfs, f"app{fd}")
        os.symlink(f"/proc/self/fd/{fd}", link)
        p = vessel.run("exec", "--cwd", f"/app{fd}", running, "sh", "-c",
                       "cat ../secret.txt ../../secret.txt 2>/dev/null; pwd -P")
        assert SECRET not in p.stdout
        assert p.returncode != 0 and "process.cwd" in p.stderr


def test_program_proc_self_exe_is_refused(vessel, running):
    p = vessel.run("exec", running, "/proc/self/exe", "--version")
    assert "vessel version" not in p.stdout
    assert p.returncode != 0 and "process.args[0]" in p.stderr


@pytest.mark.parametrize("fd", range(3, 8))
def test_program_through_proc_self_fd_is_refused(vessel, running, tmp_path, fd):
    marker = tmp_path / "ran-on-host"
    prog = tmp_path / "x"
    prog.write_text(f"#!/bin/sh\ntouch {marker}\n")
    prog.chmod(0o755)
    p = vessel.run("exec", running, f"/proc/self/fd/{fd}/../../x")
    assert not marker.exists()
    assert p.returncode != 0 and "process.args[0]" in p.stderr


def test_leaked_host_dir_fd_does_not_reach_the_process(vessel, running, tmp_path, host_secret):
    # The caller leaks an fd of a host directory (not in --preserve-fds): the
    # exec'd process must not find it, nor reach the secret through it.
    d = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        p = vessel.run("exec", "--preserve-fds", "1", running, "sh", "-c",
                       "ls /proc/self/fd; for f in /proc/self/fd/*; do "
                       "cat $f/secret.txt $f/../secret.txt 2>/dev/null; done",
                       pass_fds=(9,), preexec_fn=lambda: os.dup2(d, 9))
    finally:
        os.close(d)
    assert SECRET not in p.stdout
    fds = set(p.stdout.split())
    assert "9" not in fds


def test_exec_gets_home_from_the_images_passwd(vessel, bundle, cid):
    # As runc: HOME for the exec'd user from the image's /etc/passwd.
    with open(os.path.join(bundle.rootfs, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n")
    bundle.sh("sleep 1000").write()
    vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
    p = vessel.run("exec", "-u", "1000:1000", cid, "sh", "-c", 'echo "$HOME"')
    assert p.returncode == 0, p.stderr
    assert p.stdout == "/home/alice\n"
    p = vessel.run("exec", "-e", "HOME=/mine", cid, "sh", "-c", 'echo "$HOME"')
    assert p.stdout == "/mine\n"
