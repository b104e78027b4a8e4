"""virtio-fs through vessel's vhost-user frontend and the real virtiofsd,
driven by a freestanding guest (tests/guests/virtio_fs.c) speaking FUSE on
the request queue: the host's file read in the guest, the guest's file
checked on the host, `,ro` refusing writes, hostile drivers, a backend that
dies, stalls or lies, and nothing left behind however the VM ends."""
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from vmutil import VESSEL, guest, lines_with, needs_kvm, vm_run

VIRTIOFSD = "/usr/lib/qemu/virtiofsd"
pytestmark = [needs_kvm, pytest.mark.skipif(not os.access(VIRTIOFSD, os.X_OK),
                                            reason=f"{VIRTIOFSD} missing (qemu-system-common)")]

# LeakSanitizer's exit-time check forks a tracer: not a confined monitor's
# syscall.
ENV_NO_LEAKS = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")

HELLO = b"hello from the host, for the guest\n"
GUEST_DATA = b"written by the vessel virtio-fs guest\n"


def fnv1a(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def share(tmp_path):
    d = tmp_path / "share"
    d.mkdir()
    (d / "hello.txt").write_bytes(HELLO)
    return d


def env_with_tmp(tmp_path):
    """vessel's socket directory goes to TMPDIR: a private one, so the test
    can see that nothing is left in it."""
    t = tmp_path / "tmp"
    t.mkdir()
    return dict(os.environ, TMPDIR=str(t)), t


def daemons_for(d):
    """Processes whose command line serves directory d: virtiofsd, its
    sandbox child."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if f"source={d}".encode() in argv:
            found.append(int(pid))
    return found


def wait_gone(d):
    deadline = time.monotonic() + 10
    while daemons_for(d) and time.monotonic() < deadline:
        time.sleep(0.05)
    return daemons_for(d)


def run_fs(tmp_path, d, cmdline="", opt=None, env=None, extra=()):
    args = [VESSEL, "vm", "run", *extra, "--kernel", guest("virtio_fs.bzImage"),
            "--fs", opt or f"myfs={d}"]
    if cmdline:
        args += ["--cmdline", cmdline]
    return subprocess.run(args, capture_output=True, text=True, errors="replace",
                          timeout=120, env=env, stdin=subprocess.DEVNULL)


# --confine: the monitor's seccomp filter must allow what the vhost-user
# frontend does while the VM runs (the microvm backend always confines).
@pytest.mark.parametrize("extra", [(), ("--confine",)], ids=["plain", "confined"])
def test_fs_read_and_write(tmp_path, extra):
    d = share(tmp_path)
    env, tmp = env_with_tmp(tmp_path)
    if extra:  # LeakSanitizer's exit-time check forks a tracer: not a monitor's syscall
        env["ASAN_OPTIONS"] = "detect_leaks=0"
    p = run_fs(tmp_path, d, env=env, extra=extra)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert lines_with(out, "TAG") == ["myfs QUEUES 1"]
    assert lines_with(out, "INIT")[0].startswith("err=0 major=7")
    assert int(lines_with(out, "ISR")[0], 16) & 1  # "used buffer"
    assert lines_with(out, "GETATTR") == [f"err=0 size={len(HELLO)} mode=81a4"]
    assert lines_with(out, "READ") == [f"err=0 len={len(HELLO)} fnv={fnv1a(HELLO):x}"]
    assert lines_with(out, "DATA") == [HELLO.decode().rstrip("\n")]
    assert lines_with(out, "CREATE") == ["err=0"]
    assert lines_with(out, "WRITE") == [f"err=0 size={len(GUEST_DATA)} fnv={fnv1a(GUEST_DATA):x}"]
    assert (d / "from-guest.txt").read_bytes() == GUEST_DATA
    assert set(lines_with(out, "DIRENT")) == {".", "..", "hello.txt", "from-guest.txt"}
    assert lines_with(out, "RELEASE") == ["err=0"] * 3
    assert "DONE" in out
    assert daemons_for(d) == []
    assert os.listdir(tmp) == []  # the socket and its directory are gone


def test_fs_readonly_refuses_writes(tmp_path):
    d = share(tmp_path)
    with open("/proc/self/mountinfo") as f:
        mounts_before = f.read()
    p = run_fs(tmp_path, d, cmdline="ro", opt=f"myfs={d},ro")
    assert p.returncode == 0, p.stderr
    assert lines_with(p.stdout, "READ") == [f"err=0 len={len(HELLO)} fnv={fnv1a(HELLO):x}"]
    assert lines_with(p.stdout, "OPENW") == ["err=-30"]  # EROFS
    assert lines_with(p.stdout, "CREATE") == ["err=-30"]
    assert not (d / "from-guest.txt").exists()
    assert sorted(os.listdir(d)) == ["hello.txt"]
    # The read-only bind mount lived in virtiofsd's namespace only.
    with open("/proc/self/mountinfo") as f:
        assert f.read() == mounts_before
    assert daemons_for(d) == []


def test_fs_hostile_driver(tmp_path):
    """The VMM's checks set NEEDS_RESET and the device works after reset;
    lying FUSE lengths are virtiofsd's to refuse; a descriptor outside guest
    RAM goes to virtiofsd, which gives up on the device: the VM then ends
    with a message, it does not hang."""
    d = share(tmp_path)
    p = run_fs(tmp_path, d, cmdline="hostile")
    out = p.stdout
    assert lines_with(out, "HOSTILE") == [
        "size6 needs_reset=1", "ring_outside needs_reset=1", "move_live needs_reset=1",
        "bad_feature refused=1", "early_kick status=b",
        # Lying lengths reach virtiofsd, which answers from what the chain
        # really holds and never writes past a too-small reply buffer.
        "lying_len used=120 err=0", "short_reply used=0 intact=1"]
    assert lines_with(out, "READ") == [f"err=0 len={len(HELLO)} fnv={fnv1a(HELLO):x}"]
    assert lines_with(out, "CREATE") == ["err=0"]
    assert "DONE" not in out
    assert p.returncode == 84, p.stderr  # VS_VM_STATUS_DEVICE
    assert "the backend closed the vhost-user connection (virtiofsd exited" in p.stderr
    assert daemons_for(d) == []


@pytest.fixture
def reap():
    """vessel processes a test starts: killed if the test fails first, so a
    failing test leaves no VM (and so no virtiofsd) behind."""
    started = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait()


def start_looping(reap, d, env=None, opt=""):
    proc = subprocess.Popen([VESSEL, "vm", "run", "--kernel", guest("virtio_fs.bzImage"),
                             "--cmdline", "loop", "--fs", f"myfs={d}{opt}"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    reap.append(proc)
    out = ""
    for line in proc.stdout:
        out += line
        if line.startswith("LOOPING"):
            break
    assert "LOOPING" in out, proc.stderr.read()
    return proc


def test_fs_readonly_covers_volumes_mounted_below(tmp_path, reap):
    """The attack: a volume mounted below a `,ro` share. A remount of the
    share's own bind would leave it writable to the guest; every mount
    virtiofsd serves must be read-only."""
    d = share(tmp_path)
    vol = d / "vol"
    vol.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(vol)], check=True)
    try:
        start_looping(reap, d, opt=",ro")
        seen = {}
        for pid in daemons_for(d):
            with open(f"/proc/{pid}/mountinfo") as f:
                for line in f:
                    fields = line.split()
                    if fields[4].endswith("/vol") or fields[4] == "/vol":
                        seen[(pid, fields[4])] = fields[5].split(",")[0]
        assert seen, "virtiofsd's namespace has the volume"
        assert set(seen.values()) == {"ro"}, seen
    finally:
        for p in reap:
            p.kill()
            p.wait()
        wait_gone(d)
        subprocess.run(["umount", str(vol)], check=True)


def test_fs_daemon_killed_mid_run(tmp_path, reap):
    d = share(tmp_path)
    proc = start_looping(reap, d)
    daemons = daemons_for(d)
    top = [p for p in daemons if open(f"/proc/{p}/stat").read().split()[3] == str(proc.pid)]
    assert len(top) == 1, daemons
    os.kill(top[0], signal.SIGKILL)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 84, err
    assert ("virtio-fs: /usr/lib/qemu/virtiofsd: the backend closed the vhost-user connection"
            " (virtiofsd killed by signal 9)") in err
    assert wait_gone(d) == []


@pytest.mark.parametrize("sig,status", [(signal.SIGTERM, 83), (signal.SIGKILL, -9)])
def test_fs_nothing_left_when_vessel_is_signalled(tmp_path, reap, sig, status):
    d = share(tmp_path)
    env, tmp = env_with_tmp(tmp_path)
    proc = start_looping(reap, d, env=env)
    assert daemons_for(d)
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    assert proc.returncode == status
    # SIGKILL: virtiofsd's death signal ends it (and its sandbox child).
    assert wait_gone(d) == []
    assert os.listdir(tmp) == []


def test_fs_ctrl_c_stops_the_vm_not_the_daemon(tmp_path, reap):
    """SIGINT to vessel's whole process group (Ctrl-C on its terminal):
    virtiofsd, in a group of its own, is not hit; the VM ends as stopped."""
    d = share(tmp_path)
    proc = subprocess.Popen([VESSEL, "vm", "run", "--kernel", guest("virtio_fs.bzImage"),
                             "--cmdline", "loop", "--fs", f"myfs={d}"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    reap.append(proc)
    for line in proc.stdout:
        if line.startswith("LOOPING"):
            break
    for pid in daemons_for(d):
        assert os.getpgid(pid) != proc.pid
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 83, err
    assert "closed the vhost-user connection" not in err
    assert wait_gone(d) == []


@pytest.mark.parametrize("extra", [(), ("--confine",)], ids=["plain", "confined"])
def test_fs_daemon_inherits_none_of_vessels_fds(tmp_path, reap, extra):
    """The attack: a descriptor vessel's caller left open without CLOEXEC
    (and stdin) must not reach virtiofsd, which runs the guest's requests.
    It gets /dev/null as stdin, vessel's stdout and stderr, and the
    listening socket on fd 3; nothing else of vessel's."""
    d = share(tmp_path)
    secret = tmp_path / "secret"
    secret.write_bytes(b"not for virtiofsd\n")
    leak = os.open(secret, os.O_RDONLY)  # inheritable: no O_CLOEXEC
    stdin = open(secret, "rb")
    try:
        proc = subprocess.Popen([VESSEL, "vm", "run", *extra, "--kernel",
                                 guest("virtio_fs.bzImage"), "--cmdline", "loop",
                                 "--fs", f"myfs={d}"],
                                stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, pass_fds=(leak,), env=ENV_NO_LEAKS)
    finally:
        os.close(leak)
        stdin.close()
    reap.append(proc)
    for line in proc.stdout:
        if line.startswith("LOOPING"):
            break
    top = [p for p in daemons_for(d) if open(f"/proc/{p}/stat").read().split()[3] == str(proc.pid)]
    assert len(top) == 1
    fds = {}
    for fd in os.listdir(f"/proc/{top[0]}/fd"):
        try:
            fds[int(fd)] = os.readlink(f"/proc/{top[0]}/fd/{fd}")
        except OSError:
            pass
    mine = {}
    for fd in os.listdir(f"/proc/{proc.pid}/fd"):
        try:
            mine[int(fd)] = os.readlink(f"/proc/{proc.pid}/fd/{fd}")
        except OSError:
            pass
    # vessel has them (so the test can fail): the secret twice, /dev/kvm.
    assert mine[0] == str(secret) and str(secret) in [mine[f] for f in mine if f > 2], mine
    assert "/dev/kvm" in mine.values(), mine
    assert str(secret) not in fds.values(), fds
    assert "/dev/kvm" not in fds.values(), fds
    assert fds[0] == "/dev/null"
    assert (fds[1], fds[2]) == (mine[1], mine[2])
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 83, err
    assert wait_gone(d) == []


def test_fs_nothing_left_after_guest_crash(tmp_path):
    d = share(tmp_path)
    p = vm_run("--kernel", guest("power.bzImage"), "--cmdline", "action=triple",
               "--fs", f"myfs={d}")
    assert p.returncode == 81, p.stderr
    assert daemons_for(d) == []


def test_fs_vhost_user_socket(tmp_path):
    """--vhost-user-fs: a virtiofsd started by someone else."""
    d = share(tmp_path)
    sock = tmp_path / "vfs.sock"
    daemon = subprocess.Popen([VIRTIOFSD, f"--socket-path={sock}", "-o", f"source={d}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        p = vm_run("--kernel", guest("virtio_fs.bzImage"), "--vhost-user-fs", f"ext={sock}",
                   timeout=120)
        assert p.returncode == 0, p.stderr
        assert lines_with(p.stdout, "TAG") == ["ext QUEUES 1"]
        assert lines_with(p.stdout, "DATA") == [HELLO.decode().rstrip("\n")]
        assert (d / "from-guest.txt").read_bytes() == GUEST_DATA
        daemon.wait(timeout=30)  # it exits once vessel hangs up
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()


def fake_backend(path, answer):
    """A vhost-user "backend" that reads one request and answers it with
    answer(header) (None: never answers, b"": hangs up)."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(1)
    state = {}

    def serve():
        conn, _ = srv.accept()
        state["conn"] = conn
        hdr = conn.recv(12)
        reply = answer(hdr)
        if reply == b"":
            conn.close()
            return
        if reply is not None:
            conn.sendall(reply)
        try:
            conn.recv(1)  # until vessel hangs up
        except OSError:
            pass
        conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return srv, t


def reply(req, flags, size, payload=b""):
    return req.to_bytes(4, "little") + flags.to_bytes(4, "little") + \
        size.to_bytes(4, "little") + payload


@pytest.mark.parametrize("answer,msg", [
    (None, "vhost-user GET_FEATURES: no answer from the backend in 5000 ms"),
    (lambda h: b"", "vhost-user GET_FEATURES: the backend closed the connection"),
    (lambda h: reply(2, 0x5, 8, bytes(8)), "names request 2 (SET_FEATURES)"),
    (lambda h: reply(1, 0x1, 8, bytes(8)), "REPLY flag not set"),
    (lambda h: reply(1, 0x6, 8, bytes(8)), "version 2, not 1"),
    (lambda h: reply(1, 0x5, 4096), "payload of 4096 bytes, want 8"),
    (lambda h: reply(1, 0x5, 8, bytes(3)), "no answer from the backend"),
    (lambda h: reply(1, 0x5, 8, bytes(8)), "does not offer VIRTIO_F_VERSION_1"),
])
def test_fs_misbehaving_backend(tmp_path, answer, msg):
    sock = tmp_path / "fake.sock"
    srv, t = fake_backend(sock, answer if answer else (lambda h: None))
    try:
        p = vm_run("--kernel", guest("virtio_fs.bzImage"), "--vhost-user-fs", f"x={sock}",
                   timeout=60)
    finally:
        srv.close()
    assert p.returncode == 1, p.stderr
    assert msg in p.stderr
    assert "virtio-fs" in p.stderr


def test_fs_virtiofsd_missing(tmp_path):
    d = share(tmp_path)
    p = vm_run("--kernel", guest("virtio_fs.bzImage"), "--fs", f"myfs={d}",
               "--virtiofsd", str(tmp_path / "no-virtiofsd"))
    assert p.returncode == 1
    assert f"virtiofsd {tmp_path}/no-virtiofsd" in p.stderr
    assert "No such file or directory" in p.stderr


def test_fs_virtiofsd_not_executable_format(tmp_path):
    """exec fails in the child: its errno comes back through the pipe."""
    d = share(tmp_path)
    bad = tmp_path / "garbage"
    bad.write_bytes(b"\x00\x01 not a program\n")
    bad.chmod(0o755)
    p = vm_run("--kernel", guest("virtio_fs.bzImage"), "--fs", f"myfs={d}",
               "--virtiofsd", str(bad))
    assert p.returncode == 1
    assert f"--fs: starting {bad}: exec: Exec format error" in p.stderr
    assert daemons_for(d) == []


def test_fs_vhost_user_socket_missing(tmp_path):
    p = vm_run("--kernel", guest("virtio_fs.bzImage"), "--vhost-user-fs",
               f"x={tmp_path}/none.sock")
    assert p.returncode == 1
    assert f"vhost-user: connect to {tmp_path}/none.sock: No such file or directory" in p.stderr


def test_fs_vhost_user_socket_never_accepting(tmp_path):
    """A listener whose backlog is full and that never accepts: connect
    gives up after the timeout instead of blocking vessel forever."""
    sock = tmp_path / "full.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(sock))
    srv.listen(0)
    filler = []
    try:
        for _ in range(2):  # fill the backlog
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(str(sock))
            except BlockingIOError:
                pass
            filler.append(c)
        p = vm_run("--kernel", guest("virtio_fs.bzImage"), "--vhost-user-fs", f"x={sock}",
                   timeout=60)
    finally:
        for c in filler:
            c.close()
        srv.close()
    assert p.returncode == 1
    assert f"vhost-user: connect to {sock}: not accepted in 5000 ms" in p.stderr


def test_fs_missing_directory(tmp_path):
    p = vm_run("--kernel", guest("virtio_fs.bzImage"), "--fs", f"myfs={tmp_path}/none")
    assert p.returncode == 1
    assert f"shared directory {tmp_path}/none" in p.stderr


@pytest.mark.parametrize("name", ["a,b", "a\\b"])
def test_fs_directory_virtiofsd_would_misread(tmp_path, name):
    """virtiofsd would read `-o source=/x/a,b` as source=/x/a plus option b,
    and a backslash as an escape."""
    (tmp_path / "a").mkdir()
    d = tmp_path / name
    d.mkdir()
    p = vm_run("--kernel", guest("virtio_fs.bzImage"), "--fs", f"myfs={d}")
    assert p.returncode == 1
    assert f"shared directory {d}: a comma or backslash in the path" in p.stderr
    assert daemons_for(d) == []


@pytest.mark.parametrize("opts,msg", [
    (["--fs", "nodir"], "--fs: TAG=DIR[,ro]"),
    (["--fs", "=/tmp"], "--fs: TAG=DIR[,ro]"),
    (["--fs", "t=,ro"], "--fs: TAG=DIR[,ro]"),
    (["--fs", "x" * 37 + "=/tmp"], "TAG of 1 to 36 bytes"),
    (["--vhost-user-fs", "t"], "--vhost-user-fs: TAG=SOCKET"),
    (["--fs", "a=/tmp", "--vhost-user-fs", "b=/s"], "only one --fs or --vhost-user-fs"),
])
def test_fs_bad_options(opts, msg):
    p = vm_run("--kernel", guest("virtio_fs.bzImage"), *opts)
    assert p.returncode != 0
    assert msg in p.stderr


def stalling_daemon(tmp_path):
    """A "virtiofsd" that never reads its socket: no EOF tells it that
    vessel went away, only its death signal can."""
    fake = tmp_path / "stalling-virtiofsd"
    fake.write_text('#!/bin/sh\nexec /usr/bin/python3 -c "import time; time.sleep(600)" "$@"\n')
    fake.chmod(0o755)
    return fake


def test_fs_daemon_dies_with_sigkilled_vessel(tmp_path, reap):
    d = share(tmp_path)
    fake = stalling_daemon(tmp_path)
    for attempt in range(3):
        err = tmp_path / f"vessel-{attempt}.err"
        with open(err, "w") as errf:
            proc = subprocess.Popen([VESSEL, "vm", "run", "--kernel", guest("virtio_fs.bzImage"),
                                     "--fs", f"myfs={d}", "--virtiofsd", str(fake)],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=errf)
        reap.append(proc)
        deadline = time.monotonic() + 30
        while not daemons_for(d) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        # A script written just now can be busy (ETXTBSY) while a process
        # forked elsewhere in this test run still holds it: start again.
        if daemons_for(d) or "Text file busy" not in err.read_text():
            break
    assert daemons_for(d), f"the fake daemon never started: {err.read_text()}"
    proc.kill()  # while vessel waits for the GET_FEATURES reply
    proc.wait()
    try:
        assert wait_gone(d) == []
    finally:
        for pid in daemons_for(d):  # only when the test failed
            os.kill(pid, signal.SIGKILL)


def test_fs_stalling_daemon_is_stopped(tmp_path):
    d = share(tmp_path)
    p = vm_run("--kernel", guest("virtio_fs.bzImage"), "--fs", f"myfs={d}",
               "--virtiofsd", str(stalling_daemon(tmp_path)))
    assert p.returncode == 1
    assert "vhost-user GET_FEATURES: no answer from the backend in 5000 ms" in p.stderr
    assert daemons_for(d) == []  # SIGTERM, reaped
