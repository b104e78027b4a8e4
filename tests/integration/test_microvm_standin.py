"""The microvm backend's host-side lifecycle, driven as the runc shim and
podman drive it, with the test-only stand-in: vessel-agent runs as the
container's init in place of the VM (docs/microvm.md "The test stand-in").

The stand-in exists only in the ASan build (VS_TEST_HOOKS); under the
release binary these tests skip, except the two that prove the release
binary ignores the stand-in's variable and that a microvm workload on a
KVM without VT-x/AMD-V fails at once, naming why."""
import ctypes
import json
import os
import shutil
import signal
import subprocess
import time
import uuid

import pytest

import cgroup_util
from conftest import REPO, VESSEL, make_rootfs

STANDIN_ENV = "VESSEL_TEST_MICROVM_STANDIN"
# The agent must be static: it is exec'd inside a busybox rootfs.
AGENT = os.environ.get("VESSEL_AGENT", os.path.join(REPO, "build", "vessel-agent"))
RELEASE = os.path.join(REPO, "build", "vessel")
IS_ASAN = os.path.basename(os.path.dirname(os.path.abspath(VESSEL))) == "build-asan"
LIMITS = ["--ulimit", "nofile=10000:10000", "--ulimit", "nproc=4000:4000"]


def kvm_emulated():
    with open("/proc/cpuinfo") as f:
        return not any(w in ("vmx", "svm") for line in f if line.startswith("flags")
                       for w in line.split())


standin = pytest.mark.skipif(not IS_ASAN, reason="the stand-in exists only in the ASan build "
                             "(VS_TEST_HOOKS); this is the release binary")
needs_agent = pytest.mark.skipif(not os.access(AGENT, os.X_OK), reason=f"no agent at {AGENT} "
                                 "(make all builds build/vessel-agent)")
no_vtx = pytest.mark.skipif(not kvm_emulated(), reason="this host has VT-x/AMD-V")


def microvm(bundle):
    bundle.config.setdefault("annotations", {})["io.vessel.backend"] = "microvm"
    return bundle


@pytest.fixture
def env():
    e = dict(os.environ)
    e[STANDIN_ENV] = AGENT
    return e


def run(vessel, env, *args, **kw):
    return vessel.run(*args, env=env, **kw)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone between open and read
        return False


def wait_for(cond, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def with_id(cid):
    """Live processes whose command line names cid (vessel and its relays)."""
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != os.getpid() and alive(int(d)):
            try:
                if cid.encode() in cmdline(int(d)):
                    found.append(int(d))
            except OSError:
                pass
    return found


def status(vessel, env, cid):
    return json.loads(run(vessel, env, "state", cid, check=True).stdout)["status"]


def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().split(b"\0")


# ---- hosts without hardware virtualization (any build) ---------------------------

@no_vtx
def test_without_vtx_create_fails_first_naming_why(vessel, bundle, cid):
    # The program does not exist: a check past the VT-x one would name it.
    microvm(bundle).args("/no/such/program").write()
    env = dict(os.environ)
    env.pop(STANDIN_ENV, None)
    p = vessel.run("create", "--bundle", bundle.path, cid, env=env)
    assert p.returncode != 0
    assert p.stderr.count("\n") == 1, p.stderr
    assert "no VT-x/AMD-V" in p.stderr
    assert "io.vessel.vm.allow-emulated=true" in p.stderr
    assert "no/such/program" not in p.stderr
    assert not os.path.exists(os.path.join(vessel.root, cid))


@no_vtx
def test_release_binary_ignores_the_standin_variable(tmp_path, bundle, cid):
    if not os.access(RELEASE, os.X_OK):
        pytest.skip(f"no release binary at {RELEASE}")
    microvm(bundle).args("true").write()
    env = dict(os.environ)
    env[STANDIN_ENV] = AGENT if os.access(AGENT, os.X_OK) else "/bin/busybox"
    root = str(tmp_path / "release-state")
    p = subprocess.run([RELEASE, "--root", root, "run", "--bundle", bundle.path, cid], env=env,
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode != 0
    assert "no VT-x/AMD-V" in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(root, cid))
    # Not merely unused: the code that reads the variable is not there.
    with open(RELEASE, "rb") as f:
        assert STANDIN_ENV.encode() not in f.read()


@no_vtx
def test_allow_emulated_goes_past_the_check(vessel, bundle, cid):
    microvm(bundle).args("true")
    bundle.config["annotations"]["io.vessel.vm.allow-emulated"] = "true"
    bundle.write()
    env = dict(os.environ)
    env.pop(STANDIN_ENV, None)
    p = vessel.run("create", "--bundle", bundle.path, cid, env=env)
    assert p.returncode != 0
    assert "no VT-x/AMD-V" not in p.stderr
    assert not os.path.exists(os.path.join(vessel.root, cid))


# ---- the stand-in: create, start, state, kill, delete ----------------------------

@standin
@needs_agent
def test_run_output_and_exit_code(vessel, bundle, cid, env):
    microvm(bundle).sh("echo out; echo err >&2; exit 7").write()
    p = run(vessel, env, "run", "--bundle", bundle.path, cid)
    assert p.returncode == 7, p.stderr
    assert p.stdout == "out\n"
    assert p.stderr == "err\n"
    assert not os.path.exists(os.path.join(vessel.root, cid))


@standin
@needs_agent
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_exit_by_signal_is_128_plus_it(vessel, bundle, cid, env, sig):
    microvm(bundle).sh(f"kill -{int(sig)} $$").write()
    p = run(vessel, env, "run", "--bundle", bundle.path, cid)
    assert p.returncode == 128 + sig, p.stderr


@standin
@needs_agent
def test_stdin_reaches_the_program(vessel, bundle, cid, env, tmp_path):
    microvm(bundle).sh("read line; echo got:$line").write()
    inp = tmp_path / "in"
    inp.write_text("hello\n")
    with open(inp) as f:
        p = run(vessel, env, "run", "--bundle", bundle.path, cid, stdin=f)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "got:hello\n"


@standin
@needs_agent
def test_create_start_state_kill_delete(vessel, bundle, cid, env):
    microvm(bundle).sh("trap 'exit 3' TERM; echo started > /tmp/started; "
                       "while :; do sleep 0.05; done").write()
    run(vessel, env, "create", "--bundle", bundle.path, cid, check=True)
    st = json.loads(run(vessel, env, "state", cid, check=True).stdout)
    assert st["status"] == "created"
    pid = st["pid"]
    # The container's pid is its init on the host: the agent (the monitor in a VM).
    assert os.path.basename(cmdline(pid)[0]) == b"vessel-agent"
    # Parked: the program has not run yet.
    root = os.path.join(bundle.rootfs, "tmp", "started")
    assert not os.path.exists(root)
    run(vessel, env, "start", cid, check=True)
    assert status(vessel, env, cid) == "running"
    assert wait_for(lambda: os.path.exists(root))
    run(vessel, env, "kill", cid, "TERM", check=True)
    assert wait_for(lambda: status(vessel, env, cid) == "stopped")
    run(vessel, env, "delete", cid, check=True)
    assert not os.path.exists(os.path.join(vessel.root, cid))
    assert not alive(pid)


@standin
@needs_agent
def test_sigkill_ends_the_workload(vessel, bundle, cid, env):
    microvm(bundle).sh("trap '' TERM; while :; do sleep 0.05; done").write()
    run(vessel, env, "run", "--detach", "--bundle", bundle.path, cid, check=True)
    pid = json.loads(run(vessel, env, "state", cid, check=True).stdout)["pid"]
    run(vessel, env, "kill", cid, "KILL", check=True)
    assert wait_for(lambda: not alive(pid))
    assert status(vessel, env, cid) == "stopped"
    run(vessel, env, "delete", cid, check=True)


@standin
@needs_agent
def test_exit_code_reaches_the_parent_of_the_init(vessel, bundle, cid, env):
    # conmon and the shim reap the init: its status is the program's.
    microvm(bundle).sh("exit 9").write()
    proc = subprocess.Popen([VESSEL, "--root", vessel.root, "run", "--bundle", bundle.path, cid],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    assert proc.wait(timeout=60) == 9


@standin
@needs_agent
def test_failed_create_leaves_nothing(vessel, bundle, cid, env):
    microvm(bundle).args("/no/such/program").write()
    before = set(os.listdir("/proc"))
    p = run(vessel, env, "create", "--bundle", bundle.path, cid)
    assert p.returncode != 0
    assert "no/such/program" in p.stderr
    assert not os.path.exists(os.path.join(vessel.root, cid))
    new = [d for d in set(os.listdir("/proc")) - before if d.isdigit() and alive(int(d))]
    leftovers = [d for d in new if os.path.basename(cmdline(int(d))[0] or b"") == b"vessel-agent"]
    assert leftovers == []
    assert with_id(cid) == []


@standin
@needs_agent
def test_delete_force_leaves_nothing(vessel, bundle, cid, env):
    microvm(bundle).sh("sleep 1000").write()
    run(vessel, env, "run", "--detach", "--bundle", bundle.path, cid, check=True)
    pid = json.loads(run(vessel, env, "state", cid, check=True).stdout)["pid"]
    pids = json.loads(run(vessel, env, "ps", "--format", "json", cid, check=True).stdout)
    sock = os.path.join(vessel.root, cid, "agent.sock")
    assert os.path.exists(sock)
    run(vessel, env, "delete", "--force", cid, check=True)
    assert not os.path.exists(os.path.join(vessel.root, cid))
    assert wait_for(lambda: not any(alive(p) for p in pids + [pid]))
    assert cgroup_util.leftovers(cid) == []
    # The init's stdio relay (a fork of `vessel run`) ends with the streams.
    assert wait_for(lambda: with_id(cid) == [])


@standin
@needs_agent
def test_agent_socket_is_outside_the_rootfs(vessel, bundle, cid, env):
    # The workload looks for any socket it could reach; the agent's is in
    # the state dir, which the container never sees.
    microvm(bundle).sh("find / -type s 2>/dev/null; echo done").write()
    p = run(vessel, env, "run", "--bundle", bundle.path, cid)
    assert p.returncode == 0, p.stderr
    assert p.stdout.endswith("done\n")
    assert "agent.sock" not in p.stdout


@standin
@needs_agent
def test_signal_to_a_foreground_run_reaches_the_program(vessel, bundle, cid, env):
    # A pid namespace's init ignores what its parent sends; the init's relay
    # takes the signal and passes it to the guest program.
    microvm(bundle).sh("trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done").write()
    proc = subprocess.Popen([VESSEL, "--root", vessel.root, "run", "--bundle", bundle.path, cid],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 42
    finally:
        proc.kill()
        proc.wait()


@standin
@needs_agent
def test_the_program_holds_no_fd_of_the_agent(vessel, bundle, cid, env):
    # With the agent's listener a workload could answer the host as if it
    # were the agent. It gets its stdio and nothing else.
    microvm(bundle).sh("ls /proc/$$/fd; true").write()
    p = run(vessel, env, "run", "--bundle", bundle.path, cid)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["0", "1", "2"]


# ---- exec ------------------------------------------------------------------------

@pytest.fixture
def running(vessel, bundle, cid, env):
    microvm(bundle).sh("sleep 1000").write()
    run(vessel, env, "run", "--detach", "--bundle", bundle.path, cid, check=True)
    yield cid
    run(vessel, env, "delete", "--force", cid)


@standin
@needs_agent
def test_exec_output_and_exit_code(vessel, running, env):
    p = run(vessel, env, "exec", "--env", "X=1", "--cwd", "/tmp", running, "sh", "-c",
            "echo $X; pwd; echo err >&2; exit 5")
    assert p.returncode == 5
    assert p.stdout == "1\n/tmp\n"
    assert p.stderr == "err\n"


@standin
@needs_agent
def test_exec_user_and_capabilities_reach_the_guest(vessel, running, env):
    # The exec'd process goes to the agent as an OCI process object: user,
    # groups and capabilities (the config's plus --cap) apply in the guest.
    p = run(vessel, env, "exec", "--user", "1000:100", "--additional-gids", "7",
            "--cap", "CAP_NET_RAW", running, "sh", "-c",
            "id -u; id -g; id -G; grep CapBnd /proc/self/status")
    assert p.returncode == 0, p.stderr
    uid, gid, groups, bnd = p.stdout.strip().split("\n")
    assert (uid, gid) == ("1000", "100")
    assert "7" in groups.split()
    assert int(bnd.split()[1], 16) & (1 << 13)  # CAP_NET_RAW


@standin
@needs_agent
def test_exec_killed_by_signal(vessel, running, env):
    p = run(vessel, env, "exec", running, "sh", "-c", "kill -9 $$")
    assert p.returncode == 128 + 9


@standin
@needs_agent
def test_exec_runs_in_the_guest_not_on_the_host(vessel, running, env):
    # The exec'd program's pid 1 is the agent: it runs in the workload's
    # pid namespace, behind the relay.
    p = run(vessel, env, "exec", running, "cat", "/proc/1/cmdline")
    assert p.returncode == 0
    assert p.stdout.split("\0")[0].endswith("vessel-agent")


@standin
@needs_agent
def test_signal_to_vessel_exec_reaches_the_guest_process(vessel, running, env):
    proc = subprocess.Popen([VESSEL, "--root", vessel.root, "exec", running, "sh", "-c",
                             "trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 42
    finally:
        proc.kill()
        proc.wait()


PR_SET_CHILD_SUBREAPER = 36


@pytest.fixture
def subreaper():
    """As the runc shim: orphans (the detached exec's relay) become ours."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    yield
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


@standin
@needs_agent
def test_exec_detach_pid_file_as_the_shim(vessel, running, env, tmp_path, subreaper):
    pidfile = tmp_path / "exec.pid"
    run(vessel, env, "exec", "--detach", "--pid-file", pidfile, running, "sh", "-c",
        "trap 'exit 42' TERM; while :; do sleep 0.05; done", check=True)
    pid = int(pidfile.read_text())
    assert alive(pid)
    # A host process, outside the workload: the shim signals and reaps it.
    pids = json.loads(run(vessel, env, "ps", "--format", "json", running, check=True).stdout)
    assert pid not in pids
    os.kill(pid, signal.SIGTERM)
    _, st = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(st) == 42


@standin
@needs_agent
def test_exec_ends_when_its_relay_is_sigkilled(vessel, running, env, tmp_path, subreaper):
    # SIGKILL cannot be forwarded: the relay just dies, and with it the
    # control connection that sent the exec; the agent then kills the
    # exec'd process rather than leave it running in the guest.
    pidfile = tmp_path / "exec.pid"
    run(vessel, env, "exec", "--detach", "--pid-file", pidfile, running, "sleep", "1001",
        check=True)
    relay = int(pidfile.read_text())

    def guest_sleep():
        pids = json.loads(run(vessel, env, "ps", "--format", "json", running,
                              check=True).stdout)
        return [p for p in pids if alive(p) and cmdline(p)[:2] == [b"sleep", b"1001"]]

    assert wait_for(guest_sleep)
    (guest,) = guest_sleep()
    os.kill(relay, signal.SIGKILL)
    os.waitpid(relay, 0)
    assert wait_for(lambda: not alive(guest))
    # The workload itself runs on.
    assert status(vessel, env, running) == "running"


@standin
@needs_agent
def test_relays_do_not_hold_the_container_lock(vessel, running, env, tmp_path):
    # The relays are forks of a vessel that held the lock: kept, the lock
    # would block every later command on the container until they end.
    pidfile = tmp_path / "exec.pid"
    run(vessel, env, "exec", "--detach", "--pid-file", pidfile, running, "sleep", "1000",
        check=True)
    assert run(vessel, env, "pause", running, timeout=20).returncode == 0
    assert run(vessel, env, "resume", running, timeout=20).returncode == 0
    assert run(vessel, env, "delete", "--force", running, timeout=20).returncode == 0
    assert wait_for(lambda: not alive(int(pidfile.read_text())))


@standin
@needs_agent
def test_relay_runs_without_capabilities(vessel, running, env, tmp_path, subreaper):
    # The relay only copies bytes on fds it already holds: after the fork
    # every capability is dropped, no_new_privs is set and the seccomp
    # allow-list loaded, the stdio relay working as before.
    pidfile = tmp_path / "exec.pid"
    run(vessel, env, "exec", "--detach", "--pid-file", pidfile, running, "sh", "-c",
        "trap 'exit 42' TERM; while :; do sleep 0.05; done", check=True)
    relay = int(pidfile.read_text())
    with open(f"/proc/{relay}/status") as f:
        st = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    for s in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        assert int(st[s], 16) == 0, (s, st[s])
    if os.geteuid() == 0:
        assert int(st["CapBnd"], 16) == 0, st["CapBnd"]
    assert st["NoNewPrivs"].strip() == "1"
    assert st["Seccomp"].strip() == "2"  # the allow-list (relay_seccomp.c)
    os.kill(relay, signal.SIGTERM)
    _, ws = os.waitpid(relay, 0)
    assert os.waitstatus_to_exitcode(ws) == 42
    # And the init's relay (forked at create) too.
    inits = [p for p in with_id(running) if p != os.getpid()]
    assert inits
    for p in inits:
        with open(f"/proc/{p}/status") as f:
            st = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        assert int(st["CapEff"], 16) == 0
        assert st["Seccomp"].strip() == "2"


def read_frame(conn):
    def exactly(n):
        b = b""
        while len(b) < n:
            c = conn.recv(n - len(b))
            if not c:
                raise EOFError
            b += c
        return b
    n = int.from_bytes(exactly(4), "big")
    return json.loads(exactly(n))


def send_frame(conn, obj):
    b = json.dumps(obj).encode()
    conn.sendall(len(b).to_bytes(4, "big") + b)


@pytest.fixture
def hostile_agent(vessel, running):
    """In place of the agent at the state dir's agent.sock: answers hello and
    exec, then answers wait with a frame header and nothing more."""
    import socket
    import threading
    sock = os.path.join(vessel.root, running, "agent.sock")
    os.rename(sock, sock + ".real")
    lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lst.bind(sock)
    lst.listen(16)
    held = []

    def serve(conn):
        try:
            while True:
                req = read_frame(conn)
                if req["type"] == "hello":
                    send_frame(conn, {"type": "reply", "id": req["id"], "version": 1})
                elif req["type"] in ("exec", "signal", "resize"):
                    send_frame(conn, {"type": "reply", "id": req["id"], "pid": 4242})
                elif req["type"] == "wait":
                    conn.sendall(b"\0\0\0\x40")  # 64 bytes promised, none sent
                elif req["type"] == "stdio":
                    pass  # held open, silent
        except (EOFError, OSError):
            pass

    def accept():
        while True:
            try:
                conn, _ = lst.accept()
            except OSError:
                return
            held.append(conn)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield running
    lst.close()
    for c in held:
        c.close()
    os.unlink(sock)
    os.rename(sock + ".real", sock)


@standin
@needs_agent
def test_relay_gives_up_on_a_half_frame_exit_reply(vessel, hostile_agent, env):
    # Without a deadline on the rest of the frame the relay (and so
    # `vessel exec`, and the shim waiting on it) would wait forever.
    p = run(vessel, env, "exec", hostile_agent, "true", timeout=50)
    assert p.returncode == 255
    assert "no exit status from the agent" in p.stderr
    assert "no reply after 10000 ms" in p.stderr


@standin
@needs_agent
def test_exec_tty_in_the_foreground(vessel, running, monkeypatch):
    # Without a console socket a foreground `exec -t` relays the pty itself.
    from pty_util import on_pty
    monkeypatch.setenv(STANDIN_ENV, AGENT)
    out, rc = on_pty([VESSEL, "--root", vessel.root, "exec", "-t", running, "sh", "-c",
                      "tty; [ -t 1 ] && echo is-a-tty; exit 4"])
    assert rc == 4, out
    assert "is-a-tty" in out


# ---- ps, events, pause/resume, update ----------------------------------------------

@standin
@needs_agent
def test_ps_lists_the_workload(vessel, running, env):
    pid = json.loads(run(vessel, env, "state", running, check=True).stdout)["pid"]
    pids = json.loads(run(vessel, env, "ps", "--format", "json", running, check=True).stdout)
    assert pid in pids
    assert any(cmdline(p)[0] == b"sleep" for p in pids if p != pid)


@standin
@needs_agent
def test_events_stats_has_the_cgroup_and_the_guest(vessel, running, env):
    p = run(vessel, env, "events", "--stats", running, check=True)
    ev = json.loads(p.stdout)
    assert ev["type"] == "stats"
    assert ev["data"]["memory"]["usage"]["usage"] > 0
    assert ev["data"]["guest"]["pids"] >= 1


@standin
@needs_agent
def test_pause_resume(vessel, running, env):
    run(vessel, env, "pause", running, check=True)
    assert status(vessel, env, running) == "paused"
    p = run(vessel, env, "exec", running, "true")
    assert p.returncode != 0 and "paused" in p.stderr
    run(vessel, env, "resume", running, check=True)
    assert status(vessel, env, running) == "running"
    assert run(vessel, env, "exec", running, "true").returncode == 0


def pids_max_file(name):
    root, has = cgroup_util.v2_has("pids")
    if root and has:
        return os.path.join(root, name, "pids.max")
    return os.path.join(cgroup_util.v1("pids"), name, "pids.max")


@standin
@needs_agent
def test_update_changes_the_monitors_cgroup(vessel, bundle, cid, env):
    microvm(bundle).sh("sleep 1000")
    bundle.config["linux"]["cgroupsPath"] = "/" + cid
    bundle.write()
    run(vessel, env, "run", "--detach", "--bundle", bundle.path, cid, check=True)
    try:
        run(vessel, env, "update", "--pids-limit", "77", cid, check=True)
        with open(pids_max_file(cid)) as f:
            assert f.read().strip() == "77"
    finally:
        run(vessel, env, "delete", "--force", cid)
    assert cgroup_util.leftovers(cid) == []


# ---- podman -------------------------------------------------------------------------

def podman_run(tmp_path, argv, flags=()):
    """podman run --rm [flags] of argv in a fresh rootfs, through the
    stand-in with the microvm annotation."""
    rootfs = str(tmp_path / "rootfs")
    make_rootfs(rootfs)
    # conmon does not pass podman's environment on: the variable travels
    # in a wrapper named as the runtime.
    runtime = tmp_path / "vessel-standin"
    runtime.write_text(f"#!/bin/sh\nexport {STANDIN_ENV}={AGENT}\nexec {VESSEL} \"$@\"\n")
    runtime.chmod(0o755)
    cmd = ["podman", "--runtime", str(runtime), "run", "--rm", *flags, *LIMITS, "--network", "none",
           "--annotation", "io.vessel.backend=microvm", "--rootfs", rootfs, *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


@standin
@needs_agent
@pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed")
def test_podman_run_with_the_annotation(tmp_path):
    p = podman_run(tmp_path, ["/bin/sh", "-c", "echo hi; cat /proc/1/cmdline | tr '\\0' ' '; exit 6"])
    assert p.returncode == 6, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "hi"
    assert "vessel-agent" in lines[1]


# ---- terminals ----------------------------------------------------------------------

@standin
@needs_agent
def test_run_with_a_terminal(vessel, bundle, cid, monkeypatch):
    # process.terminal: the guest's pty, carried to ours by the relay.
    from pty_util import on_pty
    microvm(bundle).sh("tty; [ -t 0 ] && [ -t 1 ] && echo is-a-tty; exit 3")
    bundle.config["process"]["terminal"] = True
    bundle.write()
    monkeypatch.setenv(STANDIN_ENV, AGENT)
    out, rc = on_pty([VESSEL, "--root", vessel.root, "run", "--bundle", bundle.path, cid])
    assert rc == 3, out
    assert "/dev/pts/" in out
    assert "is-a-tty" in out


@standin
@needs_agent
def test_terminal_without_console_socket_when_detached_is_refused(vessel, bundle, cid, env):
    microvm(bundle).args("true")
    bundle.config["process"]["terminal"] = True
    bundle.write()
    p = run(vessel, env, "create", "--bundle", bundle.path, cid)
    assert p.returncode != 0
    assert "needs --console-socket" in p.stderr
    assert not os.path.exists(os.path.join(vessel.root, cid))


@standin
@needs_agent
@pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed")
def test_podman_run_t_with_the_annotation(tmp_path):
    p = podman_run(tmp_path, ["/bin/sh", "-c", "[ -t 1 ] && echo is-a-tty; exit 2"], ["-t"])
    assert p.returncode == 2, p.stderr
    assert "is-a-tty" in p.stdout


# ---- containerd's runc v2 shim ----------------------------------------------------

needs_ctr = pytest.mark.skipif(shutil.which("containerd") is None or shutil.which("ctr") is None,
                               reason="containerd is not installed")
if shutil.which("containerd") and shutil.which("ctr"):
    from test_containerd import IMAGE, ctr  # noqa: F401 (the module's daemon fixture)


@pytest.fixture
def standin_runc(tmp_path):
    # The shim passes its own environment on, but not ours: a wrapper.
    runtime = tmp_path / "vessel-standin"
    runtime.write_text(f"#!/bin/sh\nexport {STANDIN_ENV}={AGENT}\nexec {VESSEL} \"$@\"\n")
    runtime.chmod(0o755)
    return str(runtime)


@standin
@needs_agent
@needs_ctr
def test_ctr_run_with_the_annotation(ctr, cid, standin_runc):  # noqa: F811
    p = ctr("run", "--rm", "--runc-binary", standin_runc, "--annotation",
            "io.vessel.backend=microvm", IMAGE, cid, "/bin/sh", "-c",
            "echo hello; cat /proc/1/cmdline; exit 6")
    assert p.returncode == 6, p.stderr
    out = p.stdout.split("\n")
    assert out[0] == "hello"
    assert "vessel-agent" in out[1]


@standin
@needs_agent
@needs_ctr
def test_ctr_task_exec_and_kill(ctr, cid, standin_runc):  # noqa: F811
    ctr("run", "-d", "--runc-binary", standin_runc, "--annotation", "io.vessel.backend=microvm",
        IMAGE, cid, "/bin/sh", "-c", "trap 'exit 4' TERM; while true; do sleep 0.1; done",
        check=True)
    try:
        p = ctr("task", "exec", "--exec-id", "e1", cid, "/bin/sh", "-c", "echo in-exec; exit 9")
        assert p.returncode == 9, p.stderr
        assert p.stdout.strip() == "in-exec"
        deadline = time.time() + 20
        while time.time() < deadline:
            ctr("task", "kill", "-s", "TERM", cid)
            tasks = ctr("task", "ls", check=True).stdout
            if any(l.split()[0] == cid and l.split()[2] == "STOPPED"
                   for l in tasks.splitlines()[1:]):
                break
            time.sleep(0.2)
        p = ctr("task", "delete", cid)
        assert p.returncode == 0, p.stderr
        assert "exit code 4" in p.stderr
    finally:
        ctr("task", "delete", "-f", cid)
        ctr("containers", "delete", cid)


@standin
@needs_agent
@needs_ctr
def test_ctr_task_exec_tty_through_the_console_socket(ctr, cid, standin_runc):  # noqa: F811
    from test_containerd import ctr_on_pty
    ctr("run", "-d", "--runc-binary", standin_runc, "--annotation", "io.vessel.backend=microvm",
        IMAGE, cid, "/bin/sleep", "1000", check=True)
    try:
        out, rc = ctr_on_pty(ctr, "task", "exec", "-t", "--exec-id", "t1", cid, "/bin/sh", "-c",
                             "tty; [ -t 0 ] && echo is-a-tty; exit 3")
        assert rc == 3, out
        assert "/dev/pts/" in out and "is-a-tty" in out, out
    finally:
        ctr("task", "kill", "-s", "KILL", cid)
        ctr("task", "delete", "-f", cid)
        ctr("containers", "delete", cid)


@standin
@needs_agent
def test_console_socket_size_and_resize(vessel, bundle, cid, env, tmp_path):
    # The master goes over --console-socket as runc sends it; consoleSize is
    # the guest pty's size, and a resize of the master reaches the guest
    # (relay: SIGWINCH on its slave -> agent resize).
    import fcntl
    import struct
    import termios
    from test_terminal import ConsoleReceiver
    receiver = ConsoleReceiver(str(tmp_path / "console.sock"))
    try:
        microvm(bundle).sh("stty size; echo ready; read x; stty size")
        bundle.config["process"]["terminal"] = True
        bundle.config["process"]["consoleSize"] = {"height": 33, "width": 77}
        bundle.write()
        run(vessel, env, "create", "--console-socket", receiver.path, "--bundle", bundle.path,
            cid, check=True)
        run(vessel, env, "start", cid, check=True)
        receiver.thread.join(10)
        assert receiver.name == b"/dev/ptmx"
        out = b""
        end = time.time() + 10
        while b"ready" not in out and time.time() < end:
            out += os.read(receiver.master, 4096)
        assert out.replace(b"\r", b"").split(b"\n")[0] == b"33 77", out
        fcntl.ioctl(receiver.master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
        os.write(receiver.master, b"go\n")
        out = receiver.read_until_closed().replace("\r", "")
        assert "40 100" in out.split("\n"), out
    finally:
        receiver.close()


@standin
@needs_agent
def test_exec_options_that_cannot_cross_are_refused(vessel, running, env, tmp_path):
    p = run(vessel, env, "exec", "--preserve-fds", "1", running, "true")
    assert p.returncode != 0 and "--preserve-fds" in p.stderr
    p = run(vessel, env, "exec", "--cgroup", "sub", running, "true")
    assert p.returncode != 0 and "--cgroup" in p.stderr
    proc = tmp_path / "process.json"
    proc.write_text(json.dumps({"args": ["true"], "cwd": "/", "user": {"uid": 0, "gid": 0},
                                "ioPriority": {"class": "IOPRIO_CLASS_IDLE", "priority": 0}}))
    p = run(vessel, env, "exec", "--process", proc, running)
    assert p.returncode != 0 and "not supported for a microvm exec" in p.stderr


@standin
@needs_agent
def test_with_a_user_namespace(vessel, cid, env, tmp_path):
    # The init (the agent) is the mapped root; it still gets its listener
    # and the agent binary, both opened on the host before the user
    # namespace could stand in the way.
    from conftest import Bundle
    os.chmod(tmp_path, 0o755)
    d = str(tmp_path)
    while d != "/":
        d = os.path.dirname(d)
        os.chmod(d, os.stat(d).st_mode | 0o011)
    bundle = microvm(Bundle(str(tmp_path / "userns-bundle")))
    bundle.config["linux"]["namespaces"].append({"type": "user"})
    bundle.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    bundle.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    bundle.sh("sleep 1000").write()
    run(vessel, env, "run", "--detach", "--bundle", bundle.path, cid, check=True)
    try:
        pid = json.loads(run(vessel, env, "state", cid, check=True).stdout)["pid"]
        with open(f"/proc/{pid}/status") as f:
            uid_line = [l for l in f if l.startswith("Uid:")][0]
        assert uid_line.split()[1] == "100000"
        p = run(vessel, env, "exec", "--user", "5", cid, "id", "-u")
        assert (p.returncode, p.stdout) == (0, "5\n"), p.stderr
    finally:
        run(vessel, env, "delete", "--force", cid)


@standin
@needs_agent
@pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed")
def test_podman_exec_stop_rm_with_the_annotation(tmp_path):
    rootfs = str(tmp_path / "rootfs")
    make_rootfs(rootfs)
    runtime = tmp_path / "vessel-standin"
    runtime.write_text(f"#!/bin/sh\nexport {STANDIN_ENV}={AGENT}\nexec {VESSEL} \"$@\"\n")
    runtime.chmod(0o755)

    def podman(*args):
        return subprocess.run(["podman", "--runtime", str(runtime)] + list(args),
                              capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)

    p = podman("run", "-d", *LIMITS, "--network", "none", "--annotation",
               "io.vessel.backend=microvm", "--rootfs", rootfs, "/bin/sh", "-c",
               "trap 'exit 3' TERM; while true; do sleep 0.1; done")
    assert p.returncode == 0, p.stderr
    ctr_id = p.stdout.strip()
    try:
        p = podman("exec", "-e", "X=1", "-w", "/tmp", ctr_id, "/bin/sh", "-c",
                   "echo $X; pwd; exit 4")
        assert p.returncode == 4, p.stderr
        assert p.stdout.split() == ["1", "/tmp"]
        p = podman("exec", "-t", ctr_id, "/bin/sh", "-c", "[ -t 1 ] && echo is-a-tty")
        assert p.returncode == 0, p.stderr
        assert "is-a-tty" in p.stdout
        assert podman("stop", "-t", "10", ctr_id).returncode == 0
        st = podman("inspect", ctr_id, "--format", "{{.State.Status}} {{.State.ExitCode}}")
        assert st.stdout.split() == ["exited", "3"]
    finally:
        podman("rm", "-f", ctr_id)
    assert podman("inspect", ctr_id).returncode != 0


@standin
@needs_agent
def test_delete_of_a_created_workload_leaves_nothing(vessel, bundle, cid, env):
    # Never started: the parked program, the agent and the init's relay go.
    microvm(bundle).sh("echo never > /tmp/ran").write()
    run(vessel, env, "create", "--bundle", bundle.path, cid, check=True)
    pid = json.loads(run(vessel, env, "state", cid, check=True).stdout)["pid"]
    assert with_id(cid) != []  # the relay, a fork of `vessel create`
    run(vessel, env, "delete", cid, check=True)
    assert not os.path.exists(os.path.join(vessel.root, cid))
    assert wait_for(lambda: not alive(pid) and with_id(cid) == [])
    assert not os.path.exists(os.path.join(bundle.rootfs, "tmp", "ran"))
    assert cgroup_util.leftovers(cid) == []


@standin
@needs_agent
def test_hooks(vessel, bundle, cid, env, tmp_path):
    # createRuntime and poststop run as for a container; startContainer,
    # which has no place yet, is refused rather than skipped.
    marks = tmp_path / "marks"
    marks.mkdir()
    def hook(name):
        return {"path": "/bin/sh", "args": ["sh", "-c", f"cat > {marks}/{name}"]}
    microvm(bundle).args("true")
    bundle.config["hooks"] = {"createRuntime": [hook("createRuntime")],
                              "poststop": [hook("poststop")]}
    bundle.write()
    p = run(vessel, env, "run", "--bundle", bundle.path, cid)
    assert p.returncode == 0, p.stderr
    state = json.loads((marks / "createRuntime").read_text())
    assert state["id"] == cid
    assert (marks / "poststop").exists()
    bundle.config["hooks"] = {"startContainer": [hook("startContainer")]}
    bundle.write()
    p = run(vessel, env, "run", "--bundle", bundle.path, cid)
    assert p.returncode != 0
    assert "hooks.startContainer: not supported by the microvm backend" in p.stderr
    assert not (marks / "startContainer").exists()
    assert not os.path.exists(os.path.join(vessel.root, cid))
