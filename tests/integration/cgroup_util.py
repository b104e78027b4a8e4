"""Helpers for the cgroup integration tests: where each controller is
mounted on this host, the container's directories, waiting, and a reader
for `vessel events` output."""
import glob
import json
import os
import select
import subprocess
import time

import pytest

from conftest import VESSEL


def mounts():
    """{controller: mount point} for v1 hierarchies, plus "cgroup2"."""
    out = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            fields, sup = pre.split(), post.split()
            if len(sup) < 3:
                continue
            if sup[0] == "cgroup2":
                out.setdefault("cgroup2", fields[4])
            elif sup[0] == "cgroup":
                for opt in sup[2].split(","):
                    if opt not in ("rw", "ro", "relatime", "nosuid", "nodev", "noexec", "xattr",
                                   "clone_children") and not opt.startswith("release_agent="):
                        out.setdefault(opt, fields[4])
    return out


MOUNTS = mounts()


def v1(controller):
    """The v1 mount of controller, or skip saying the host lacks it."""
    if controller not in MOUNTS:
        pytest.skip(f"this host has no cgroup v1 {controller} hierarchy")
    return MOUNTS[controller]


def cgdir(controller, path):
    return MOUNTS[controller] + path


def read(controller, path, name):
    with open(os.path.join(cgdir(controller, path), name)) as f:
        return f.read().strip()


def v2_has(controller):
    """cgroup2 mount and whether controller is in its cgroup.controllers."""
    root = MOUNTS.get("cgroup2")
    if not root:
        return None, False
    with open(os.path.join(root, "cgroup.controllers")) as f:
        return root, controller in f.read().split()


def leftovers(name):
    """Every directory called name anywhere under the cgroup mounts."""
    found = []
    for m in set(MOUNTS.values()):
        found += glob.glob(os.path.join(m, "**", name), recursive=True)
    return found


def wait_for(pred, timeout=10, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def alive(pid):
    """Running (not gone, not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Events:
    """`vessel events` in the background, read line by line."""

    def __init__(self, vessel, *args):
        self.p = subprocess.Popen([VESSEL, "--root", vessel.root, "events", *args],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def next(self, timeout=15):
        ready, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.p.stdout.readline()
        return json.loads(line) if line else None

    def until(self, etype, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            e = self.next(max(0.1, deadline - time.time()))
            if e is None and self.p.poll() is not None:
                break
            if e and e["type"] == etype:
                return e
        raise AssertionError(f"no {etype} event (stderr: {self.p.stderr.read1().decode(errors='replace')})"
                             if self.p.poll() is not None else f"no {etype} event")

    def close(self):
        if self.p.poll() is None:
            self.p.terminate()
        self.p.wait(timeout=10)
