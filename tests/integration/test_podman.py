"""podman as a real client: it drives vessel through conmon exactly as it
drives runc (create, start, state, kill, delete). Images are not needed:
--rootfs points at a busybox rootfs. This host lacks CAP_SYS_RESOURCE, so
podman's default RLIMIT_NOFILE (1048576, above our hard limit) is lowered
explicitly; runc fails the same way without it."""
import os
import shutil
import subprocess

import pytest
from conftest import VESSEL, make_rootfs

pytestmark = pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed")

LIMITS = ["--ulimit", "nofile=10000:10000", "--ulimit", "nproc=4000:4000"]


def podman(*args, timeout=120):
    cmd = ["podman", "--runtime", VESSEL] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture
def rootfs(tmp_path):
    path = str(tmp_path / "rootfs")
    make_rootfs(path)
    return path


def test_podman_run_rm(rootfs):
    p = podman("run", "--rm", *LIMITS, "--network", "none", "--hostname", "pod-host", "--rootfs", rootfs,
               "/bin/sh", "-c", "echo hello; hostname; echo $$; exit 5")
    assert p.returncode == 5, p.stderr
    assert p.stdout.split() == ["hello", "pod-host", "1"]


def test_podman_detached_stop_and_rm(rootfs):
    p = podman("run", "-d", *LIMITS, "--network", "none", "--rootfs", rootfs,
               "/bin/sh", "-c", "trap 'exit 3' TERM; while true; do sleep 0.1; done")
    assert p.returncode == 0, p.stderr
    cid = p.stdout.strip()
    try:
        st = podman("inspect", cid, "--format", "{{.State.Status}}")
        assert st.stdout.strip() == "running"
        assert podman("stop", "-t", "10", cid).returncode == 0
        st = podman("inspect", cid, "--format", "{{.State.Status}} {{.State.ExitCode}}")
        assert st.stdout.split() == ["exited", "3"]
    finally:
        podman("rm", "-f", cid)
    assert podman("inspect", cid).returncode != 0


def test_podman_reports_runtime_error(rootfs):
    p = podman("run", "--rm", *LIMITS, "--network", "none", "--rootfs", rootfs, "/bin/no-such-program")
    assert p.returncode != 0
    assert "no-such-program" in p.stderr



@pytest.mark.parametrize("opts,mode", [([], "2"), (["--security-opt", "seccomp=unconfined"], "0")],
                         ids=["default-profile", "unconfined"])
def test_podman_seccomp_profile_is_applied(rootfs, opts, mode):
    # podman turns /usr/share/containers/seccomp.json into linux.seccomp
    # (ERRNO by default, an allow list); unconfined sends none.
    p = podman("run", "--rm", *LIMITS, *opts, "--network", "none", "--rootfs", rootfs,
               "/bin/sh", "-c", "grep Seccomp: /proc/self/status")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["Seccomp:", mode]


def test_podman_read_only(rootfs):
    # podman mounts /run, /tmp and /var/tmp as tmpfs with runc's "tmpcopyup".
    os.makedirs(os.path.join(rootfs, "run", "keep"))
    p = podman("run", "--rm", *LIMITS, "--read-only", "--network", "none", "--rootfs", rootfs,
               "/bin/sh", "-c",
               "touch /x 2>&1; touch /tmp/t /run/r && echo writable; "
               "test -d /run/keep && echo kept; stat -f -c %T /run /tmp")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert "Read-only file system" in lines[0]
    assert lines[1:] == ["writable", "kept", "tmpfs", "tmpfs"]


def test_podman_tmpfs(rootfs):
    os.makedirs(os.path.join(rootfs, "x"))
    open(os.path.join(rootfs, "x", "from-image"), "w").close()
    p = podman("run", "--rm", *LIMITS, "--tmpfs", "/x", "--network", "none", "--rootfs", rootfs,
               "/bin/sh", "-c", "stat -f -c %T /x; ls /x; touch /x/new && echo ok")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["tmpfs", "from-image", "ok"]


@pytest.fixture
def userns_dirs():
    """A rootfs owned by the mapped root and a volume, outside pytest's
    basetemp (which a concurrent session resets to 0700)."""
    import tempfile
    d = tempfile.mkdtemp(prefix="vessel-podman-", dir="/tmp")
    try:
        os.chmod(d, 0o711)
        rootfs = os.path.join(d, "rootfs")
        make_rootfs(rootfs)
        os.mkdir(os.path.join(rootfs, "vol"))
        subprocess.run(["chown", "-R", "100000:100000", rootfs], check=True)
        vol = os.path.join(d, "vol")
        os.mkdir(vol)
        with open(os.path.join(vol, "f"), "w") as f:
            f.write("x\n")
        os.chown(os.path.join(vol, "f"), 1000, 1000)
        yield rootfs, vol
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("opt,owner", [("idmap", "1000:1000"),
                                       ("idmap=uids=1000-100005-1;gids=1000-100006-1", "5:6")],
                         ids=["idmap", "crun-form"])
def test_podman_idmapped_volume(userns_dirs, opt, owner):
    # podman's own binds (/etc/hosts, ...) live in 0700 storage the mapped
    # root cannot reach: the runtime opens every bind source for the init.
    rootfs, vol = userns_dirs
    p = podman("run", "--rm", *LIMITS, "--network", "none", "--uidmap", "0:100000:65536",
               "--gidmap", "0:100000:65536", "-v", f"{vol}:/vol:{opt}", "--rootfs", rootfs,
               "/bin/sh", "-c", "stat -c %u:%g /vol/f; cat /proc/self/uid_map")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == owner
    assert lines[1].split() == ["0", "100000", "65536"]
