"""A small client for vessel-agent's protocol (docs/agent-protocol.md):
frames, control connections with out-of-order replies, stdio connections,
and an agent started as a host process over AF_UNIX."""
import json
import os
import socket
import struct
import subprocess
import time


def frame(obj):
    body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return struct.pack(">I", len(body)) + body


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def recv_frame(sock):
    """The next frame as a dict, or None at EOF."""
    hdr = recv_exact(sock, 4)
    if hdr is None:
        return None
    (n,) = struct.unpack(">I", hdr)
    body = recv_exact(sock, n)
    assert body is not None, "truncated frame from the agent"
    return json.loads(body)


def read_all(sock):
    out = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return out
        out += chunk


class Agent:
    """vessel-agent --listen unix:PATH as a child process."""

    def __init__(self, binary, path, env=None, wrap=()):
        self.path = path
        self.stderr_path = path + ".stderr"
        self.errf = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(list(wrap) + [binary, "--listen", "unix:" + path], stdin=subprocess.DEVNULL,
                                     stdout=self.errf, stderr=self.errf, env=env)
        # The agent renames the socket into place once it listens.
        while not os.path.exists(path):
            assert self.proc.poll() is None, self.stderr()
            time.sleep(0.01)

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        for _ in range(1000):
            try:
                s.connect(self.path)
                return s
            except BlockingIOError:  # the listen backlog is full for now
                time.sleep(0.01)
        raise AssertionError("the agent's backlog stayed full")

    def control(self):
        c = Control(self.connect())
        rep = c.call("hello", version=1)
        assert rep["type"] == "reply", rep
        return c

    def stdio(self, process, stream):
        s = self.connect()
        s.sendall(frame({"type": "stdio", "process": process, "stream": stream}))
        return s

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def close(self):
        """A shutdown request first, so the agent exits by itself (and the
        ASan build's leak check runs); kill only if that fails."""
        if self.proc.poll() is None:
            try:
                c = self.control()
                c.call("shutdown")
                self.proc.wait(timeout=30)
            except (OSError, AssertionError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self.errf.close()


class Control:
    """A control connection; replies are matched by id, whatever their order."""

    def __init__(self, sock):
        self.sock = sock
        self.next_id = 1
        self.pending = {}

    def send(self, type_, **fields):
        rid = self.next_id
        self.next_id += 1
        msg = {"type": type_, "id": rid}
        msg.update(fields)
        self.sock.sendall(frame(msg))
        return rid

    def reply(self, rid):
        while rid not in self.pending:
            m = recv_frame(self.sock)
            assert m is not None, f"connection closed waiting for reply {rid}"
            self.pending[m.get("id")] = m
        return self.pending.pop(rid)

    def call(self, type_, **fields):
        return self.reply(self.send(type_, **fields))

    def ok(self, type_, **fields):
        rep = self.call(type_, **fields)
        assert rep["type"] == "reply", rep
        return rep

    def close(self):
        self.sock.close()


def process(*args, terminal=False, cwd="/", env=None, **extra):
    p = {"args": list(args), "cwd": cwd, "terminal": terminal,
         "env": env if env is not None else ["PATH=/bin:/usr/bin"],
         "user": {"uid": os.getuid(), "gid": os.getgid()}}
    p.update(extra)
    return p
