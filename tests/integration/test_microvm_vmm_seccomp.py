"""The monitor's confinement (`vessel vm run --confine`: every capability
dropped and the monitor's seccomp filter, as the microvm backend applies
them once the VM is built) still runs VMs: several vCPUs (threads made
after the filter), virtio-blk, virtio-rng and the hybrid vsock."""
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from test_vm_virtio import fnv1a as fnv32, make_disk, pattern
from vmutil import (VESSEL, dial, guest, lines_with, needs_kvm, read_until, recv_line,
                    serve_5000, stop, unix_listener)

pytestmark = needs_kvm

# LeakSanitizer's exit-time check forks a tracer: not a monitor's syscall.
ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")


def run(*args):
    return subprocess.run([VESSEL, "vm", "run", "--confine"] + [str(a) for a in args],
                          capture_output=True, text=True, errors="replace", timeout=120,
                          stdin=subprocess.DEVNULL, env=ENV)


@pytest.mark.parametrize("cpus", [1, 3])
def test_smp_confined(cpus):
    p = run("--kernel", guest("smp.bzImage"), "--cpus", cpus)
    assert p.returncode == 0, p.stderr
    n = 20000 * cpus
    assert lines_with(p.stdout, "SMP") == [f"started={cpus - 1} of {cpus - 1} counter={n} expected={n}"]


@pytest.mark.parametrize("action,status,message", [
    ("poweroff", 0, None),
    ("kbd", 80, None),
    ("triple", 81, "triple fault"),   # KVM_GET_REGS/SREGS for the report
    ("exit:42", 42, None),
    ("fetch", 82, "rip 0xd0100000"),
])
def test_exit_paths_confined(action, status, message):
    p = run("--kernel", guest("power.bzImage"), "--cmdline", f"action={action}")
    assert p.returncode == status, p.stderr
    assert lines_with(p.stdout, "ACTION") == [action]
    if message:
        assert message in p.stderr


def test_sigterm_stops_confined_vm(tmp_path):
    """SIGTERM -> vs_vm_stop -> signals that kick the vCPUs out of KVM_RUN."""
    out = tmp_path / "out"
    with open(out, "w") as f:
        proc = subprocess.Popen([VESSEL, "vm", "run", "--confine", "--kernel",
                                 guest("power.bzImage"), "--cmdline", "action=hang"],
                                stdout=f, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                env=ENV)
    try:
        deadline = time.time() + 30
        while "HANGING" not in out.read_text() and time.time() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 83, err


def test_blk_and_rng_confined(tmp_path):
    disk = tmp_path / "disk.img"
    make_disk(disk)
    p = run("--kernel", guest("virtio_blk.bzImage"), "--disk", disk)
    assert p.returncode == 0, p.stderr
    assert lines_with(p.stdout, "WRITE") == ["status=0"]
    assert lines_with(p.stdout, "FLUSH") == ["status=0"]
    with open(disk, "rb") as f:
        f.seek(512)
        assert f.read(512) == pattern()
    p = run("--kernel", guest("virtio_rng.bzImage"), "--rng")
    assert p.returncode == 0, p.stderr
    assert lines_with(p.stdout, "RNG")[0] == "len=64,64 differ=1 zero=0"


def status_fields(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)


def test_vsock_confined(tmp_path):
    """Guest -> host connects through PATH_5000 (socket(AF_UNIX) and
    connect under the filter), host -> guest through PATH; meanwhile the
    monitor is seen confined in /proc."""
    path = str(tmp_path / "v.sock")
    listener = unix_listener(path + "_5000")
    got = {}
    t = threading.Thread(target=serve_5000, args=(listener, got), daemon=True)
    t.start()
    proc = subprocess.Popen([VESSEL, "vm", "run", "--confine", "--kernel",
                             guest("virtio_vsock.bzImage"), "--vsock", path + ",cid=7"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=ENV)
    payload = bytes((i * 13 + 1) & 0xFF for i in range(20000))
    try:
        out = read_until(proc, "LISTENING")
        st = status_fields(proc.pid)
        # Jailed: chrooted into PATH's directory, in a network namespace
        # of its own (tests/unit/test_microvm_vmm_jail.c tries the escapes).
        root = os.readlink(f"/proc/{proc.pid}/root")
        netns = os.readlink(f"/proc/{proc.pid}/ns/net")
        s = dial(path)
        s.sendall(b"CONNECT 6000\n")
        ok = s.recv(64)
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        reply = recv_line(s)
        s.close()
        out += read_until(proc, "IDLE")
        rest, err = proc.communicate("q", timeout=60)
        out += rest
    finally:
        stop(proc)
        listener.close()
    assert proc.returncode == 0, err
    assert st["Seccomp"] == "2"            # filter mode
    assert root == os.path.realpath(tmp_path)
    assert netns != os.readlink("/proc/self/ns/net")
    assert st["NoNewPrivs"] == "1"
    for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(st[k], 16) == 0, (k, st[k])
    msg = bytes((i * 31 + 7) & 0xFF for i in range(2048))
    assert got["got"] == msg
    assert ok.startswith(b"OK ")
    assert reply == b"%08x\n" % fnv32(payload)
    # Confined, the monitor may not unlink: its socket stays for the caller.
    assert os.path.exists(path)


def test_confine_without_guest_fails_cleanly(tmp_path):
    p = run("--kernel", tmp_path / "none")
    assert p.returncode != 0 and "none" in p.stderr


@pytest.mark.parametrize("mode", ["persistent", "fd"])
def test_net_confined(tmp_path, mode, monkeypatch):
    """virtio-net both ways on a tap (set up before the filter, as the
    backend's tap and tc redirect are)."""
    from test_vm_net import check_traffic, run_in_netns
    monkeypatch.setenv("ASAN_OPTIONS", "detect_leaks=0")  # run_in_netns passes our env on
    check_traffic(run_in_netns(tmp_path, mode, "--confine"))


def test_vsock_confined_relative_path(tmp_path):
    """--vsock v.sock, relative: the jail is the working directory, and the
    guest's connect to port 5000 still reaches v.sock_5000 there."""
    listener = unix_listener(str(tmp_path / "v.sock_5000"))
    proc = subprocess.Popen([VESSEL, "vm", "run", "--confine", "--kernel",
                             guest("virtio_vsock.bzImage"), "--vsock", "v.sock,cid=7"],
                            cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=ENV)
    try:
        conn, _ = listener.accept()
        with conn:
            root = os.readlink(f"/proc/{proc.pid}/root")
            data = b""
            while len(data) < 2048:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
    finally:
        proc.kill()
        proc.wait()
        listener.close()
    assert root == os.path.realpath(tmp_path)
    assert data == bytes((i * 31 + 7) & 0xFF for i in range(2048))


def test_confine_refuses_vsock_in_root():
    """A jail at / would jail nothing."""
    p = run("--kernel", guest("virtio_vsock.bzImage"), "--vsock", "/vessel-test-never.sock")
    try:
        assert p.returncode != 0
        assert "monitor jail: / is the root directory" in p.stderr, p.stderr
    finally:
        if os.path.exists("/vessel-test-never.sock"):
            os.unlink("/vessel-test-never.sock")
