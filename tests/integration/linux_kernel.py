"""Debian's cloud kernel for the Linux smoke tests: downloaded once with
`apt-get download` into a cache outside the repository
($VESSEL_KERNEL_CACHE, default /var/cache/vessel/kernels), unpacked to its
bzImage (vmlinuz) and the ELF inside it (vmlinux, decompressed on the host),
which vessel boots through its PVH note."""
import glob
import os
import struct
import subprocess

CACHE = os.environ.get("VESSEL_KERNEL_CACHE", "/var/cache/vessel/kernels")
META = "linux-image-cloud-amd64"

# Compressed payload magics (arch/x86/boot/compressed), with the decompressor.
DECOMPRESSORS = [
    (b"\x02\x21\x4c\x18", ["lz4", "-dc"]),
    (b"\xfd7zXZ\x00", ["xz", "-dc"]),
    (b"\x28\xb5\x2f\xfd", ["zstd", "-dc"]),
    (b"\x1f\x8b", ["gzip", "-dc"]),
]


class Unavailable(Exception):
    pass


def _package():
    def depends():
        p = subprocess.run(["apt-cache", "depends", META], capture_output=True, text=True)
        return [l.split()[-1] for l in p.stdout.splitlines() if "Depends: linux-image-" in l]
    names = depends()
    if not names:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
        names = depends()
    if not names:
        raise Unavailable(f"apt knows no {META}")
    return names[0]


def _deb():
    debs = sorted(glob.glob(os.path.join(CACHE, "linux-image-*-cloud-amd64_*.deb")))
    if debs:
        return debs[-1]
    os.makedirs(CACHE, exist_ok=True)
    pkg = _package()
    p = subprocess.run(["apt-get", "download", pkg], cwd=CACHE, capture_output=True, text=True)
    debs = sorted(glob.glob(os.path.join(CACHE, "linux-image-*-cloud-amd64_*.deb")))
    if p.returncode != 0 or not debs:
        raise Unavailable(f"apt-get download {pkg} failed: {p.stderr.strip()[-300:]}")
    return debs[-1]


def extract_vmlinux(bzimage):
    """The ELF kernel inside a bzImage: payload_offset/length from the setup
    header, decompressed with the tool its magic names."""
    with open(bzimage, "rb") as f:
        d = f.read()
    setup_sects = d[0x1F1] or 4
    off = (setup_sects + 1) * 512
    payload_offset, payload_length = struct.unpack("<II", d[0x248:0x250])
    payload = d[off + payload_offset:off + payload_offset + payload_length]
    for magic, cmd in DECOMPRESSORS:
        if payload.startswith(magic):
            # Linux appends the decompressed size; some tools complain about
            # that trailer but still write the whole ELF.
            out = subprocess.run(cmd, input=payload, capture_output=True).stdout
            if out[:4] != b"\x7fELF":
                raise Unavailable(f"{cmd[0]} did not produce an ELF")
            return out
    raise Unavailable(f"unknown kernel compression {payload[:6].hex()}")


def kernel():
    """(vmlinuz, vmlinux) paths in the cache; raises Unavailable."""
    deb = _deb()
    base = os.path.splitext(deb)[0]
    vmlinuz, vmlinux = base + ".vmlinuz", base + ".vmlinux"
    if not os.path.exists(vmlinuz):
        tar = subprocess.run(f"dpkg-deb --fsys-tarfile '{deb}' | tar -xO --wildcards './boot/vmlinuz-*'",
                             shell=True, capture_output=True)
        if tar.returncode != 0 or not tar.stdout:
            raise Unavailable(f"no vmlinuz in {deb}")
        with open(vmlinuz + ".tmp", "wb") as f:
            f.write(tar.stdout)
        os.rename(vmlinuz + ".tmp", vmlinuz)
    if not os.path.exists(vmlinux):
        with open(vmlinux + ".tmp", "wb") as f:
            f.write(extract_vmlinux(vmlinuz))
        os.rename(vmlinux + ".tmp", vmlinux)
    return vmlinuz, vmlinux
