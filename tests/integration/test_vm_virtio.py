"""virtio-mmio devices driven by freestanding guests: blk round trip and
read-only refusal, rng, console both ways, and a hostile driver."""
import os
import subprocess
import time

from vmutil import VESSEL, guest, lines_with, needs_kvm, vm_run

pytestmark = needs_kvm


def fnv1a(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def make_disk(path, sectors=2048):
    sector0 = bytes((i * 13 + 5) & 0xFF for i in range(512))
    with open(path, "wb") as f:
        f.write(sector0)
        f.truncate(sectors * 512)
    return sector0


def pattern():
    return bytes((i * 7 + 3) & 0xFF for i in range(512))


def test_blk_round_trip(tmp_path):
    disk = tmp_path / "disk.img"
    sector0 = make_disk(disk)
    p = vm_run("--kernel", guest("virtio_blk.bzImage"), "--disk", disk)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert lines_with(out, "FEATURES") == ["ro=0 flush=1"]
    assert lines_with(out, "CAPACITY") == ["2048"]
    assert lines_with(out, "READ0") == [f"status=0 fnv={fnv1a(sector0):x}"]
    assert lines_with(out, "WRITE") == ["status=0"]
    assert lines_with(out, "FLUSH") == ["status=0"]
    want = fnv1a(pattern())
    assert lines_with(out, "READ1") == [f"status=0 fnv={want:x} pattern={want:x}"]
    ident = lines_with(out, "ID")[0]
    assert ident.startswith("status=0 id=vessel-")
    assert lines_with(out, "OOR") == ["status=1"]      # VIRTIO_BLK_S_IOERR
    assert lines_with(out, "UNSUPP") == ["status=2"]   # VIRTIO_BLK_S_UNSUPP
    assert lines_with(out, "DEVSTATUS") == ["f"]       # no NEEDS_RESET
    # The write reached the image on the host.
    with open(disk, "rb") as f:
        f.seek(512)
        assert f.read(512) == pattern()


def test_blk_read_only_refuses_writes(tmp_path):
    disk = tmp_path / "disk.img"
    sector0 = make_disk(disk)
    before = disk.read_bytes()
    os.chmod(disk, 0o444)  # ro must not even need write permission
    p = vm_run("--kernel", guest("virtio_blk.bzImage"), "--disk", f"{disk},ro", "--cmdline", "ro")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert lines_with(out, "FEATURES") == ["ro=1 flush=1"]
    assert lines_with(out, "READ0") == [f"status=0 fnv={fnv1a(sector0):x}"]
    assert lines_with(out, "WRITE") == ["status=1"]    # VIRTIO_BLK_S_IOERR
    assert disk.read_bytes() == before


def test_blk_missing_image(tmp_path):
    p = vm_run("--kernel", guest("virtio_blk.bzImage"), "--disk", tmp_path / "nope")
    assert p.returncode == 1
    assert "opening disk" in p.stderr


def test_rng():
    p = vm_run("--kernel", guest("virtio_rng.bzImage"), "--rng")
    assert p.returncode == 0, p.stderr
    assert lines_with(p.stdout, "RNG")[0] == "len=64,64 differ=1 zero=0"


def test_no_rng_without_flag():
    p = vm_run("--kernel", guest("virtio_rng.bzImage"))
    assert p.returncode == 0, p.stderr
    assert "NO_RNG" in p.stdout


def test_console_both_ways(tmp_path):
    out = tmp_path / "out"
    with open(out, "w") as f:
        proc = subprocess.Popen([VESSEL, "vm", "run", "--kernel", guest("virtio_console.bzImage")],
                                stdin=subprocess.PIPE, stdout=f, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while "RXREADY" not in out.read_text() and time.time() < deadline:
        time.sleep(0.05)
    proc.stdin.write(b"typed into hvc0\n")
    proc.stdin.flush()
    _, err = proc.communicate(timeout=30)
    text = out.read_text()
    assert proc.returncode == 0, err
    assert "HVC hello from virtio-console" in text
    assert lines_with(text, "TX") == ["used=0"]
    assert lines_with(text, "RX") == ["len=16 data=typed into hvc0"]


def test_hostile_driver(tmp_path):
    disk = tmp_path / "disk.img"
    make_disk(disk)
    p = vm_run("--kernel", guest("virtio_hostile.bzImage"), "--rng", "--disk", disk)
    assert p.returncode == 0, p.stderr
    cases = dict(l.split(" ", 1) for l in lines_with(p.stdout, "CASE"))
    for name in ("bad_size", "too_big", "ring_outside", "buffer_outside", "buffer_overrun", "loop",
                 "long_chain", "bad_next", "avail_ahead", "bad_head", "indirect"):
        assert cases.get(name) == "needs_reset=1 used=0", (name, p.stdout)
    assert cases["bad_features"] == "features_ok=0"
    assert cases["no_version1"] == "features_ok=0"
    assert cases["config_write"] == "unchanged=1"
    assert cases["recovered"] == "len=64"
    assert "DONE" in p.stdout
    assert "device needs reset" in p.stderr
