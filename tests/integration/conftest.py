"""Shared fixtures: the vessel binary under test, a private --root, and
busybox bundles built in temporary directories from Debian's busybox-static."""
import json
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VESSEL = os.environ.get("VESSEL", os.path.join(REPO, "build", "vessel"))
# The guest agent built next to the vessel under test (build/ or build-asan/).
VESSEL_AGENT = os.environ.get("VESSEL_AGENT", os.path.join(os.path.dirname(VESSEL), "vessel-agent"))
BUSYBOX = "/bin/busybox"


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


class Vessel:
    """Runs build/vessel with a private state root."""

    def __init__(self, root, binary=None):
        self.root = root
        self.binary = binary or VESSEL  # e.g. a vessel-vm symlink to it

    def run(self, *args, check=False, timeout=60, stdin=subprocess.DEVNULL, **kw):
        """Runs vessel; stdout/stderr go to files, not pipes, because a
        created container keeps our stdio open (as with runc) and a pipe
        would never reach EOF."""
        cmd = [self.binary, "--root", self.root] + [str(a) for a in args]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            rc = subprocess.run(cmd, stdin=stdin, stdout=out, stderr=err, timeout=timeout, **kw).returncode
            out.seek(0)
            err.seek(0)
            p = subprocess.CompletedProcess(cmd, rc, out.read().decode(errors="replace"),
                                            err.read().decode(errors="replace"))
        if check and p.returncode != 0:
            raise AssertionError(f"{cmd} failed ({p.returncode}): {p.stderr}")
        return p

    def state(self, cid):
        p = self.run("state", cid, check=True)
        return json.loads(p.stdout)


def make_rootfs(path):
    os.makedirs(os.path.join(path, "bin"))
    shutil.copy(BUSYBOX, os.path.join(path, "bin", "busybox"))
    out = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout
    for applet in out.split():
        if applet != "busybox":
            os.symlink("busybox", os.path.join(path, "bin", applet))
    for d in ("proc", "sys", "dev", "tmp", "etc"):
        os.makedirs(os.path.join(path, d), exist_ok=True)


class Bundle:
    """A busybox bundle: rootfs plus the config `vessel spec` writes, which
    tests adjust through .config before .write()."""

    def __init__(self, path):
        self.path = path
        self.rootfs = os.path.join(path, "rootfs")
        make_rootfs(self.rootfs)
        subprocess.run([VESSEL, "spec", "--bundle", path], check=True)
        with open(self.config_path) as f:
            self.config = json.load(f)
        self.config["root"]["readonly"] = False

    @property
    def config_path(self):
        return os.path.join(self.path, "config.json")

    def args(self, *argv):
        self.config["process"]["args"] = list(argv)
        return self

    def sh(self, script):
        return self.args("sh", "-c", script)

    def write(self):
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)
        return self


@pytest.fixture
def vessel(tmp_path):
    root = str(tmp_path / "state")
    v = Vessel(root)
    yield v
    # Leave nothing behind even when a test fails half way.
    if os.path.isdir(root):
        for cid in os.listdir(root):
            v.run("delete", "--force", cid)


@pytest.fixture
def agent_path():
    """The vessel-agent binary that matches VESSEL (override: VESSEL_AGENT)."""
    if not os.access(VESSEL_AGENT, os.X_OK):
        pytest.fail(f"{VESSEL_AGENT} is missing: make all asan")
    return VESSEL_AGENT


@pytest.fixture
def bundle(tmp_path):
    return Bundle(str(tmp_path / "bundle"))


@pytest.fixture
def cid():
    return "t-" + uuid.uuid4().hex[:12]
