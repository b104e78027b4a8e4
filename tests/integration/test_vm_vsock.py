"""virtio-vsock driven by a freestanding guest (tests/guests/virtio_vsock.c):
guest -> host through PATH_5000, RST from a closed port, host -> guest with
`CONNECT 6000` on PATH and more data than the guest's credit."""
import os
import socket
import subprocess
import threading

from vmutil import (VESSEL, dial, fnv1a, guest, lines_with, needs_kvm, read_until, recv_line,
                    serve_5000, stop, unix_listener)

pytestmark = needs_kvm


def vm_sockets(pid):
    fds = os.listdir(f"/proc/{pid}/fd")
    return sum(os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:") for fd in fds
               if os.path.exists(f"/proc/{pid}/fd/{fd}"))


def test_vsock_both_ways(tmp_path):
    path = str(tmp_path / "v.sock")
    listener = unix_listener(path + "_5000")
    result = {}
    t = threading.Thread(target=serve_5000, args=(listener, result), daemon=True)
    t.start()
    proc = subprocess.Popen([VESSEL, "vm", "run", "--kernel", guest("virtio_vsock.bzImage"),
                             "--vsock", path + ",cid=7"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    payload = bytes((i * 13 + 1) & 0xFF for i in range(20000))
    try:
        out = read_until(proc, "LISTENING")
        s = dial(path)
        s.sendall(b"CONNECT 6000\n")
        ok = recv_line(s)
        sockets_live = vm_sockets(proc.pid)  # the listener and this connection
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        reply = recv_line(s)
        s.close()
        out += read_until(proc, "IDLE")
        sockets_idle = vm_sockets(proc.pid)
        rest, err = proc.communicate("q", timeout=60)
        out += rest
    finally:
        stop(proc)
        listener.close()
    assert proc.returncode == 0, err
    assert lines_with(out, "CID") == ["7"]
    assert lines_with(out, "CLOSED") == ["rc=0 op=3 src=5999 dst=1234"]   # RST
    assert lines_with(out, "CONNECT") == ["rc=0 op=2"]                    # RESPONSE
    msg = bytes((i * 31 + 7) & 0xFF for i in range(2048))
    assert result["got"] == msg  # packets in one, two and four descriptors, in order
    assert lines_with(out, "REPLY") == [f"fnv={fnv1a(msg):x}"]
    assert result["eof"]
    assert lines_with(out, "CLOSE") == ["rc=0 op=3"]  # RST ends the guest's close()
    assert ok.startswith(b"OK ") and int(ok[3:]) >= 1 << 30
    assert lines_with(out, "ACCEPT") == ["port=6000 peer_ge_2^30=1"]
    # 20000 bytes through a 4096-byte credit: the host waited each time.
    assert lines_with(out, "RECEIVED") == [f"bytes=20000 fnv={fnv1a(payload):x} overrun=0 stalls=4"]
    assert reply == b"%08x\n" % fnv1a(payload)
    assert lines_with(out, "HCLOSE") == ["rc=0 op=3"]
    assert lines_with(out, "DEVSTATUS") == ["f"]
    # Every connection's socket is closed once it ends: only the listener
    # on PATH is left.
    assert sockets_live == 2 and sockets_idle == 1
    assert not os.path.exists(path)  # the VM's socket is gone with it


def test_vsock_bad_option(tmp_path):
    for bad in ["", ",cid=2", f"{tmp_path}/x,cid=abc", f"{tmp_path}/x,cid=4294967295"]:
        p = subprocess.run([VESSEL, "vm", "run", "--kernel", guest("virtio_vsock.bzImage"),
                            "--vsock", bad], capture_output=True, text=True, timeout=30)
        assert p.returncode != 0 and "--vsock" in p.stderr, (bad, p.stderr)


def test_vsock_path_taken(tmp_path):
    path = tmp_path / "taken"
    path.write_text("")
    p = subprocess.run([VESSEL, "vm", "run", "--kernel", guest("virtio_vsock.bzImage"),
                        "--vsock", str(path)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "--vsock: bind" in p.stderr
    assert path.exists()  # not ours: never removed


def test_vsock_hostile_driver(tmp_path):
    path = str(tmp_path / "h.sock")
    # Never accepted: connects succeed up to the cap.
    listener = unix_listener(path + "_5000", 1024)
    try:
        p = subprocess.run([VESSEL, "vm", "run", "--kernel",
                            guest("virtio_vsock_hostile.bzImage"), "--vsock", path],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=300)
    finally:
        listener.close()
    out = p.stdout
    assert p.returncode == 0, p.stderr
    # 10,000 requests: the first 256 connect (the cap), every other one is refused.
    assert lines_with(out, "FLOOD") == ["responses=256 rsts=9744 status=f"]
    # Far beyond its credit: that connection is reset, the device stays up.
    assert lines_with(out, "CREDIT") == ["connected=1 rst=1 beyond_buf_alloc=1 status=f"]
    assert lines_with(out, "BADIDX") == ["needs_reset=1"]
    assert lines_with(out, "LYING") == ["needs_reset=1"]
    assert lines_with(out, "OUTSIDE") == ["needs_reset=1"]
    for i in range(4):
        # After each reset the driver hears TRANSPORT_RESET (id 0) and the
        # device works again.
        assert lines_with(out, f"RECOVER{i}") == ["event_len=4 event=0 rst=1 status=f"]
    assert "device needs reset" in p.stderr
    assert not os.path.exists(path)


def test_vsock_socket_removed_on_sigterm(tmp_path):
    path = str(tmp_path / "t.sock")
    proc = subprocess.Popen([VESSEL, "vm", "run", "--kernel", guest("virtio_vsock.bzImage"),
                             "--vsock", path], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        read_until(proc, "LISTENING")  # nobody at PATH_5000: RSTs so far
        assert os.path.exists(path)
        proc.terminate()
        proc.communicate(timeout=30)
    finally:
        stop(proc)
    assert proc.returncode == 83  # VS_VM_STATUS_STOPPED
    assert not os.path.exists(path)


def test_vsock_close_timeout(tmp_path):
    """The host program closes; the guest never answers the SHUTDOWN. After
    the close timeout (here 300 ms, `close_timeout=`) the device sends RST
    and frees the connection: the VMM is back to its one listening socket."""
    path = str(tmp_path / "l.sock")
    proc = subprocess.Popen([VESSEL, "vm", "run", "--kernel", guest("virtio_vsock.bzImage"),
                             "--cmdline", "linger", "--vsock", path + ",close_timeout=300"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        out = read_until(proc, "LISTENING")
        s = dial(path)
        s.sendall(b"CONNECT 6000\n")
        ok = recv_line(s)
        s.close()
        out += read_until(proc, "IDLE")
        sockets_idle = vm_sockets(proc.pid)
        rest, err = proc.communicate("q", timeout=60)
        out += rest
    finally:
        stop(proc)
    assert proc.returncode == 0, err
    assert ok.startswith(b"OK ")
    assert lines_with(out, "LINGER") == ["shutdown_flags=3 rst=1"]
    assert sockets_idle == 1  # the connection's slot and socket are gone


def test_vsock_connect_timeout(tmp_path):
    """A CONNECT the guest never answers (here: no vsock driver at all), and
    a host program that never finishes its CONNECT line: both are closed
    after the connect timeout (`connect_timeout=`), while the VM runs on."""
    path = str(tmp_path / "c.sock")
    proc = subprocess.Popen([VESSEL, "vm", "run", "--kernel", guest("power.bzImage"),
                             "--cmdline", "action=poweroff await",
                             "--vsock", path + ",connect_timeout=300"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        read_until(proc, "AWAIT")
        unanswered = dial(path)
        unanswered.sendall(b"CONNECT 6000\n")
        silent = dial(path)
        silent.sendall(b"CONN")  # and nothing more
        assert unanswered.recv(100) == b""  # closed, no OK line
        assert silent.recv(100) == b""
        assert proc.poll() is None
        assert vm_sockets(proc.pid) == 1
        _, err = proc.communicate("x", timeout=60)
    finally:
        stop(proc)
    assert proc.returncode == 0, err


def test_vsock_timeout_options(tmp_path):
    for bad in [f"{tmp_path}/x,close_timeout=0", f"{tmp_path}/x,connect_timeout=abc",
                f"{tmp_path}/x,close_timeout=3600001"]:
        p = subprocess.run([VESSEL, "vm", "run", "--kernel", guest("virtio_vsock.bzImage"),
                            "--vsock", bad], capture_output=True, text=True, timeout=30)
        assert p.returncode != 0 and "--vsock" in p.stderr, (bad, p.stderr)
