#!/usr/bin/python3
"""VMM start-up cost, vessel vs QEMU microvm, on the same tiny guest (the
32-bit PVH guest from tests/guests, which with "bench" on its command line
writes one byte to the UART as its very first port write, then exits via
port 0xf4).

Per run: wall time from exec to the first byte of guest output on the
VMM's stdout (the guest's first port write), and the VMM process's resident
memory at that moment beyond guest RAM (RSS minus the resident part of the
guest RAM mapping, read from /proc/PID/smaps while the process is alive).
Prints medians and vessel/QEMU ratios."""
import argparse
import os
import select
import signal
import statistics
import subprocess
import sys
import time

MEM_MIB = 128


def rss_beyond_guest_ram(pid, ram_bytes):
    """kB of RSS outside the guest-RAM mapping (the mapping whose size is
    exactly the guest's RAM: QEMU's anonymous one, vessel's shared memfd one).
    Every mapping's Rss line counts its resident pages, shmem pages of a
    shared memfd mapping included (they are RssShmem in /proc/PID/status, not
    RssAnon), so summing Rss and subtracting the guest mapping's Rss measures
    the same thing for both VMMs."""
    total = guest = 0
    size = rss = 0
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                if line[0] in "0123456789abcdef" and "-" in line.split()[0]:
                    if size == ram_bytes // 1024:
                        guest += rss
                    lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
                    size, rss = (hi - lo) // 1024, 0
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
                    total += rss
        if size == ram_bytes // 1024:
            guest += rss
    except OSError:
        return None
    return total - guest


def one_run(cmd):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    # Stop the VMM at its first output byte so its memory can be read while
    # it is alive; SIGSTOP is sent after the timestamp, so it costs nothing.
    r, _, _ = select.select([p.stdout], [], [], 30)
    if not r:
        p.kill()
        p.wait()
        raise RuntimeError(f"no output from {cmd[0]}")
    os.read(p.stdout.fileno(), 1)
    t1 = time.perf_counter()
    os.kill(p.pid, signal.SIGSTOP)
    kb = rss_beyond_guest_ram(p.pid, MEM_MIB << 20)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    p.stdout.close()
    return (t1 - t0) * 1000, kb


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--vessel", default=os.path.join(repo, "build", "vessel"))
    ap.add_argument("--guest", default=os.path.join(repo, "build", "guests", "pvh.elf"))
    a = ap.parse_args()
    vessel = [a.vessel, "vm", "run", "--kernel", a.guest, "--cmdline", "bench", "--memory",
              str(MEM_MIB)]
    qemu = ["qemu-system-x86_64", "-M", "microvm", "-enable-kvm", "-cpu", "kvm64", "-m",
            f"{MEM_MIB}M", "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", a.guest,
            "-append", "bench"]
    results = {}
    for name, cmd in (("vessel", vessel), ("qemu-microvm", qemu)):
        one_run(cmd)  # warm the page cache
    # Interleave so both see the same machine state.
    for i in range(a.runs):
        for name, cmd in (("vessel", vessel), ("qemu-microvm", qemu)):
            results.setdefault(name, []).append(one_run(cmd))
    print(f"VMM start-up, {a.runs} runs each, guest {os.path.basename(a.guest)}, {MEM_MIB} MiB")
    print(f"{'vmm':14} {'first port write (ms)':>22} {'RSS beyond guest RAM (MiB)':>28}")
    med = {}
    for name, rs in results.items():
        t = statistics.median(r[0] for r in rs)
        m = statistics.median(r[1] for r in rs if r[1] is not None) / 1024
        med[name] = (t, m)
        print(f"{name:14} {t:22.2f} {m:28.2f}")
    (vt, vm), (qt, qm) = med["vessel"], med["qemu-microvm"]
    print(f"ratio vessel/qemu: start {vt / qt:.3f}x (target <= 0.2x), "
          f"memory {vm / qm:.3f}x; vessel overhead {vm:.2f} MiB (target < 5 MiB)")


if __name__ == "__main__":
    sys.exit(main())
