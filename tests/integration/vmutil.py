"""Helpers for the microVM tests: run `vessel vm run` on a test guest from
build/guests and parse what the guest reports over the serial port."""
import os
import socket
import subprocess

import pytest

from conftest import REPO, VESSEL

GUESTS = os.path.join(REPO, "build", "guests")


def guest(name):
    path = os.path.join(GUESTS, name)
    if not os.path.exists(path):
        pytest.fail(f"{path} missing: run `make guests`")
    return path


def kvm_usable():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


needs_kvm = pytest.mark.skipif(not kvm_usable(), reason="/dev/kvm not usable")


def host_emulates():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = line.split()
                return "vmx" not in flags and "svm" not in flags
    return False


def vm_run(*args, input=None, timeout=60):
    cmd = [VESSEL, "vm", "run"] + [str(a) for a in args]
    return subprocess.run(cmd, input=input, capture_output=True, timeout=timeout,
                          text=True, errors="replace",
                          stdin=None if input is not None else subprocess.DEVNULL)


def lines_with(out, tag):
    return [l.split(" ", 1)[1] if " " in l else "" for l in out.splitlines() if l.split(" ", 1)[0] == tag]


def e820(out):
    return [tuple(int(x, 16) for x in l.split()) for l in lines_with(out, "E820")]


def expected_e820(mib):
    """The map vessel promises (docs/vm.md): low RAM, EBDA, BIOS area with
    ACPI and MP tables, RAM from 1 MiB to the 3 GiB hole, the rest above 4 GiB."""
    ram = mib << 20
    low = min(ram, 0xC0000000)
    m = [(0, 0x9FC00, 1), (0x9FC00, 0x400, 2), (0xE0000, 0x20000, 2), (0x100000, low - 0x100000, 1)]
    if ram > low:
        m.append((0x100000000, ram - low, 1))
    return m


def fnv1a(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def unix_listener(path, backlog=1):
    """A listening unix stream socket at path whose accept gives up after 60 s."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(backlog)
    listener.settimeout(60)
    return listener


def dial(path):
    """A unix stream connection to path, each call on it bounded by 60 s."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(path)
    return s


def serve_5000(listener, result):
    """The host end of the vsock guest's connection to port 5000 (on a
    thread): read its 2048 bytes into result["got"], answer their FNV-1a,
    and note in result["eof"] whether the guest then shut down."""
    conn, _ = listener.accept()
    with conn:
        data = b""
        while len(data) < 2048:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        result["got"] = data
        conn.sendall(b"fnv=%x\n" % fnv1a(data))
        result["eof"] = conn.recv(10) == b""  # the guest's SHUTDOWN


def recv_line(s):
    line = b""
    while not line.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            break
        line += c
    return line


def read_until(proc, tag):
    """The guest's serial lines from proc.stdout up to and with the first
    that starts with tag."""
    out = ""
    for line in proc.stdout:
        out += line
        if line.startswith(tag):
            break
    return out


def stop(proc):
    """Kill proc unless it has exited (for finally:)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
