"""Several vCPUs: the guest finds them through the MP table and the ACPI
MADT, wakes the APs with INIT/SIPI and all CPUs bump one shared counter;
the DSDT declares every virtio-mmio device."""
import shutil
import subprocess

import pytest

from vmutil import guest, lines_with, needs_kvm, vm_run

pytestmark = needs_kvm


@pytest.mark.parametrize("cpus", [1, 2, 4])
def test_cpus_found_and_running(cpus):
    p = vm_run("--kernel", guest("smp.bzImage"), "--cpus", cpus)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert lines_with(out, "MP") == [f"cpus={cpus} ioapics=1"]
    assert lines_with(out, "MADT") == [f"cpus={cpus} ioapics=1 checksum_ok=1"]
    assert lines_with(out, "BSP") == ["apic=0 mp_bsp=0"]
    n = 20000 * cpus
    assert lines_with(out, "SMP") == [f"started={cpus - 1} of {cpus - 1} counter={n} expected={n}"]
    # Every vCPU's CPUID leaf 1 APIC id equals its LAPIC id.
    assert lines_with(out, "APICIDS") == [f"{(1 << cpus) - 1:x}"]


def test_dsdt_lists_virtio_devices(tmp_path):
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * 4096)
    p = vm_run("--kernel", guest("smp.bzImage"), "--cpus", 2, "--rng", "--disk", disk)
    assert p.returncode == 0, p.stderr
    # console + blk + rng
    assert lines_with(p.stdout, "DSDT") == ["virtio=3 s5=1 checksum_ok=1"]
    assert lines_with(p.stdout, "FADT") == ["pm1_cnt=604 reset=cf9"]


@pytest.mark.skipif(not shutil.which("iasl"), reason="iasl (acpica-tools) not installed")
def test_acpi_tables_disassemble(tmp_path):
    """ACPICA's own disassembler reads the tables the guest found in memory:
    the AML and the table layouts are what a stock kernel will parse."""
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * 4096)
    p = vm_run("--kernel", guest("smp.bzImage"), "--cpus", 2, "--rng", "--disk", disk,
               "--cmdline", "dump_acpi")
    assert p.returncode == 0, p.stderr
    dsl = {}
    for line in lines_with(p.stdout, "HEX"):
        name, hexdata = line.split()
        path = tmp_path / f"{name.lower()}.dat"
        path.write_bytes(bytes.fromhex(hexdata))
        d = subprocess.run(["iasl", "-d", str(path)], capture_output=True, text=True, cwd=tmp_path)
        assert d.returncode == 0, d.stdout + d.stderr
        dsl[name] = (tmp_path / f"{name.lower()}.dsl").read_text()
    dsdt = dsl["DSDT"]
    assert "Name (_S5, Package (0x04)" in dsdt
    for i, (base, gsi) in enumerate([(0xD0000000, 5), (0xD0001000, 6), (0xD0002000, 7)]):
        assert f"Device (VR0{i})" in dsdt
        assert f"0x{base:08X},         // Address Base" in dsdt
        assert f"0x{gsi:08X}," in dsdt
    assert dsdt.count('Name (_HID, "LNRO0005")') == 3
    assert dsdt.count("Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive") == 3
    fadt = dsl["FACP"]
    assert "PM1A Control Block Address : 00000604" in fadt
    assert "Reset Register Supported (V2) : 1" in fadt
    assert "Value to cause reset : 06" in fadt
    madt = dsl["APIC"]
    assert madt.count("[Processor Local APIC]") == 2
    assert "I/O Apic ID : 02" in madt
    for text in dsl.values():
        assert "Invalid" not in text and "**** " not in text, text
