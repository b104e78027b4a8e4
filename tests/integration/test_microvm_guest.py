"""The microvm guest's files (docs/microvm.md, "Guest kernel and
initramfs"): `vessel vm fetch-kernel` into a kernel cache, from a locally
built fake package (dpkg-deb -b) and once for real through apt, and
`vessel vm initramfs`, whose newc cpio is parsed back here."""
import os
import shutil
import stat
import subprocess

import pytest

from conftest import VESSEL

VER = "6.1.0-99-cloud-amd64"
BUSYBOX = "/bin/busybox"  # busybox-static: a static ELF


def vessel(*args):
    return subprocess.run([VESSEL] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=300)


def parse_newc(data):
    """[(name, mode, rdev, bytes)] of a newc archive, up to the trailer."""
    out, off = [], 0
    while True:
        hdr = data[off:off + 110]
        assert hdr[:6] == b"070701", f"bad magic at {off}"
        f = [int(hdr[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
        mode, size, rmaj, rmin, namesize = f[1], f[6], f[9], f[10], f[11]
        name = data[off + 110:off + 110 + namesize - 1].decode()
        assert data[off + 110 + namesize - 1] == 0
        off += 110 + namesize
        off += (4 - off % 4) % 4
        body = data[off:off + size]
        off += size
        off += (4 - off % 4) % 4
        if name == "TRAILER!!!":
            assert off == len(data)
            return out
        assert f[2] == 0 and f[3] == 0 and f[5] == 0  # uid, gid, mtime
        out.append((name, mode, (rmaj, rmin), body))


# A fake kernel: (path under kernel/, depends=) for each module.
MODULES = {
    "drivers/virtio/virtio.ko": "virtio_ring",
    "drivers/virtio/virtio_ring.ko": "",
    "drivers/virtio/virtio_mmio.ko": "virtio,virtio_ring",
    "net/vmw_vsock/vsock.ko": "",
    "net/vmw_vsock/vmw_vsock_virtio_transport_common.ko": "vsock",
    "net/vmw_vsock/vmw_vsock_virtio_transport.ko":
        "virtio,vmw_vsock_virtio_transport_common,virtio_ring,vsock",
    "fs/fuse/fuse.ko": "",
    "fs/fuse/virtiofs.ko": "fuse,virtio,virtio_ring",
    "net/core/failover.ko": "",
    "drivers/net/net_failover.ko": "failover",
    "drivers/net/virtio_net.ko": "virtio_ring,virtio,net_failover",
    "drivers/block/virtio_blk.ko": "virtio,virtio_ring",
    "fs/overlayfs/overlay.ko": "",
    "drivers/char/hw_random/virtio-rng.ko": "virtio,virtio_ring",
    "fs/unneeded.ko": "",
}


def fake_module(path, depends, tmp):
    """An ELF relocatable with a .modinfo section, as a .ko has."""
    src = tmp / "m.c"
    src.write_text('__attribute__((section(".modinfo"), used)) static const char m[] = '
                   f'"license=GPL\\0depends={depends}\\0name=x";\n')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    subprocess.run(["cc", "-c", "-o", path, str(src)], check=True)


@pytest.fixture(scope="module")
def fake_deb(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deb")
    root = tmp / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: linux-image-{VER}\nVersion: 6.1.999-1\nArchitecture: amd64\n"
        "Maintainer: test <t@example.org>\nDescription: fake kernel\n")
    (root / "boot").mkdir()
    (root / "boot" / f"vmlinuz-{VER}").write_bytes(b"MZ fake bzImage")
    (root / "boot" / f"config-{VER}").write_text("CONFIG_MODULE_COMPRESS_NONE=y\n")
    mods = root / "lib" / "modules" / VER
    for rel, deps in MODULES.items():
        fake_module(str(mods / "kernel" / rel), deps, tmp)
    (mods / "modules.builtin").write_text("kernel/drivers/tty/serial/8250.ko\n")
    deb = tmp / "linux-image.deb"
    subprocess.run(["dpkg-deb", "-b", "-Zgzip", str(root), str(deb)], check=True,
                   capture_output=True)
    return deb


@pytest.fixture
def cache(tmp_path, fake_deb):
    d = tmp_path / "kernels"
    p = vessel("vm", "fetch-kernel", "--cache-dir", d, "--deb", fake_deb)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(d / VER)
    return d


def test_fetch_keeps_image_and_needed_modules(cache):
    k = cache / VER
    assert (k / "vmlinuz").read_bytes() == b"MZ fake bzImage"
    assert (k / "config").exists() and (k / "modules.builtin").exists()
    kept = {os.path.relpath(os.path.join(d, f), k / "kernel")
            for d, _, fs in os.walk(k / "kernel") for f in fs}
    assert kept == set(MODULES) - {"fs/unneeded.ko"}
    dep = dict(line.split(":", 1) for line in (k / "modules.dep").read_text().splitlines())
    assert dep["kernel/drivers/net/net_failover.ko"].split() == ["kernel/net/core/failover.ko"]
    assert set(dep["kernel/fs/fuse/virtiofs.ko"].split()) == {
        "kernel/fs/fuse/fuse.ko", "kernel/drivers/virtio/virtio.ko",
        "kernel/drivers/virtio/virtio_ring.ko"}
    # Staging happened inside the cache and left nothing.
    assert sorted(os.listdir(cache)) == [VER]


def test_refetch_replaces(cache, fake_deb):
    (cache / VER / "stale").write_text("x")
    p = vessel("vm", "fetch-kernel", "--cache-dir", cache, "--deb", fake_deb)
    assert p.returncode == 0, p.stderr
    assert not (cache / VER / "stale").exists()
    assert sorted(os.listdir(cache)) == [VER]


def test_fetch_bad_package_leaves_nothing(tmp_path):
    bad = tmp_path / "bad.deb"
    bad.write_bytes(b"not a deb")
    d = tmp_path / "kernels"
    p = vessel("vm", "fetch-kernel", "--cache-dir", d, "--deb", bad)
    assert p.returncode != 0
    assert "dpkg-deb" in p.stderr
    assert os.listdir(d) == []


def initramfs(cache, tmp_path, agent=BUSYBOX, *extra):
    return vessel("vm", "initramfs", "--agent", agent, "--cache-dir", cache,
                  "--initramfs-dir", tmp_path / "initramfs", *extra)


def test_initramfs_contents_and_order(cache, tmp_path):
    p = initramfs(cache, tmp_path)
    assert p.returncode == 0, p.stderr
    path = p.stdout.strip()
    assert os.path.dirname(path) == str(tmp_path / "initramfs")
    assert os.path.basename(path).startswith(VER + "-")
    entries = parse_newc(open(path, "rb").read())
    names = [e[0] for e in entries]
    byname = {e[0]: e for e in entries}
    assert len(names) == len(set(names))
    # Every parent before its children.
    for i, n in enumerate(names):
        if "/" in n:
            parent = n.rsplit("/", 1)[0]
            assert parent in names[:i], f"{parent} after {n}"
            assert stat.S_ISDIR(byname[parent][1])
    init = byname["init"]
    assert init[1] == stat.S_IFREG | 0o755
    assert init[3] == open(BUSYBOX, "rb").read()
    console = byname["dev/console"]
    assert stat.S_ISCHR(console[1]) and console[2] == (5, 1)
    order = byname["vessel/modules.list"][3].decode().splitlines()
    assert byname["vessel/modules.list"][1] == stat.S_IFREG | 0o644
    base = f"lib/modules/{VER}/kernel/"
    assert len(order) == len(set(order)) == len(MODULES) - 1
    assert base + "fs/unneeded.ko" not in order
    for line in order:
        assert byname[line][1] == stat.S_IFREG | 0o644
        assert byname[line][3] == open(cache / VER / line.split("/", 3)[3], "rb").read()
    # Dependencies first.
    pos = {line[len(base):]: i for i, line in enumerate(order)}
    for rel, deps in MODULES.items():
        if rel == "fs/unneeded.ko":
            continue
        for d in filter(None, deps.split(",")):
            drel = next(r for r in MODULES if os.path.basename(r) == d + ".ko")
            assert pos[drel] < pos[rel], f"{drel} after {rel}"
    assert order[0] == base + "drivers/virtio/virtio_ring.ko"


def test_initramfs_is_cached(cache, tmp_path):
    a = initramfs(cache, tmp_path)
    assert a.returncode == 0, a.stderr
    st = os.stat(a.stdout.strip())
    b = initramfs(cache, tmp_path)
    assert b.stdout == a.stdout
    assert os.stat(b.stdout.strip()).st_ino == st.st_ino  # not rebuilt
    # Another agent: another archive.
    other = tmp_path / "agent2"
    shutil.copy(BUSYBOX, other)
    with open(other, "ab") as f:
        f.write(b"\0")
    c = initramfs(cache, tmp_path, other)
    assert c.returncode == 0, c.stderr
    assert c.stdout != a.stdout
    assert sorted(os.listdir(tmp_path / "initramfs")) == sorted(
        os.path.basename(x.stdout.strip()) for x in (a, c))


def test_dynamic_agent_refused(cache, tmp_path):
    out = tmp_path / "out.cpio"
    p = vessel("vm", "initramfs", "--agent", "/bin/true", "--kernel-dir", cache / VER,
               "--output", out)
    assert p.returncode != 0
    assert "/bin/true: dynamically linked" in p.stderr
    assert not out.exists()
    p = vessel("vm", "initramfs", "--agent", cache / VER / "config", "--kernel-dir", cache / VER,
               "--output", out)
    assert p.returncode != 0 and "not a 64-bit little-endian ELF" in p.stderr
    assert not out.exists()


def test_module_path_escape_refused(cache, tmp_path):
    """modules.dep is data: a path out of the module tree (here to a host
    file) must not end up in the guest."""
    k = cache / VER
    with open(k / "modules.dep", "a") as f:
        f.write("../" * 16 + "etc/shadow:\n")
    dep = (k / "modules.dep").read_text().replace(
        "kernel/fs/overlayfs/overlay.ko:", "kernel/fs/overlayfs/overlay.ko: " + "../" * 16 + "etc/shadow", 1)
    (k / "modules.dep").write_text(dep)
    out = tmp_path / "out.cpio"
    p = vessel("vm", "initramfs", "--agent", BUSYBOX, "--kernel-dir", k, "--output", out)
    assert p.returncode != 0
    assert "leaves the directory" in p.stderr
    assert not out.exists()


def test_symlinked_module_refused(cache, tmp_path):
    """Review finding 1, the attack: a module tree whose .ko is a link to a
    host file (kernel/virtio_mmio.ko -> /etc/shadow) put that file in the
    guest, read as root. No link in the tree is followed, to a file out of
    it or to another in it."""
    k = cache / VER
    mod = k / "kernel/drivers/virtio/virtio_mmio.ko"
    secret = tmp_path / "secret"
    secret.write_text("root:$6$hash:19000:0:99999:7:::\n")
    for target in (secret, k / "kernel/fs/fuse/fuse.ko"):
        mod.unlink()
        mod.symlink_to(target)
        out = tmp_path / "out.cpio"
        p = vessel("vm", "initramfs", "--agent", BUSYBOX, "--kernel-dir", k, "--output", out)
        assert p.returncode != 0
        assert "kernel/drivers/virtio/virtio_mmio.ko (beneath, no symlinks)" in p.stderr, p.stderr
        assert not out.exists()
        p = initramfs(cache, tmp_path)
        assert p.returncode != 0 and "no symlinks" in p.stderr
        assert not (tmp_path / "initramfs").exists() or os.listdir(tmp_path / "initramfs") == []
    # A linked directory on the way is a link too.
    mod.unlink()
    real = k / "kernel/drivers/virtio"
    os.rename(real, tmp_path / "virtio")
    real.symlink_to(tmp_path / "virtio")
    p = vessel("vm", "initramfs", "--agent", BUSYBOX, "--kernel-dir", k, "--output",
               tmp_path / "o")
    assert p.returncode != 0 and "no symlinks" in p.stderr


def test_symlinked_modules_dep_refused(cache, tmp_path):
    """modules.dep's lines end up in error messages: a link to a host file
    is refused before anything of it is read."""
    k = cache / VER
    secret = tmp_path / "secret"
    secret.write_text("root:$6$hash:19000:0:99999:7:::\n")
    (k / "modules.dep").unlink()
    (k / "modules.dep").symlink_to(secret)
    p = vessel("vm", "initramfs", "--agent", BUSYBOX, "--kernel-dir", k, "--output",
               tmp_path / "o")
    assert p.returncode != 0
    assert "modules.dep (beneath, no symlinks)" in p.stderr, p.stderr
    assert "$6$hash" not in p.stderr


def test_initramfs_cache_key_is_the_tree(cache, tmp_path, fake_deb):
    """Review finding 1: the archive was cached under the directory's name
    (the version) alone, so an attacker's tree named like the genuine one
    filled the cache for every later create. Two trees of the same name, or
    one whose modules changed, get their own archives."""
    a = initramfs(cache, tmp_path)
    assert a.returncode == 0, a.stderr
    other = tmp_path / "other"
    p = vessel("vm", "fetch-kernel", "--cache-dir", other, "--deb", fake_deb)
    assert p.returncode == 0, p.stderr
    mod = other / VER / "kernel/drivers/virtio/virtio_mmio.ko"
    mod.write_bytes(mod.read_bytes() + b"evil")
    b = vessel("vm", "initramfs", "--agent", BUSYBOX, "--kernel-dir", other / VER,
               "--initramfs-dir", tmp_path / "initramfs")
    assert b.returncode == 0, b.stderr
    assert b.stdout != a.stdout
    assert os.path.basename(b.stdout.strip()).startswith(VER + "-")
    entries = {e[0]: e[3] for e in parse_newc(open(b.stdout.strip(), "rb").read())}
    assert entries[f"lib/modules/{VER}/kernel/drivers/virtio/virtio_mmio.ko"].endswith(b"evil")
    entries = {e[0]: e[3] for e in parse_newc(open(a.stdout.strip(), "rb").read())}
    assert not entries[f"lib/modules/{VER}/kernel/drivers/virtio/virtio_mmio.ko"].endswith(b"evil")
    # The same tree, unchanged: the same archive; changed in place: a new one.
    assert initramfs(cache, tmp_path).stdout == a.stdout
    fuse = cache / VER / "kernel/fs/fuse/fuse.ko"
    fuse.write_bytes(fuse.read_bytes() + b"\0")
    c = initramfs(cache, tmp_path)
    assert c.returncode == 0, c.stderr
    assert c.stdout not in (a.stdout, b.stdout)


def test_compressed_modules(cache, tmp_path):
    k = cache / VER
    os.rename(k / "kernel/fs/overlayfs/overlay.ko", k / "kernel/fs/overlayfs/overlay.ko.xz")
    (k / "modules.dep").write_text((k / "modules.dep").read_text().replace(
        "overlay.ko:", "overlay.ko.xz:"))
    out = tmp_path / "out.cpio"
    p = vessel("vm", "initramfs", "--agent", BUSYBOX, "--kernel-dir", k, "--output", out)
    assert p.returncode != 0
    assert "compressed" in p.stderr and "CONFIG_MODULE_DECOMPRESS" in p.stderr
    (k / "config").write_text("CONFIG_A=y\nCONFIG_MODULE_DECOMPRESS=y\n")
    p = vessel("vm", "initramfs", "--agent", BUSYBOX, "--kernel-dir", k, "--output", out)
    assert p.returncode == 0, p.stderr
    names = [e[0] for e in parse_newc(out.read_bytes())]
    assert f"lib/modules/{VER}/kernel/fs/overlayfs/overlay.ko.xz" in names


def test_missing_module_named(cache, tmp_path):
    k = cache / VER
    (k / "modules.dep").write_text("\n".join(
        line for line in (k / "modules.dep").read_text().splitlines()
        if not line.startswith("kernel/fs/fuse/virtiofs.ko")) + "\n")
    p = vessel("vm", "initramfs", "--agent", BUSYBOX, "--kernel-dir", k, "--output",
               tmp_path / "o")
    assert p.returncode != 0 and "no module virtiofs" in p.stderr


def test_no_kernel_says_how(tmp_path):
    p = vessel("vm", "initramfs", "--agent", BUSYBOX, "--cache-dir", tmp_path / "none",
               "--output", tmp_path / "o")
    assert p.returncode != 0
    assert "no guest kernel: run `vessel vm fetch-kernel`" in p.stderr


def test_fetch_for_real(tmp_path):
    """Debian's cloud kernel through apt (about 27 MB): skipped where apt
    cannot reach a mirror."""
    if not shutil.which("apt-get"):
        pytest.skip("no apt-get")
    probe = subprocess.run(["apt-get", "download", "--print-uris", "linux-image-cloud-amd64"],
                           capture_output=True, text=True)
    if probe.returncode != 0 or "http" not in probe.stdout:
        pytest.skip(f"apt cannot resolve linux-image-cloud-amd64: {probe.stderr.strip()}")
    d = tmp_path / "kernels"
    p = vessel("vm", "fetch-kernel", "--cache-dir", d)
    if p.returncode != 0 and ("Failed to fetch" in p.stderr or "Temporary failure" in p.stderr):
        pytest.skip(f"no Debian mirror: {p.stderr.strip()[-200:]}")
    assert p.returncode == 0, p.stderr
    k = p.stdout.strip()
    ver = os.path.basename(k)
    assert ver.endswith("-cloud-amd64") and os.listdir(d) == [ver]
    assert open(os.path.join(k, "vmlinuz"), "rb").read(0x206)[0x202:0x206] == b"HdrS"
    dep = open(os.path.join(k, "modules.dep")).read()
    for m in ("virtio_mmio.ko", "vmw_vsock_virtio_transport.ko", "virtiofs.ko", "overlay.ko",
              "virtio_net.ko", "net_failover.ko", "failover.ko", "fuse.ko", "vsock.ko"):
        assert "/" + m + ":" in dep, m
    r = vessel("vm", "initramfs", "--agent", BUSYBOX, "--kernel-dir", k, "--output",
               tmp_path / "i.cpio")
    assert r.returncode == 0, r.stderr
    names = [e[0] for e in parse_newc((tmp_path / "i.cpio").read_bytes())]
    assert f"lib/modules/{ver}/kernel/drivers/virtio/virtio_mmio.ko" in names
