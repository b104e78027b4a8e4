"""`vessel vm run` on tiny freestanding guests (tests/guests): what the boot
protocols hand over, the UART both ways, and every way a VM can end."""
import os
import signal
import subprocess
import time

import pytest

from vmutil import VESSEL, e820, expected_e820, guest, host_emulates, lines_with, needs_kvm, vm_run

pytestmark = needs_kvm


def test_bzimage_boot_params():
    cmdline = "console=ttyS0 vessel.test=1 quoted=\"a b\""
    p = vm_run("--kernel", guest("boot_params.bzImage"), "--cmdline", cmdline)
    assert p.returncode == 0, p.stderr
    assert "GUEST boot_params" in p.stdout
    assert lines_with(p.stdout, "LOADER") == ["ff"]
    assert lines_with(p.stdout, "PROTOCOL") == ["20f"]
    assert lines_with(p.stdout, "CMDLINE") == [cmdline]
    assert lines_with(p.stdout, "RSDP") == ["e0000"]
    assert e820(p.stdout) == expected_e820(128)
    assert lines_with(p.stdout, "DONE") == [""]


def test_default_cmdline():
    p = vm_run("--kernel", guest("boot_params.bzImage"))
    assert p.returncode == 0, p.stderr
    assert lines_with(p.stdout, "CMDLINE") == ["console=ttyS0 reboot=k panic=1"]


@pytest.mark.parametrize("mib", [64, 3072, 5000])
def test_e820_around_the_hole(mib):
    p = vm_run("--kernel", guest("boot_params.bzImage"), "--memory", mib)
    assert p.returncode == 0, p.stderr
    assert e820(p.stdout) == expected_e820(mib)


def test_bzimage_initrd(tmp_path):
    data = os.urandom(3 * 4096 + 123)
    initrd = tmp_path / "initrd"
    initrd.write_bytes(data)
    p = vm_run("--kernel", guest("boot_params.bzImage"), "--initrd", initrd, "--memory", 64)
    assert p.returncode == 0, p.stderr
    addr, size = (int(x, 16) for x in lines_with(p.stdout, "INITRD")[0].split())
    assert size == len(data)
    assert addr % 4096 == 0 and addr + size <= 64 << 20 and addr >= 0x100000
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    assert lines_with(p.stdout, "INITRD_FNV") == [f"{h:x}"]


def test_pvh_start_info(tmp_path):
    initrd = tmp_path / "initrd"
    initrd.write_bytes(b"x" * 100)
    p = vm_run("--kernel", guest("pvh.elf"), "--cmdline", "pvh says hi", "--memory", 256,
               "--initrd", initrd)
    assert p.returncode == 0, p.stderr
    assert lines_with(p.stdout, "MAGIC") == ["336ec578 VERSION 1"]
    assert lines_with(p.stdout, "CMDLINE") == ["pvh says hi"]
    assert lines_with(p.stdout, "RSDP") == ["e0000"]
    assert e820(p.stdout) == expected_e820(256)
    assert lines_with(p.stdout, "MODULES") == ["1"]


def test_cpuid():
    p = vm_run("--kernel", guest("cpuid.bzImage"), "--cpus", 3)
    assert p.returncode == 0, p.stderr
    assert lines_with(p.stdout, "LEAF1") == ["apic=0 count=3 hypervisor=1"]
    assert lines_with(p.stdout, "HYPERVISOR") == ["KVMKVMKVM"]


def test_serial_echo():
    p = vm_run("--kernel", guest("serial_echo.bzImage"), input="hello vessel\n")
    assert p.returncode == 0, p.stderr
    assert "READY" in p.stdout
    assert lines_with(p.stdout, "ECHO") == ["hello vessel"]


@pytest.mark.parametrize("action,status,message", [
    ("poweroff", 0, None),
    ("kbd", 80, None),
    ("cf9", 80, None),
    ("triple", 81, "triple fault"),
    ("exit:42", 42, None),
    ("fetch", 82, "rip 0xd0100000"),
])
def test_exit_paths(action, status, message):
    p = vm_run("--kernel", guest("power.bzImage"), "--cmdline", f"action={action}")
    assert p.returncode == status, p.stderr
    assert lines_with(p.stdout, "ACTION") == [action]
    if message:
        assert message in p.stderr
    assert "UNREACHED" not in p.stdout


def test_sigterm_stops_the_vm(tmp_path):
    out = tmp_path / "out"
    with open(out, "w") as f:
        proc = subprocess.Popen([VESSEL, "vm", "run", "--kernel", guest("power.bzImage"),
                                 "--cmdline", "action=hang"], stdout=f, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)
    deadline = time.time() + 30
    while "HANGING" not in out.read_text() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 83, err


def test_console_file(tmp_path):
    log = tmp_path / "console.log"
    p = vm_run("--kernel", guest("boot_params.bzImage"), "--console", log)
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""
    assert "GUEST boot_params" in log.read_text()


def test_console_file_is_capped(tmp_path):
    """The attack: a guest writing without end to a console that is a file
    (the microvm backend's console.log lives on the state dir's tmpfs).
    Past the cap nothing more is written, and vessel says so once."""
    log = tmp_path / "console.log"
    full = vm_run("--kernel", guest("boot_params.bzImage"), "--console", tmp_path / "full.log")
    assert full.returncode == 0, full.stderr
    size = (tmp_path / "full.log").stat().st_size
    assert size > 40
    log.write_bytes(b"x" * 10)  # bytes already in the file count
    p = vm_run("--kernel", guest("boot_params.bzImage"), "--console", log,
               "--console-max", "40")
    assert p.returncode == 0, p.stderr
    data = log.read_bytes()
    assert len(data) == 40
    assert data[10:] == (tmp_path / "full.log").read_bytes()[:30]
    assert p.stderr.count("guest console output beyond its file's cap dropped") == 1


@pytest.mark.parametrize("bad", ["0", "x", "-1"])
def test_console_max_bad(bad):
    p = vm_run("--kernel", guest("boot_params.bzImage"), "--console-max", bad)
    assert p.returncode == 1
    assert "--console-max: bytes, at least 1" in p.stderr


def test_console_none():
    p = vm_run("--kernel", guest("boot_params.bzImage"), "--console", "none")
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""


def test_not_a_kernel(tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(b"\0" * 8192)
    p = vm_run("--kernel", junk)
    assert p.returncode == 1
    assert "neither a bzImage nor an ELF with a PVH entry note" in p.stderr


def test_kernel_too_big_for_memory():
    p = vm_run("--kernel", guest("pvh.elf"), "--memory", 1)
    assert p.returncode == 1
    assert "--memory" in p.stderr


def test_usage_errors():
    p = subprocess.run([VESSEL, "vm", "run"], capture_output=True, text=True)
    assert p.returncode == 1 and "--kernel is required" in p.stderr
    p = subprocess.run([VESSEL, "vm", "run", "--kernel", "x", "--cpus", "0"], capture_output=True,
                       text=True)
    assert p.returncode == 1 and "--cpus" in p.stderr


def test_emulation_warned_once():
    p = vm_run("--kernel", guest("boot_params.bzImage"))
    n = p.stderr.count("emulates every guest instruction")
    assert n == (1 if host_emulates() else 0)
