#!/usr/bin/python3
"""bench/hybrid.sh: one busybox bundle, run as a container (vessel and crun,
interleaved by hyperfine) and as a microVM. See hybrid.sh for what runs
where; everything that did not run says so in the output."""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vm_start import rss_beyond_guest_ram  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RELEASE = os.path.join(REPO, "build", "vessel")
ASAN = os.path.join(REPO, "build-asan", "vessel")
GUEST_MIB = 64


def vtx():
    with open("/proc/cpuinfo") as f:
        return any(w in ("vmx", "svm") for l in f if l.startswith("flags") for w in l.split())


def bundle(d, args, annotations=None):
    rootfs = os.path.join(d, "rootfs")
    os.makedirs(os.path.join(rootfs, "bin"))
    shutil.copy("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
    os.symlink("busybox", os.path.join(rootfs, "bin", "true"))
    os.symlink("busybox", os.path.join(rootfs, "bin", "sh"))
    for x in ("proc", "sys", "dev", "tmp"):
        os.makedirs(os.path.join(rootfs, x))
    subprocess.run([RELEASE, "spec", "--bundle", d], check=True)
    p = os.path.join(d, "config.json")
    with open(p) as f:
        c = json.load(f)
    c["process"]["terminal"] = False
    c["process"]["args"] = args
    if annotations:
        c.setdefault("annotations", {}).update(annotations)
    with open(p, "w") as f:
        json.dump(c, f)


def hyperfine(runs, cmds):
    out = tempfile.mktemp(suffix=".json")
    subprocess.run(["hyperfine", "-N", "--warmup", "3", "--runs", str(runs), "--export-json", out]
                   + cmds, check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        res = json.load(f)["results"]
    os.unlink(out)
    return [statistics.median(r["times"]) * 1000 for r in res]


def container_part(runs, tmp):
    d = os.path.join(tmp, "c")
    bundle(d, ["/bin/true"])
    root = os.path.join(tmp, "state")
    # crun refuses hybrid cgroup hosts (bench/run-container-bench.sh): then
    # runc is the peer, and the output says so.
    peer = "crun"
    if subprocess.run(["crun", "--root", f"{root}-probe", "run", "--bundle", d, "hb-probe"],
                      capture_output=True).returncode != 0:
        print("crun: does not run on this host (hybrid cgroups); peer: runc")
        peer = "runc"
    v, c = hyperfine(runs, [f"{RELEASE} --root {root} run --bundle {d} hb-v",
                            f"{peer} --root {root}-{peer} run --bundle {d} hb-c"])
    print(f"container run /bin/true, median: vessel {v:.2f} ms, {peer} {c:.2f} ms "
          f"(ratio {v / c:.2f}x)")


def vm_part(runs, tmp):
    """A VT-x host: `run` of /bin/true as a microVM and as a container, one
    hyperfine session, and the monitor's memory beyond guest RAM."""
    agent = "/usr/local/libexec/vessel/vessel-agent"
    kernels = "/var/cache/vessel/kernels"
    if not os.access(agent, os.X_OK) or not os.path.isdir(kernels) or not os.listdir(kernels):
        print(f"microVM run /bin/true: NOT RUN (needs {agent} from `make install` and a kernel "
              "from `vessel vm fetch-kernel`)")
        return
    d, dc = os.path.join(tmp, "vm"), os.path.join(tmp, "vc")
    bundle(d, ["/bin/true"], {"io.vessel.backend": "microvm",
                              "io.vessel.vm.memory": str(GUEST_MIB)})
    bundle(dc, ["/bin/true"])
    root = os.path.join(tmp, "vstate")
    m, c = hyperfine(runs, [f"{RELEASE} --root {root} run --bundle {d} hb-vm",
                            f"{RELEASE} --root {root} run --bundle {dc} hb-vc"])
    print(f"run /bin/true, median: microVM {m:.2f} ms, container {c:.2f} ms")
    d2 = os.path.join(tmp, "vm2")
    bundle(d2, ["/bin/sh", "-c", "sleep 5"], {"io.vessel.backend": "microvm",
                                              "io.vessel.vm.memory": str(GUEST_MIB)})
    subprocess.run([RELEASE, "--root", root, "create", "--bundle", d2, "hb-mem"], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    with open(os.path.join(root, "hb-mem", "state.json")) as f:
        pid = json.load(f)["pid"]
    kb = rss_beyond_guest_ram(pid, GUEST_MIB << 20)
    subprocess.run([RELEASE, "--root", root, "delete", "--force", "hb-mem"])
    print(f"microVM monitor RSS beyond guest RAM (created, release build): {kb / 1024:.2f} MiB")


def host_side_part(runs, tmp):
    """create until the guest's first instruction, and the monitor's RSS."""
    g = os.path.join(tmp, "g")
    # The kernel cache's layout: an annotation names a version's vmlinuz.
    os.makedirs(os.path.join(g, "kernels", "power"))
    kernel = os.path.join(g, "kernels", "power", "vmlinuz")
    shutil.copy(os.path.join(REPO, "build", "guests", "power.bzImage"), kernel)
    shutil.copy(os.path.join(REPO, "build", "vessel-agent"), os.path.join(g, "vessel-agent"))
    with open(os.path.join(g, "cmdline"), "w") as f:
        f.write("action=hang\n")
    d = os.path.join(tmp, "m")
    bundle(d, ["/bin/true"], {"io.vessel.backend": "microvm",
                              "io.vessel.vm.allow-emulated": "true",
                              "io.vessel.vm.kernel": kernel,
                              "io.vessel.vm.memory": str(GUEST_MIB)})
    env = dict(os.environ, VESSEL_TEST_MICROVM_GUEST=g)
    root = os.path.join(tmp, "mstate")
    firsts, rss, fsd = [], [], []
    for i in range(runs + 2):
        cid = f"hb-m{i}"
        log = os.path.join(root, cid, "console.log")
        t0 = time.perf_counter()
        p = subprocess.Popen([ASAN, "--root", root, "create", "--bundle", d, cid], env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        # The guest's first instruction is its serial write ("ACTION ..."):
        # the first byte of console.log.
        while True:
            try:
                if os.path.getsize(log) > 0:
                    break
            except OSError:
                pass
            if time.perf_counter() - t0 > 30:
                raise RuntimeError("no guest output")
            time.sleep(0.0002)
        t1 = time.perf_counter()
        p.wait()
        with open(os.path.join(root, cid, "state.json")) as f:
            pid = json.load(f)["pid"]
        kb = rss_beyond_guest_ram(pid, GUEST_MIB << 20)
        vk = 0
        for q in os.listdir("/proc"):
            if q.isdigit():
                try:
                    with open(f"/proc/{q}/cmdline", "rb") as f:
                        if f"{root}/{cid}/rootfs.share".encode() in f.read():
                            with open(f"/proc/{q}/status") as s:
                                for l in s:
                                    if l.startswith("VmRSS:"):
                                        vk += int(l.split()[1])
                except OSError:
                    pass
        subprocess.run([ASAN, "--root", root, "delete", "--force", cid], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if i >= 2:  # warm-up
            firsts.append((t1 - t0) * 1000)
            rss.append(kb / 1024)
            fsd.append(vk / 1024)
    print(f"microVM host side (ASan build, test guest, {runs} runs), median: create until "
          f"the guest's first instruction {statistics.median(firsts):.1f} ms; monitor RSS "
          f"beyond guest RAM {statistics.median(rss):.2f} MiB; virtiofsd (both processes) "
          f"{statistics.median(fsd):.2f} MiB")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="vessel-hybrid-")
    try:
        container_part(a.runs, tmp)
        if vtx():
            vm_part(a.runs, tmp)
        else:
            print("microVM run /bin/true start-to-exit and its memory: NOT RUN (no VT-x/AMD-V "
                  "under /dev/kvm: a Linux guest never reaches userspace here)")
        host_side_part(a.runs, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
