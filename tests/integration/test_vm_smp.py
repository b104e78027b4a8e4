"""Several vCPUs: the guest finds them through the MP table and the ACPI
MADT, wakes the APs with INIT/SIPI and all CPUs bump one shared counter;
the DSDT declares every virtio-mmio device."""
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
