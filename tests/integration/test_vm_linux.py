"""Linux smoke tests: Debian's cloud kernel booted as an ELF through its PVH
note and as a bzImage through the 64-bit boot protocol, until it has printed
its banner, our exact command line and our e820 map. On a host whose KVM
emulates every instruction that is as far as it gets in useful time (the
bzImage's own decompressor alone takes about 90 s there); booting to
userspace needs VT-x/AMD-V."""
import os
import re
import signal
import subprocess
import time

import pytest

import linux_kernel
from vmutil import VESSEL, host_emulates, needs_kvm

pytestmark = [needs_kvm, pytest.mark.slow]

MEM_MIB = 256


@pytest.fixture(scope="module")
def kernel():
    try:
        return linux_kernel.kernel()
    except linux_kernel.Unavailable as e:
        pytest.skip(f"Debian kernel not available: {e}")


def boot_until_e820(image, cmdline, tmp_path, timeout):
    log = tmp_path / "console.log"
    err = tmp_path / "stderr"
    with open(err, "w") as ferr:
        proc = subprocess.Popen([VESSEL, "vm", "run", "--kernel", image, "--memory", str(MEM_MIB),
                                 "--cmdline", cmdline, "--console", log],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=ferr)
    deadline = time.time() + timeout
    text = ""
    try:
        while time.time() < deadline and proc.poll() is None:
            text = log.read_text(errors="replace") if log.exists() else ""
            # The map is complete once the kernel goes on to the next line.
            if re.search(r"BIOS-e820: [^\n]*\n(?![^\n]*BIOS-e820)[^\n]*\n", text):
                break
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
    text = log.read_text(errors="replace") if log.exists() else ""
    return rc, text, err.read_text()


def check_banner(text, cmdline):
    assert re.search(r"Linux version \d+\.\d+", text), text[-2000:]
    assert f"Command line: {cmdline}\n" in text
    usable = re.findall(r"BIOS-e820: \[mem (0x[0-9a-f]+)-(0x[0-9a-f]+)\] usable", text)
    top = (MEM_MIB << 20) - 1
    assert usable == [("0x0000000000000000", "0x000000000009fbff"),
                      ("0x0000000000100000", f"0x{top:016x}")], text
    assert re.search(r"BIOS-e820: \[mem 0x000000000009fc00-0x[0-9a-f]+\] reserved", text)


def test_linux_pvh(kernel, tmp_path):
    cmdline = "console=ttyS0 earlyprintk=serial,ttyS0 vessel.smoke=pvh"
    rc, text, err = boot_until_e820(kernel[1], cmdline, tmp_path, timeout=180)
    check_banner(text, cmdline)
    assert rc in (0, 83), err  # stopped by us (or done, on a fast host)


def test_linux_bzimage(kernel, tmp_path):
    cmdline = "console=ttyS0 earlyprintk=serial,ttyS0 vessel.smoke=bzimage"
    rc, text, err = boot_until_e820(kernel[0], cmdline, tmp_path,
                                    timeout=600 if host_emulates() else 120)
    check_banner(text, cmdline)
    assert rc in (0, 83), err
