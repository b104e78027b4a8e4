"""vessel-agent as a host process over AF_UNIX (docs/agent-protocol.md):
every message, exit codes, signals, stdio, the terminal, concurrency and
malformed input. Runs against the agent next to VESSEL (build/ or
build-asan/)."""
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import time
import uuid

import pytest

from agent_util import Agent, frame, process, read_all, recv_frame

BB = "/bin/busybox"


@pytest.fixture
def agent(agent_path, tmp_path):
    a = Agent(agent_path, str(tmp_path / "agent.sock"))
    yield a
    a.close()
    err = a.stderr()
    assert "Sanitizer" not in err and "runtime error" not in err, err


def sh(script, **kw):
    return process(BB, "sh", "-c", script, **kw)


def run(ctl, pid, proc, stdio=()):
    ctl.ok("create", process_id=pid, process=proc, stdio=list(stdio))
    ctl.ok("start", process_id=pid)


def test_hello(agent):
    c = agent.control()
    s = agent.connect()
    s.sendall(frame({"type": "hello", "id": 9, "version": 1}))
    rep = recv_frame(s)
    assert rep["type"] == "reply" and rep["id"] == 9 and rep["version"] == 1
    assert rep["agent"].startswith("vessel-agent ")
    # A second hello on a control connection is an error, not a new session.
    assert c.call("hello", version=1)["type"] == "error"


def test_hello_other_version_refused_and_closed(agent):
    s = agent.connect()
    s.sendall(frame({"type": "hello", "id": 1, "version": 2}))
    rep = recv_frame(s)
    assert rep["type"] == "error" and "version" in rep["message"]
    assert recv_frame(s) is None


def test_exit_code(agent):
    c = agent.control()
    run(c, "init", sh("exit 3"))
    rep = c.ok("wait", process_id="init")
    assert rep["exit_code"] == 3 and rep["signal"] == 0


def test_killed_by_signal_is_128_plus_n(agent):
    c = agent.control()
    run(c, "init", sh("kill -9 $$"))
    rep = c.ok("wait", process_id="init")
    assert rep["exit_code"] == 137 and rep["signal"] == 9


def test_signal_running_program(agent):
    c = agent.control()
    run(c, "init", process(BB, "sleep", "1000"))
    w = c.send("wait", process_id="init")
    # The wait is pending; later requests are answered first.
    assert c.ok("ps")["type"] == "reply"
    assert w not in c.pending
    c.ok("signal", process_id="init", signal=15)
    rep = c.reply(w)
    assert rep["exit_code"] == 143 and rep["signal"] == 15


def test_signal_all_reaches_grandchildren(agent):
    c = agent.control()
    out = None
    c.ok("create", process_id="init",
         process=sh(f"{BB} sleep 1000 & echo $!; wait"), stdio=["stdout"])
    out = agent.stdio("init", "stdout")
    c.ok("start", process_id="init")
    grandchild = int(out.recv(64).split()[0])
    assert grandchild in c.ok("ps")["pids"]
    c.ok("signal", process_id="init", signal=9, all=True)
    assert c.ok("wait", process_id="init")["exit_code"] == 137
    # The sleep was killed too (and reaped by the agent, its subreaper).
    for _ in range(500):
        if not os.path.exists(f"/proc/{grandchild}"):
            break
        time.sleep(0.01)
    assert not os.path.exists(f"/proc/{grandchild}")


def test_stdin_eof_reaches_program(agent):
    c = agent.control()
    c.ok("create", process_id="init", process=process(BB, "cat"), stdio=["stdin", "stdout"])
    i = agent.stdio("init", "stdin")
    o = agent.stdio("init", "stdout")
    c.ok("start", process_id="init")
    data = b"hello agent\n" * 10000  # more than a pipe holds
    i.sendall(data)
    i.shutdown(socket.SHUT_WR)
    assert read_all(o) == data
    assert c.ok("wait", process_id="init")["exit_code"] == 0


def test_stdout_stderr_separate(agent):
    c = agent.control()
    c.ok("create", process_id="init", process=sh("echo out; echo err >&2; exit 5"),
         stdio=["stdout", "stderr"])
    o = agent.stdio("init", "stdout")
    e = agent.stdio("init", "stderr")
    c.ok("start", process_id="init")
    assert read_all(o) == b"out\n"
    assert read_all(e) == b"err\n"
    assert c.ok("wait", process_id="init")["exit_code"] == 5


def test_start_before_streams_attach(agent):
    c = agent.control()
    c.ok("create", process_id="init", process=sh("echo early"), stdio=["stdout"])
    # start is answered at once; the program waits for its stream.
    c.ok("start", process_id="init")
    o = agent.stdio("init", "stdout")
    assert read_all(o) == b"early\n"
    assert c.ok("wait", process_id="init")["exit_code"] == 0


def test_env_cwd_umask(agent, tmp_path):
    c = agent.control()
    p = sh("echo $FOO; pwd; umask", env=["FOO=bar", "PATH=/bin"], cwd=str(tmp_path))
    p["user"]["umask"] = 0o27
    c.ok("create", process_id="init", process=p, stdio=["stdout"])
    o = agent.stdio("init", "stdout")
    c.ok("start", process_id="init")
    assert read_all(o).decode().split() == ["bar", str(tmp_path), "0027"]


def test_user_and_groups(agent):
    c = agent.control()
    p = sh("id -u; id -g; id -G")
    p["user"] = {"uid": 1234, "gid": 2345, "additionalGids": [3456]}
    c.ok("create", process_id="init", process=p, stdio=["stdout"])
    o = agent.stdio("init", "stdout")
    c.ok("start", process_id="init")
    lines = read_all(o).decode().split("\n")
    assert lines[0] == "1234" and lines[1] == "2345"
    assert "3456" in lines[2].split()


def test_rlimits_and_no_new_privs(agent):
    c = agent.control()
    p = sh("ulimit -n; grep NoNewPrivs /proc/self/status")
    p["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 77, "hard": 88}]
    p["noNewPrivileges"] = True
    c.ok("create", process_id="init", process=p, stdio=["stdout"])
    o = agent.stdio("init", "stdout")
    c.ok("start", process_id="init")
    out = read_all(o).decode().split("\n")
    assert out[0] == "77"
    assert out[1].split() == ["NoNewPrivs:", "1"]


def test_terminal_and_resize(agent):
    c = agent.control()
    p = sh("test -t 0 && echo tty; stty size; read x; stty size", terminal=True,
           consoleSize={"height": 30, "width": 100})
    c.ok("create", process_id="init", process=p, stdio=["pty"])
    t = agent.stdio("init", "pty")
    c.ok("start", process_id="init")
    buf = b""
    while b"30 100" not in buf:
        chunk = t.recv(4096)
        assert chunk, buf
        buf += chunk
    assert b"tty" in buf
    c.ok("resize", process_id="init", rows=40, cols=120)
    t.sendall(b"go\n")
    buf = b""
    while b"40 120" not in buf:
        chunk = t.recv(4096)
        assert chunk, buf
        buf += chunk
    assert c.ok("wait", process_id="init")["exit_code"] == 0
    # The agent shuts the pty stream's write side once the program is gone.
    assert read_all(t) is not None


def test_resize_without_terminal_is_error(agent):
    c = agent.control()
    c.ok("create", process_id="init", process=process(BB, "true"), stdio=[])
    rep = c.call("resize", process_id="init", rows=1, cols=1)
    assert rep["type"] == "error" and "no terminal" in rep["message"]


def test_init_and_exec_concurrently(agent):
    c = agent.control()
    c.ok("create", process_id="init", process=process(BB, "cat"), stdio=["stdin", "stdout"])
    i = agent.stdio("init", "stdin")
    o = agent.stdio("init", "stdout")
    c.ok("start", process_id="init")
    # A second control connection runs an exec while init keeps running.
    c2 = agent.control()
    rep = c2.ok("exec", process_id="x1", process=sh("echo exec"), stdio=["stdout"])
    assert rep["pid"] > 0
    xo = agent.stdio("x1", "stdout")
    assert read_all(xo) == b"exec\n"
    assert c2.ok("wait", process_id="x1")["exit_code"] == 0
    i.sendall(b"init\n")
    i.close()
    assert read_all(o) == b"init\n"
    assert c.ok("wait", process_id="init")["exit_code"] == 0


def test_ps_and_stats(agent):
    c = agent.control()
    rep = c.ok("create", process_id="init", process=process(BB, "sleep", "1000"), stdio=[])
    pid = rep["pid"]
    c.ok("start", process_id="init")
    assert pid in c.ok("ps")["pids"]
    st = c.ok("stats")
    assert st["memory"]["usage"] > 0
    assert st["cpu"]["usage_ns"] > 0
    assert st["pids"] >= 1
    c.ok("signal", process_id="init", signal=9)
    c.ok("wait", process_id="init")
    assert pid not in c.ok("ps")["pids"]


def test_oom_watch_is_pending_until_an_oom_kill(agent):
    c = agent.control()
    w = c.send("oom_watch")
    # Answered only after an OOM kill; the next request is answered first.
    assert c.ok("ps")["type"] == "reply"
    assert w not in c.pending


def test_shutdown_then_exit(agent):
    c = agent.control()
    run(c, "init", process(BB, "sleep", "1000"))
    c.ok("shutdown")
    assert agent.proc.wait(timeout=30) is not None


def test_exits_with_init_code_when_control_closes(agent):
    c = agent.control()
    run(c, "init", sh("exit 7"))
    assert c.ok("wait", process_id="init")["exit_code"] == 7
    c.close()
    assert agent.proc.wait(timeout=30) == 7


def test_start_twice_and_duplicate_create(agent):
    c = agent.control()
    c.ok("create", process_id="init", process=process(BB, "true"), stdio=[])
    assert c.call("create", process_id="init", process=process(BB, "true"),
                  stdio=[])["type"] == "error"
    c.ok("start", process_id="init")
    rep = c.call("start", process_id="init")
    assert rep["type"] == "error" and "already started" in rep["message"]
    rep = c.call("wait", process_id="nope")
    assert rep["type"] == "error" and "nope" in rep["message"]


@pytest.mark.parametrize("mutate,field", [
    (lambda p: p.update(apparmorProfile="x"), "process.apparmorProfile"),
    (lambda p: p.update(selinuxLabel="x"), "process.selinuxLabel"),
    (lambda p: p.pop("args"), "process.args"),
    (lambda p: p.update(cwd="relative"), "process.cwd"),
    (lambda p: p["user"].update(uid="root"), "process.user.uid"),
    (lambda p: p.update(rlimits=[{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]), "process.rlimits[0]"),
    (lambda p: p.update(capabilities={"bounding": "CAP_KILL"}), "process.capabilities.bounding"),
    (lambda p: p.update(scheduler={"policy": "SCHED_BOGUS"}), "process.scheduler.policy"),
    (lambda p: p.update(args=["/no/such/program"]), "process.args[0]"),
    (lambda p: p.update(terminal=True), "process.terminal"),
])
def test_process_field_errors_name_the_field(agent, mutate, field):
    c = agent.control()
    p = process(BB, "true")
    mutate(p)
    rep = c.call("create", process_id="init", process=p, stdio=[])
    assert rep["type"] == "error", rep
    assert field in rep["message"], rep["message"]
    # Nothing was left: the id is free again.
    c.ok("create", process_id="init", process=process(BB, "true"), stdio=[])


def test_hostname_needs_own_uts_namespace(agent):
    try:
        shared = os.stat("/proc/self/ns/uts").st_ino == os.stat("/proc/1/ns/uts").st_ino
    except PermissionError:
        shared = True  # the agent cannot tell either, and refuses
    if not shared:
        pytest.skip("the test runs outside its pid 1's UTS namespace")
    c = agent.control()
    rep = c.call("create", process_id="init", process=process(BB, "true"), hostname="x",
                 stdio=[])
    assert rep["type"] == "error" and "hostname" in rep["message"], rep


def test_hostname_in_own_uts_namespace(agent_path, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("unshare --uts needs root")
    a = Agent(agent_path, str(tmp_path / "uts.sock"), wrap=["unshare", "--uts", "--pid", "--fork", "--mount-proc"])
    try:
        # PID 1 of its own pid and UTS namespaces, as a container's init.
        c = a.control()
        c.ok("create", process_id="init", process=process(BB, "hostname"), hostname="guest-x",
             stdio=["stdout"])
        o = a.stdio("init", "stdout")
        c.ok("start", process_id="init")
        assert read_all(o) == b"guest-x\n"
    finally:
        a.close()


def assert_closed_with_error(s, text):
    rep = recv_frame(s)
    assert rep is not None and rep["type"] == "error", rep
    assert text in rep["message"], rep["message"]
    assert recv_frame(s) is None


def test_malformed_frames_close_only_their_connection(agent):
    c = agent.control()
    run(c, "init", process(BB, "sleep", "1000"))
    cases = [
        (struct.pack(">I", 2 * 1024 * 1024), "out of range"),  # oversize length
        (struct.pack(">I", 0), "out of range"),  # zero length
        (struct.pack(">I", 0xFFFFFFFF), "out of range"),  # huge declared length
        (frame(b"{not json"), "invalid JSON"),
        (frame(b"[1,2,3]"), "not a JSON object"),
        (frame({"id": 1}), "type"),  # missing type
        (frame({"type": "bogus", "id": 1}), "bogus"),  # unknown first frame
        (frame({"type": "stdio", "process": "nope", "stream": "stdout"}), "nope"),
        (frame({"type": "stdio", "process": "init", "stream": "stdout"}), "not created with it"),
        (frame({"type": "stdio", "process": "init", "stream": "video"}), "video"),
    ]
    for data, text in cases:
        s = agent.connect()
        s.sendall(data)
        assert_closed_with_error(s, text)
    # Unknown and typeless requests on a control connection close it too.
    c2 = agent.control()
    c2.sock.sendall(frame({"type": "frobnicate", "id": 5}))
    assert_closed_with_error(c2.sock, "frobnicate")
    # A bad field is answered and the connection stays.
    rep = c.call("signal", process_id="init", signal="TERM")
    assert rep["type"] == "error" and "signal" in rep["message"]
    # The agent kept serving the first connection all along.
    assert c.ok("ps")["pids"]
    c.ok("signal", process_id="init", signal=9)
    assert c.ok("wait", process_id="init")["exit_code"] == 137


def test_truncated_frame_then_close(agent):
    c = agent.control()
    s = agent.connect()
    s.sendall(struct.pack(">I", 100) + b"{\"type\"")
    s.close()
    assert c.ok("ps")["type"] == "reply"


def test_many_connections_at_once(agent):
    ctls = [agent.control() for _ in range(20)]
    for n, c in enumerate(ctls):
        run(c, f"p{n}", sh(f"exit {n}"))
    for n, c in enumerate(ctls):
        assert c.ok("wait", process_id=f"p{n}")["exit_code"] == n


def test_network_field_errors(agent):
    c = agent.control()
    cases = [
        ({"interfaces": [{"name": "eth0", "mac": "zz"}]}, "network: interfaces[0].mac"),
        ({"interfaces": [{"name": "eth0", "addresses": ["10.0.0.1"]}]},
         "network: interfaces[0].addresses[0]"),
        ({"interfaces": [{"name": "no-such-if0"}]}, "no interface \"no-such-if0\""),
        ({"interfaces": [{"name": "eth0", "mtu": 10}]}, "network: interfaces[0].mtu"),
        ({"routes": [{"dst": "default", "gateway": "fd00::1", "dev": "eth0"},
                     {"dst": "nowhere"}]}, "network: routes[1].dst"),
        ({"routes": [{"dst": "10.0.0.0/8", "gateway": "fd00::1"}]}, "network: routes[0].gateway"),
    ]
    for req, text in cases:
        rep = c.call("network", **req)
        assert rep["type"] == "error" and text in rep["message"], (req, rep)


def ip_available():
    return os.geteuid() == 0 and shutil.which("ip") and shutil.which("unshare")


def test_network_configures_interface_and_routes(agent_path, tmp_path):
    if not ip_available():
        pytest.skip("needs root, ip and unshare for a private network namespace")
    # A private network namespace with a veth pair: eth0 is the guest's side.
    setup = ("ip link add eth0 type veth peer name peer0 && ip link set peer0 up && "
             'exec "$0" "$@"')
    a = Agent(agent_path, str(tmp_path / "net.sock"), wrap=["unshare", "--net", "sh", "-c", setup])
    try:
        c = a.control()
        c.ok("network",
             interfaces=[{"name": "lo"},
                         {"name": "eth0", "mac": "02:42:ac:11:00:02", "mtu": 1400,
                          "addresses": ["172.17.0.2/16", "fd00::2/64"]}],
             routes=[{"dst": "default", "gateway": "172.17.0.1", "dev": "eth0"},
                     {"dst": "10.99.0.0/16", "dev": "eth0"}])
        c.ok("create", process_id="init",
             process=sh(f"{BB} ip addr show eth0; {BB} ip route; {BB} ip -6 addr show eth0"),
             stdio=["stdout"])
        o = a.stdio("init", "stdout")
        c.ok("start", process_id="init")
        out = read_all(o).decode()
        assert "02:42:ac:11:00:02" in out
        assert "mtu 1400" in out
        assert "172.17.0.2/16" in out
        assert "fd00::2/64" in out
        assert "default via 172.17.0.1 dev eth0" in out
        assert "10.99.0.0/16 dev eth0" in out
        assert ",UP" in out or "<UP" in out
    finally:
        a.close()


def test_waiting_child_does_not_hold_another_programs_stdin(agent):
    c = agent.control()
    c.ok("create", process_id="init", process=process(BB, "cat"), stdio=["stdin", "stdout"])
    i = agent.stdio("init", "stdin")
    o = agent.stdio("init", "stdout")
    c.ok("start", process_id="init")
    # Created after init's stdin pipe exists, and never started: its child
    # must not keep a copy of the pipe's write end.
    c.ok("create", process_id="parked", process=process(BB, "true"), stdio=[])
    i.sendall(b"x")
    i.close()
    assert read_all(o) == b"x"
    assert c.ok("wait", process_id="init")["exit_code"] == 0


def test_connection_cap(agent):
    c = agent.control()
    extra = [agent.connect() for _ in range(300)]
    # The agent keeps at most 256 connections: the newest are closed at
    # once, and the established control connection still works.
    closed = set()
    deadline = time.monotonic() + 30
    while len(closed) < 300 - 255 and time.monotonic() < deadline:
        ready, _, _ = select.select([s for s in extra if s not in closed], [], [], 1)
        for s in ready:
            if s.recv(1) == b"":
                closed.add(s)
    closed = len(closed)
    assert closed >= 300 - 255
    assert c.ok("ps")["type"] == "reply"
    for s in extra:
        s.close()


def memory_cgroup(tmp_name):
    """A fresh memory cgroup below ours (v2 or v1), or None."""
    with open("/proc/self/cgroup") as f:
        lines = f.read().splitlines()
    for line in lines:
        _, ctrl, path = line.split(":", 2)
        if ctrl == "memory":
            base = "/sys/fs/cgroup/memory" + path
            limit = "memory.limit_in_bytes"
            break
        if ctrl == "" and os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            base = "/sys/fs/cgroup" + path
            limit = "memory.max"
    else:
        return None
    d = os.path.join(base, tmp_name)
    try:
        os.mkdir(d)
        with open(os.path.join(d, limit), "w") as f:
            f.write(str(16 << 20))
    except OSError:
        return None
    return d


def test_oom_watch_answers_after_an_oom_kill(agent, tmp_path):
    cg = memory_cgroup("vessel-agent-oom-" + uuid.uuid4().hex[:12])
    if cg is None:
        pytest.skip("no writable memory cgroup for an OOM kill")
    try:
        c = agent.control()
        w = c.send("oom_watch")
        script = (f"echo $$ > {cg}/cgroup.procs; "
                  f"x=$({BB} head -c 134217728 /dev/zero | {BB} tr '\\0' a)")
        run(c, "hog", sh(script))
        assert c.ok("wait", process_id="hog")["exit_code"] == 137
        rep = c.reply(w)
        assert rep["type"] == "reply" and rep["count"] >= 1
    finally:
        remove_cgroup(cg)


def remove_cgroup(cg):
    """The OOM kill ends the shell; its pipeline may linger a moment."""
    for _ in range(3000):
        with open(os.path.join(cg, "cgroup.procs")) as f:
            for pid in f.read().split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            os.rmdir(cg)
            return
        except OSError:
            time.sleep(0.01)
    os.rmdir(cg)


def pid1_namespace():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare for a private pid namespace")
    return ["unshare", "--pid", "--mount", "--net", "--fork", "--propagation", "private"]


def run_as_pid1(cmd):
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    return p.returncode, p.stderr.decode(errors="replace")


def test_pid1_without_vessel_root_says_so_and_powers_off(agent_path):
    # PID 1 of a private pid namespace (no --listen): the boot mounts the
    # API filesystems in its own mount namespace, finds no vessel.root= on
    # this host's kernel command line and powers off, which reboot(2)
    # turns into SIGINT for a namespace's init.
    rc, err = run_as_pid1(pid1_namespace() + [agent_path])
    assert "kernel command line: vessel.root: required" in err, err
    assert rc == -signal.SIGINT, (rc, err)  # unshare re-raises its child's signal


def test_pid1_missing_module_is_an_error_on_the_console(agent_path, tmp_path):
    if "asan" in agent_path:
        pytest.skip("the ASan build is dynamic and cannot run alone in a chroot")
    root = tmp_path / "initramfs"
    (root / "vessel").mkdir(parents=True)
    shutil.copy(agent_path, root / "init")
    (root / "vessel" / "modules.list").write_text("# in order\nlib/modules/virtio_mmio.ko\n")
    rc, err = run_as_pid1(pid1_namespace() + ["chroot", str(root), "/init"])
    assert "boot: module /lib/modules/virtio_mmio.ko (/vessel/modules.list)" in err, err
    assert "No such file or directory" in err
    assert rc == -signal.SIGINT, (rc, err)  # unshare re-raises its child's signal


def test_more_execs_than_the_process_table_holds(agent):
    c = agent.control()
    run(c, "init", process(BB, "sleep", "1000"))
    # Exited and waited-for execs make room; init is never forgotten.
    for n in range(300):
        c.ok("exec", process_id=f"x{n}", process=process(BB, "true"), stdio=[])
        assert c.ok("wait", process_id=f"x{n}")["exit_code"] == 0
    c.ok("signal", process_id="init", signal=9)
    assert c.ok("wait", process_id="init")["exit_code"] == 137


def test_listen_fd(agent_path, tmp_path):
    path = str(tmp_path / "fd.sock")
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(8)
    p = subprocess.Popen([agent_path, "--listen-fd", str(lsock.fileno())],
                         pass_fds=[lsock.fileno()], stdin=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    lsock.close()
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(path)
        s.sendall(frame({"type": "hello", "id": 1, "version": 1}))
        assert recv_frame(s)["type"] == "reply"
        s.sendall(frame({"type": "shutdown", "id": 2}))
        assert recv_frame(s)["type"] == "reply"
        assert p.wait(timeout=30) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert b"Sanitizer" not in p.stderr.read()


def test_bad_arguments(agent_path):
    for args, text in [(["--listen", "tcp:1"], "expected unix:PATH"),
                       (["--listen-fd", "x"], "not an fd number"),
                       (["--listen-fd", "0"], "--listen-fd 0"),
                       (["--bogus"], "unknown argument")]:
        p = subprocess.run([agent_path] + args, capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        assert p.returncode != 0 and text in p.stderr, (args, p.stderr)


def test_client_that_never_reads_is_dropped(agent):
    # Requests whose replies are never read: the agent queues at most
    # 16 MiB for a connection, then drops it, and serves the others.
    c = agent.control()
    hog = agent.control()
    req = frame({"type": "wait", "id": 7, "process_id": "p" * 64})
    batch = req * 2000
    hog.sock.settimeout(30)
    dropped = False
    for _ in range(400):  # up to 800k requests, ~125 MiB of replies
        try:
            hog.sock.sendall(batch)
        except (BrokenPipeError, ConnectionResetError):
            dropped = True
            break
        except socket.timeout:
            break  # the agent stopped reading: it has not dropped us
    assert dropped
    assert c.ok("ps")["type"] == "reply"


def test_capabilities_and_oom_score_adj(agent):
    if os.geteuid() != 0:
        pytest.skip("capabilities and a raised oomScoreAdj need root")
    c = agent.control()
    p = sh("grep -E '^Cap(Eff|Prm|Bnd):' /proc/self/status; cat /proc/self/oom_score_adj")
    kill = ["CAP_KILL"]
    p["capabilities"] = {"bounding": kill, "effective": kill, "permitted": kill}
    p["oomScoreAdj"] = 500
    c.ok("create", process_id="init", process=p, stdio=["stdout"])
    o = agent.stdio("init", "stdout")
    c.ok("start", process_id="init")
    out = read_all(o).decode().split("\n")
    caps = dict(line.split(":") for line in out[:3])
    assert {k: int(v, 16) for k, v in caps.items()} == {"CapPrm": 1 << 5, "CapEff": 1 << 5,
                                                        "CapBnd": 1 << 5}
    assert out[3] == "500"


def test_random_garbage_never_stops_the_agent(agent):
    import random
    rnd = random.Random(1234)
    c = agent.control()
    run(c, "init", process(BB, "sleep", "1000"))
    for n in range(200):
        s = agent.connect()
        kind = n % 4
        if kind == 0:
            data = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 64)))
        elif kind == 1:  # a plausible length, random body
            body = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 64)))
            data = struct.pack(">I", len(body)) + body
        elif kind == 2:  # a control session with mangled requests
            data = frame({"type": "hello", "id": 1, "version": 1})
            req = {"type": rnd.choice(["create", "start", "exec", "signal", "wait", "resize",
                                       "ps", "stats", "network"]),
                   "id": rnd.choice([2, -1, "x", None, 2 ** 70]),
                   "process_id": rnd.choice(["init", "", None, 5, "x" * 100]),
                   "process": rnd.choice([None, {}, [], {"args": []}, {"args": ["a"], "cwd": 5}]),
                   "stdio": rnd.choice([None, ["pty"], ["stdin", "stdin"], [1], "stdin"]),
                   "signal": rnd.choice([0, 9999, "TERM", None]),
                   "rows": rnd.choice([-1, 70000, None]), "cols": 1,
                   "interfaces": rnd.choice([None, [{}], [{"name": 5}]])}
            data += frame(req)
        else:  # a stdio header with odd fields, then raw bytes
            data = frame({"type": "stdio", "process": rnd.choice(["init", None, 1]),
                          "stream": rnd.choice(["stdin", "pty", None, []])}) + b"raw bytes"
        try:
            s.sendall(data)
        except OSError:
            pass
        s.close()
    # Still serving, and init was never touched by the malformed signals.
    assert init_running(c)
    c.ok("signal", process_id="init", signal=9)
    assert c.ok("wait", process_id="init")["exit_code"] == 137


def init_running(c):
    return bool(c.ok("ps")["pids"])


def test_wait_pending_on_a_closed_connection(agent):
    c = agent.control()
    run(c, "init", process(BB, "sleep", "1000"))
    other = agent.control()
    other.send("wait", process_id="init")
    other.send("oom_watch")
    other.close()
    c.ok("signal", process_id="init", signal=9)
    assert c.ok("wait", process_id="init")["exit_code"] == 137


def gone(pid):
    """pid has exited and been reaped (the agent reaps what it adopts)."""
    for _ in range(1000):
        if not os.path.exists(f"/proc/{pid}"):
            return True
        time.sleep(0.01)
    return False


def read_lines(sock, n):
    buf = b""
    while buf.count(b"\n") < n:
        chunk = sock.recv(4096)
        assert chunk, buf
        buf += chunk
    return buf.decode().split()


def test_exec_ends_when_its_control_connection_closes(agent):
    # The host side of an exec (its relay) holds the connection that sent
    # it; a relay killed with SIGKILL closes it with the wait unanswered.
    # The exec'd process, its group and its descendants are killed.
    c = agent.control()
    run(c, "init", process(BB, "sleep", "1000"))
    relay = agent.control()
    relay.ok("exec", process_id="x1", stdio=["stdout"],
             process=sh(f"{BB} sleep 1001 & echo $!; {BB} setsid {BB} sleep 1002 & "
                        "echo $!; echo $$; wait"))
    out = agent.stdio("x1", "stdout")
    in_group, own_session, shell = (int(p) for p in read_lines(out, 3))
    pending = relay.send("wait", process_id="x1")
    assert pending not in relay.pending
    relay.close()
    # Another connection's wait sees the SIGKILL.
    rep = c.ok("wait", process_id="x1")
    assert rep["exit_code"] == 137 and rep["signal"] == 9
    for pid in (shell, in_group, own_session):
        assert gone(pid), pid
    # init was created, not exec'd, on a connection still open: untouched.
    assert c.ok("ps")["pids"]
    c.ok("signal", process_id="init", signal=9)
    assert c.ok("wait", process_id="init")["exit_code"] == 137


def test_exec_answered_then_connection_closed_leaves_the_rest(agent):
    # The rule is for an exec the host still waits on: one whose exit was
    # answered is over, and the init of a closed connection runs on.
    c = agent.control()
    run(c, "init", process(BB, "sleep", "1000"))
    c2 = agent.control()
    c2.ok("exec", process_id="x1", process=process(BB, "true"), stdio=[])
    assert c2.ok("wait", process_id="x1")["exit_code"] == 0
    c2.close()
    c.close()
    c3 = agent.control()
    pids = c3.ok("ps")["pids"]
    assert len(pids) == 1
    c3.ok("signal", process_id="init", signal=9)
    assert c3.ok("wait", process_id="init")["exit_code"] == 137
