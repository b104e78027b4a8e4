"""Guest RAM of a running VM is a sealed memfd mapped shared: another process
holding the fd (a vhost-user backend, later) sees the guest's pages, and can
neither shrink the file under the VMM's mappings nor grow it."""
import errno
import fcntl
import os
import signal
import subprocess
import time

import pytest

from vmutil import VESSEL, guest, needs_kvm

pytestmark = needs_kvm

MEMFD = "/memfd:vessel-guest-ram (deleted)"


@pytest.fixture
def hanging_vm(tmp_path):
    out = tmp_path / "out"
    with open(out, "w") as f:
        proc = subprocess.Popen([VESSEL, "vm", "run", "--kernel", guest("power.bzImage"),
                                 "--memory", "64", "--cmdline", "action=hang"], stdout=f,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while "HANGING" not in out.read_text() and time.time() < deadline:
            time.sleep(0.05)
        assert "HANGING" in out.read_text()
        yield proc.pid
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def guest_ram_maps(pid):
    with open(f"/proc/{pid}/maps") as f:
        return [line.split() for line in f if line.rstrip().endswith(MEMFD)]


def open_guest_ram(pid):
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == MEMFD:
                return os.open(f"/proc/{pid}/fd/{fd}", os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
    return None


def test_guest_ram_is_a_shared_memfd_mapping(hanging_vm):
    maps = guest_ram_maps(hanging_vm)
    assert maps, "guest RAM is not mapped from a memfd"
    size = 0
    for m in maps:
        lo, hi = (int(x, 16) for x in m[0].split("-"))
        size += hi - lo
        assert m[1] == "rw-s", m  # shared, so a second mapper sees the same pages
    assert size == 64 << 20


def test_guest_ram_fd_is_sealed_and_holds_the_guest(hanging_vm):
    fd = open_guest_ram(hanging_vm)
    assert fd is not None, "the VMM holds no guest-RAM memfd"
    try:
        assert os.fstat(fd).st_size == 64 << 20
        seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
        assert seals & fcntl.F_SEAL_SHRINK and seals & fcntl.F_SEAL_GROW
        # The attack: a process holding the fd truncates guest RAM, so the
        # VMM's next access to it dies of SIGBUS; or grows it without bound.
        for size in (4096, 128 << 20):
            with pytest.raises(OSError) as e:
                os.ftruncate(fd, size)
            assert e.value.errno == errno.EPERM
        # The pages are the guest's: the loaded kernel image (at 1 MiB) is there.
        assert b"HANGING" in os.pread(fd, 4 << 20, 0)
    finally:
        os.close(fd)
