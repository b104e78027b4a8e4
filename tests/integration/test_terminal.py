"""process.terminal and exec -t: the pty is made inside the container, its
master goes over --console-socket as runc sends it (one message, the fd in
SCM_RIGHTS) or, in the foreground, vessel relays it to its own terminal."""
import array
import fcntl
import os
import select
import signal
import socket
import struct
import subprocess
import termios
import threading
import time

import pytest

from conftest import VESSEL


class ConsoleReceiver:
    """What podman's conmon and containerd's shim do: listen on a unix
    socket, take the pty master from the first message."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.name = None
        self.master = None
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        self.sock.settimeout(20)
        try:
            conn, _ = self.sock.accept()
        except OSError:  # closed or timed out: nobody sent a master
            return
        fds = array.array("i")
        msg, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
        for level, typ, data in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds.frombytes(data[:fds.itemsize])
        self.name = msg
        self.master = fds[0] if fds else None
        conn.close()

    def read_until_closed(self, timeout=10):
        self.thread.join(timeout)
        assert self.master is not None, "no pty master received"
        out = b""
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([self.master], [], [], 0.2)
            if not r:
                continue
            try:
                d = os.read(self.master, 4096)
            except OSError:  # EIO: every slave closed
                break
            if not d:
                break
            out += d
        return out.decode(errors="replace")

    def close(self):
        if self.master is not None:
            os.close(self.master)
        self.sock.close()


@pytest.fixture
def receiver(tmp_path):
    r = ConsoleReceiver(str(tmp_path / "console.sock"))
    yield r
    r.close()


def terminal(bundle, script, size=None):
    bundle.sh(script)
    bundle.config["process"]["terminal"] = True
    if size:
        bundle.config["process"]["consoleSize"] = {"height": size[0], "width": size[1]}
    return bundle.write()


def test_create_sends_the_master_over_the_console_socket(vessel, bundle, cid, receiver):
    terminal(bundle, "tty; stty size; ls -l /dev/console; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] "
                     "&& echo all-ttys", size=(33, 77))
    vessel.run("create", "--console-socket", receiver.path, "--bundle", bundle.path, cid,
               check=True)
    vessel.run("start", cid, check=True)
    out = receiver.read_until_closed()
    assert receiver.name == b"/dev/ptmx"
    lines = out.replace("\r", "").splitlines()
    assert lines[0].startswith("/dev/pts/"), out
    assert lines[1] == "33 77"
    # /dev/console is the same pts (major 136).
    assert "136," in lines[2] and "/dev/console" in lines[2]
    assert lines[3] == "all-ttys"


def test_pty_is_the_containers_own_devpts(vessel, bundle, cid, receiver):
    terminal(bundle, "ls /dev/pts")
    vessel.run("run", "--detach", "--console-socket", receiver.path, "--bundle", bundle.path,
               cid, check=True)
    out = receiver.read_until_closed().split()
    # A fresh devpts instance: only ptmx and our one pts.
    assert sorted(out) == ["0", "ptmx"]
    # The master is not the host's: not on its devpts, nor its /dev/ptmx node.
    st = os.fstat(receiver.master)
    assert st.st_dev != os.stat("/dev/pts/ptmx").st_dev
    assert st.st_dev != os.stat("/dev/ptmx").st_dev


def test_create_with_terminal_needs_a_console_socket(vessel, bundle, cid):
    terminal(bundle, "true")
    p = vessel.run("create", "--bundle", bundle.path, cid)
    assert p.returncode != 0
    assert "process.terminal" in p.stderr and "--console-socket" in p.stderr
    assert not os.path.exists(os.path.join(vessel.root, cid))


def test_console_socket_without_terminal_is_refused(vessel, bundle, cid, receiver):
    # runc refuses it too: nothing would ever be sent to the socket.
    bundle.sh("sleep 1000").write()
    p = vessel.run("create", "--console-socket", receiver.path, "--bundle", bundle.path, cid)
    assert p.returncode != 0 and "--console-socket" in p.stderr
    vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
    p = vessel.run("exec", "-d", "--console-socket", receiver.path, cid, "true")
    assert p.returncode != 0 and "--console-socket" in p.stderr


def test_exec_tty_with_console_socket(vessel, bundle, cid, receiver):
    bundle.sh("sleep 1000").write()
    vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
    vessel.run("exec", "-t", "-d", "--console-socket", receiver.path, cid, "sh", "-c",
               "tty; stty size", check=True)
    out = receiver.read_until_closed().replace("\r", "").splitlines()
    assert out[0].startswith("/dev/pts/")
    assert receiver.name == b"/dev/ptmx"


def test_exec_tty_in_a_container_without_devpts_fails_clearly(vessel, bundle, cid, receiver):
    bundle.config["mounts"] = [m for m in bundle.config["mounts"] if m["destination"] != "/dev/pts"]
    bundle.sh("sleep 1000").write()
    vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
    p = vessel.run("exec", "-t", "-d", "--console-socket", receiver.path, cid, "true")
    assert p.returncode != 0 and "/dev/ptmx" in p.stderr


def test_image_ptmx_symlink_to_a_host_fd_is_not_followed(vessel, bundle, cid, receiver, tmp_path):
    # The hostile image replaces /dev/ptmx (after the container set it up)
    # with a link to a magic fd link; exec -t must not open through it.
    bundle.sh("sleep 1000").write()
    vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
    vessel.run("exec", cid, "sh", "-c", "rm /dev/ptmx; ln -s /proc/self/fd/0 /dev/ptmx",
               check=True)
    p = vessel.run("exec", "-t", "-d", "--console-socket", receiver.path, cid, "true")
    assert p.returncode != 0 and "/dev/ptmx" in p.stderr


# ---- the foreground relay -------------------------------------------------------

def run_on_pty(argv, size=(24, 100), winch_to=None, timeout=30):
    """vessel on a pty of ours, as a user's shell would run it; returns the
    output, the exit code and the pty's termios before and after."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    before = termios.tcgetattr(slave)
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    out = b""
    resized = False
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                d = os.read(master, 4096)
            except OSError:
                break
            out += d
            if winch_to and not resized and b"ready" in out:
                fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", *winch_to, 0, 0))
                proc.send_signal(signal.SIGWINCH)
                resized = True
        if proc.poll() is not None and not r:
            break
    rc = proc.wait(timeout=10)
    after = termios.tcgetattr(slave)
    os.close(slave)
    os.close(master)
    return out.decode(errors="replace").replace("\r", ""), rc, before, after


def test_foreground_run_relays_the_terminal(vessel, bundle, cid):
    terminal(bundle, "tty; stty size; [ -t 0 ] && echo stdin-tty; exit 3")
    out, rc, before, after = run_on_pty([VESSEL, "--root", vessel.root, "run", "--bundle",
                                         bundle.path, cid])
    assert rc == 3, out
    lines = out.splitlines()
    assert lines[0].startswith("/dev/pts/"), out
    assert lines[1] == "24 100"
    assert lines[2] == "stdin-tty"
    assert after == before  # raw mode undone
    assert not os.path.exists(os.path.join(vessel.root, cid))


def test_foreground_exec_tty_follows_window_size(vessel, bundle, cid):
    bundle.sh("sleep 1000").write()
    vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
    out, rc, before, after = run_on_pty(
        [VESSEL, "--root", vessel.root, "exec", "-t", cid, "sh", "-c",
         "stty size; echo ready; sleep 1; stty size; exit 4"], winch_to=(50, 132))
    assert rc == 4, out
    lines = out.splitlines()
    assert lines[0] == "24 100", out
    assert lines[-1] == "50 132", out
    assert after == before


def test_foreground_exec_tty_input_reaches_the_program(vessel, bundle, cid):
    bundle.sh("sleep 1000").write()
    vessel.run("run", "--detach", "--bundle", bundle.path, cid, check=True)
    master, slave = os.openpty()
    proc = subprocess.Popen([VESSEL, "--root", vessel.root, "exec", "-t", cid, "sh", "-c",
                             "echo ready; read line; echo got-$line"],
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    out = b""
    end = time.time() + 20
    sent = False
    while time.time() < end and proc.poll() is None:
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                out += os.read(master, 4096)
            except OSError:
                break
        if not sent and b"ready" in out:
            os.write(master, b"hello\r")
            sent = True
    proc.wait(timeout=10)
    try:
        while select.select([master], [], [], 0.2)[0]:
            out += os.read(master, 4096)
    except OSError:
        pass
    os.close(slave)
    os.close(master)
    assert b"got-hello" in out, out
    assert proc.returncode == 0


def test_foreground_run_restores_the_terminal_on_error(vessel, bundle, cid):
    terminal(bundle, "no-such-program")
    bundle.args("no-such-program").write()
    out, rc, before, after = run_on_pty([VESSEL, "--root", vessel.root, "run", "--bundle",
                                         bundle.path, cid])
    assert rc != 0
    assert "no-such-program" in out
    assert after == before
