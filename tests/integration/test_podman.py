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
from pty_util import on_pty

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


# ---- exec and terminals ------------------------------------------------------------

@pytest.fixture
def running_pod(rootfs):
    p = podman("run", "-d", *LIMITS, "--network", "none", "--rootfs", rootfs, "/bin/sleep", "1000")
    assert p.returncode == 0, p.stderr
    cid = p.stdout.strip()
    yield cid
    podman("rm", "-f", "-t", "0", cid)


def test_podman_exec(running_pod):
    p = podman("exec", "-e", "X=1", "-w", "/tmp", running_pod, "/bin/sh", "-c", "echo $X; pwd; exit 3")
    assert p.returncode == 3, p.stderr
    assert p.stdout.split() == ["1", "/tmp"]


def test_podman_exec_tty(running_pod):
    p = podman("exec", "-t", running_pod, "/bin/sh", "-c", "tty; [ -t 1 ] && echo is-a-tty")
    assert p.returncode == 0, p.stderr
    assert p.stdout.replace("\r", "").split() == ["/dev/pts/0", "is-a-tty"]


def test_podman_run_t(rootfs):
    p = podman("run", "--rm", "-t", *LIMITS, "--network", "none", "--rootfs", rootfs,
               "/bin/sh", "-c", "tty; exit 4")
    assert p.returncode == 4, p.stderr
    assert p.stdout.strip() == "/dev/pts/0"


def test_podman_run_it_through_a_pty(rootfs):
    out, rc = on_pty(["podman", "--runtime", VESSEL, "run", "--rm", "-it", *LIMITS, "--network",
                      "none", "--rootfs", rootfs, "/bin/sh", "-c",
                      "stty size; echo ready; read x; echo got-$x; exit 6"], send=b"typed\r")
    assert rc == 6, out
    assert "got-typed" in out
    assert out.split()[0:2] != ["0", "0"]  # the pty got a size


def test_podman_exec_it_through_a_pty(running_pod):
    out, rc = on_pty(["podman", "--runtime", VESSEL, "exec", "-it", running_pod, "/bin/sh", "-c",
                      "echo ready; read x; echo got-$x; exit 2"], send=b"abc\r")
    assert rc == 2, out
    assert "got-abc" in out


def test_podman_top_stop_kill_with_execd_processes(rootfs):
    p = podman("run", "-d", *LIMITS, "--network", "none", "--rootfs", rootfs, "/bin/sleep", "1000")
    assert p.returncode == 0, p.stderr
    cid = p.stdout.strip()
    try:
        assert podman("exec", "-d", cid, "/bin/sleep", "777").returncode == 0
        top = podman("top", cid)
        assert top.returncode == 0, top.stderr
        assert "sleep 777" in top.stdout and "sleep 1000" in top.stdout
        assert podman("stop", "-t", "1", cid).returncode == 0
        st = podman("inspect", cid, "--format", "{{.State.Status}}")
        assert st.stdout.strip() == "exited"
        # Nothing of it is left running on the host.
        ps = subprocess.run(["pgrep", "-f", "sleep 777"], capture_output=True, text=True)
        assert ps.stdout.strip() == ""
        assert podman("start", cid).returncode == 0
        assert podman("exec", "-d", cid, "/bin/sleep", "778").returncode == 0
        assert podman("kill", cid).returncode == 0
        podman("wait", cid)
        ps = subprocess.run(["pgrep", "-f", "sleep 778"], capture_output=True, text=True)
        assert ps.stdout.strip() == ""
    finally:
        podman("rm", "-f", "-t", "0", cid)


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
