"""Helpers for the microVM tests: run `vessel vm run` on a test guest from
build/guests and parse what the guest reports over the serial port."""
import os
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
