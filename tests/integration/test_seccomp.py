"""linux.seccomp on busybox bundles: each test asks the container to do what
the profile forbids and reads the kernel's answer from inside. Every test runs
with and without process.noNewPrivileges: the filter is loaded at a different
point of the init in each case (docs/seccomp.md)."""
import fcntl
import json
import os
import select
import socket
import struct
import threading

import pytest

ALLOW = "SCMP_ACT_ALLOW"
NNP = pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])

# linux/seccomp.h: struct seccomp_notif is 80 bytes, seccomp_notif_resp 24;
# _IOWR('!', 0 or 1, size).
NOTIF_SIZE, RESP_SIZE = 80, 24
IOCTL_NOTIF_RECV = (3 << 30) | (NOTIF_SIZE << 16) | (ord("!") << 8) | 0
IOCTL_NOTIF_SEND = (3 << 30) | (RESP_SIZE << 16) | (ord("!") << 8) | 1


def profile(syscalls, default=ALLOW, **extra):
    p = {"defaultAction": default, "syscalls": syscalls}
    p.update(extra)
    return p


def with_profile(bundle, prof, nnp, script):
    bundle.config["linux"]["seccomp"] = prof
    bundle.config["process"]["noNewPrivileges"] = nnp
    return bundle.sh(script).write()


def run(vessel, bundle, cid):
    return vessel.run("run", "--bundle", bundle.path, cid)


@NNP
def test_errno_with_errno_ret(vessel, bundle, cid, nnp):
    prof = profile([{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}])
    with_profile(bundle, prof, nnp, "mkdir /tmp/d; echo rc=$?; grep Seccomp: /proc/self/status; "
                 "grep NoNewPrivs /proc/self/status; ls /tmp")
    p = run(vessel, bundle, cid)
    assert p.returncode == 0, p.stderr
    assert "mkdir: can't create directory '/tmp/d': No space left on device" in p.stderr
    lines = p.stdout.split("\n")
    assert lines[0] == "rc=1"
    assert lines[1].split() == ["Seccomp:", "2"]
    # The filter must not switch no_new_privs on by itself (libseccomp's default).
    assert lines[2].split() == ["NoNewPrivs:", "1" if nnp else "0"]
    assert "d" not in lines[3:]


@NNP
def test_errno_defaults_to_eperm(vessel, bundle, cid, nnp):
    with_profile(bundle, profile([{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]),
                 nnp, "mkdir /tmp/d")
    p = run(vessel, bundle, cid)
    assert p.returncode == 1
    assert "mkdir: can't create directory '/tmp/d': Operation not permitted" in p.stderr


@NNP
@pytest.mark.parametrize("arg", [
    {"index": 1, "value": 0o777, "op": "SCMP_CMP_EQ"},
    {"index": 1, "value": 0o7777, "valueTwo": 0o777, "op": "SCMP_CMP_MASKED_EQ"},
], ids=["eq", "masked_eq"])
def test_argument_filter(vessel, bundle, cid, nnp, arg):
    prof = profile([{"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "args": [arg]}])
    with_profile(bundle, prof, nnp, "touch /tmp/f; chmod 755 /tmp/f; echo a=$?; "
                 "chmod 777 /tmp/f; echo b=$?; stat -c %a /tmp/f")
    p = run(vessel, bundle, cid)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["a=0", "b=1", "755"]
    assert "chmod: /tmp/f: Operation not permitted" in p.stderr


def test_repeated_argument_index_is_or(vessel, bundle, cid):
    # Two comparisons on one index: either matching denies (runc's rule).
    prof = profile([{"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "args": [
        {"index": 1, "value": 0o777, "op": "SCMP_CMP_EQ"},
        {"index": 1, "value": 0o700, "op": "SCMP_CMP_EQ"}]}])
    with_profile(bundle, prof, True, "touch /tmp/f; for m in 777 700 755; do chmod $m /tmp/f; "
                 "echo $m=$?; done")
    p = run(vessel, bundle, cid)
    assert p.stdout.split() == ["777=1", "700=1", "755=0"], p.stderr


def test_distinct_argument_indices_are_and(vessel, bundle, cid):
    # mode 0777 AND a path pointer of 0 (never true): nothing is denied.
    prof = profile([{"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "args": [
        {"index": 1, "value": 0o777, "op": "SCMP_CMP_EQ"},
        {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}])
    with_profile(bundle, prof, True, "touch /tmp/f; chmod 777 /tmp/f; echo rc=$?")
    p = run(vessel, bundle, cid)
    assert p.stdout.split() == ["rc=0"], p.stderr


@NNP
@pytest.mark.parametrize("action", ["SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL"])
def test_kill_reports_sigsys(vessel, bundle, cid, nnp, action):
    with_profile(bundle, profile([{"names": ["uname"], "action": action}]), nnp, "")
    bundle.args("uname").write()
    p = run(vessel, bundle, cid)
    assert p.returncode == 128 + 31  # SIGSYS
    assert "Linux" not in p.stdout


def test_log_lets_the_call_through(vessel, bundle, cid):
    with_profile(bundle, profile([{"names": ["mkdir"], "action": "SCMP_ACT_LOG"}]), True,
                 "mkdir /tmp/d && ls -d /tmp/d")
    p = run(vessel, bundle, cid)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["/tmp/d"]


@NNP
@pytest.mark.parametrize("mkdir_rule", [None, "SCMP_ACT_LOG", ALLOW])
def test_allow_list_with_default_errno(vessel, bundle, cid, nnp, mkdir_rule):
    # ERRNO(ENOSYS) by default and every syscall but mkdir allowed, as
    # podman's profile does: mkdir gets ENOSYS unless a rule lets it through.
    names = [n for n in syscall_names() if n not in ("mkdir", "mkdirat")]
    rules = [{"names": names, "action": ALLOW}]
    if mkdir_rule:
        rules.append({"names": ["mkdir"], "action": mkdir_rule})
    prof = profile(rules, default="SCMP_ACT_ERRNO", defaultErrnoRet=38)
    with_profile(bundle, prof, nnp, "mkdir /tmp/d; echo rc=$?; grep Seccomp: /proc/self/status")
    p = run(vessel, bundle, cid)
    assert p.returncode == 0, p.stderr
    if mkdir_rule:
        assert p.stdout.split() == ["rc=0", "Seccomp:", "2"], p.stderr
    else:
        assert p.stdout.split() == ["rc=1", "Seccomp:", "2"]
        assert "mkdir: can't create directory '/tmp/d': Function not implemented" in p.stderr


def syscall_names():
    # The x86_64 table from the kernel's uapi header; names libseccomp does
    # not know yet are skipped with a warning.
    names = []
    with open("/usr/include/x86_64-linux-gnu/asm/unistd_64.h") as f:
        for line in f:
            if line.startswith("#define __NR_"):
                names.append(line.split()[1][len("__NR_"):])
    return names


@NNP
def test_filter_is_inherited_by_children(vessel, bundle, cid, nnp):
    # A child (here a nested shell) cannot shed the filter.
    with_profile(bundle, profile([{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}]),
                 nnp, "sh -c 'mkdir /tmp/d; grep Seccomp: /proc/self/status'")
    p = run(vessel, bundle, cid)
    assert "Invalid cross-device link" in p.stderr
    assert p.stdout.split() == ["Seccomp:", "2"]


def test_loaded_before_capabilities_drop_without_nnp(vessel, bundle, cid):
    # Without no_new_privs loading needs CAP_SYS_ADMIN, which a non-root
    # process without capabilities lacks: the init loads before dropping.
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    with_profile(bundle, profile([{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]), False,
                 "id -u; grep -E 'Seccomp:|CapEff' /proc/self/status")
    p = run(vessel, bundle, cid)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["1000", "CapEff:", "0000000000000000", "Seccomp:", "2"]


@NNP
def test_load_order_decides_what_setup_runs_under(vessel, bundle, cid, nnp):
    # capset is the init's own call while dropping privileges: a filter
    # loaded before that (no nnp) breaks create; one loaded after does not.
    with_profile(bundle, profile([{"names": ["capset"], "action": "SCMP_ACT_ERRNO"}]), nnp,
                 "echo up")
    p = run(vessel, bundle, cid)
    if nnp:
        assert p.returncode == 0 and p.stdout == "up\n", p.stderr
    else:
        assert p.returncode != 0
        assert "process.capabilities: capset: Operation not permitted" in p.stderr


class Listener:
    """A seccomp agent at listenerPath: takes the state and the fd, then
    answers every notification with error -answer_errno (0: let the call
    go on, SECCOMP_USER_NOTIF_FLAG_CONTINUE)."""

    def __init__(self, path, answer_errno):
        self.path = path
        self.answer = answer_errno
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.sock.settimeout(30)
        self.state = None
        self.nrs = []
        self.error = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
            with conn:
                fds = []
                data = b""
                conn.settimeout(10)
                while True:
                    msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(4 * 4))
                    for level, typ, payload in anc:
                        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                            fds += struct.unpack(f"{len(payload) // 4}i", payload)
                    if not msg:
                        break
                    data += msg
                self.state = json.loads(data)
                self.fds = fds
            self._answer(fds[0])
        except Exception as e:  # reported by the test
            self.error = e

    def _answer(self, fd):
        try:
            while True:
                r, _, _ = select.select([fd], [], [], 30)
                if not r:
                    return
                buf = bytearray(NOTIF_SIZE)
                try:
                    fcntl.ioctl(fd, IOCTL_NOTIF_RECV, buf, True)
                except OSError:
                    return  # the filter's processes are gone
                notif_id, pid, flags, nr = struct.unpack_from("QIIi", buf)
                self.nrs.append(nr)
                resp = struct.pack("QqiI", notif_id, 0, -self.answer, 0 if self.answer else 1)
                try:
                    fcntl.ioctl(fd, IOCTL_NOTIF_SEND, bytearray(resp), True)
                except OSError:
                    pass  # the caller died meanwhile
        finally:
            os.close(fd)

    def close(self):
        self.sock.close()
        self.thread.join(5)


@NNP
def test_notify_hands_the_listener_to_the_agent(vessel, bundle, cid, tmp_path, nnp):
    path = str(tmp_path / "agent.sock")
    agent = Listener(path, answer_errno=18)  # EXDEV: nothing else returns it for mkdir
    try:
        prof = profile([{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}],
                       listenerPath=path, listenerMetadata="test-metadata")
        with_profile(bundle, prof, nnp, "mkdir /tmp/d; echo rc=$?")
        p = run(vessel, bundle, cid)
        agent.thread.join(10)
    finally:
        agent.close()
    assert agent.error is None, agent.error
    assert p.returncode == 0, p.stderr
    assert "mkdir: can't create directory '/tmp/d': Invalid cross-device link" in p.stderr
    assert p.stdout.split() == ["rc=1"]
    assert agent.nrs == [83]  # __NR_mkdir on x86_64: the agent saw the call
    st = agent.state
    assert st["ociVersion"] and st["fds"] == ["seccompFd"]
    assert len(agent.fds) == 1
    assert st["metadata"] == "test-metadata"
    assert isinstance(st["pid"], int) and st["pid"] > 0
    assert st["state"]["id"] == cid
    assert st["state"]["pid"] == st["pid"]
    assert st["state"]["status"] == "creating"
    assert st["state"]["bundle"] == bundle.path


def test_notify_during_setup_and_with_hooks(vessel, bundle, cid, tmp_path):
    # Without no_new_privs the filter is on while the init still works: its
    # own chdir is notified before READY. The agent must get the fd first
    # (or create would hang), and runtime hooks come before the handoff.
    path = str(tmp_path / "agent.sock")
    agent = Listener(path, answer_errno=0)
    bundle.config["hooks"] = {"createRuntime": [{"path": "/bin/true"}]}
    try:
        prof = profile([{"names": ["chdir", "fchdir"], "action": "SCMP_ACT_NOTIFY"}],
                       listenerPath=path)
        with_profile(bundle, prof, False, "cd /tmp && pwd")
        p = run(vessel, bundle, cid)
        agent.thread.join(10)
    finally:
        agent.close()
    assert agent.error is None, agent.error
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["/tmp"]
    # The init's fchdir into process.cwd (81) before READY, the shell's chdir (80) after.
    assert 81 in agent.nrs and 80 in agent.nrs and set(agent.nrs) == {80, 81}, agent.nrs


def leftovers(vessel, cid):
    found = []
    if os.path.isdir(vessel.root) and cid in os.listdir(vessel.root):
        found.append("state dir")
    for base in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids",
                 "/sys/fs/cgroup"):
        if os.path.exists(os.path.join(base, "vessel", cid)):
            found.append(base)
    return found


@NNP
def test_unreachable_listener_fails_create_cleanly(vessel, bundle, cid, tmp_path, nnp):
    path = str(tmp_path / "nobody-listens.sock")
    prof = profile([{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}], listenerPath=path)
    with_profile(bundle, prof, nnp, "echo should-not-run")
    p = vessel.run("create", "--bundle", bundle.path, cid)
    assert p.returncode != 0
    assert f"linux.seccomp.listenerPath: connect {path}: No such file or directory" in p.stderr
    assert leftovers(vessel, cid) == []
    assert vessel.run("list", "-q").stdout.split() == []


@pytest.mark.parametrize("prof,message", [
    (profile([{"names": ["mkdir"], "action": "SCMP_ACT_FOO"}]),
     'config.json: linux.seccomp.syscalls[0].action: unknown action "SCMP_ACT_FOO"'),
    (profile([{"names": ["chmod"], "action": "SCMP_ACT_ERRNO",
               "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_ALMOST"}]}]),
     'config.json: linux.seccomp.syscalls[0].args[0].op: unknown operator "SCMP_CMP_ALMOST"'),
    (profile([], architectures=["SCMP_ARCH_PDP11"]),
     'config.json: linux.seccomp.architectures[0]: unknown architecture "SCMP_ARCH_PDP11"'),
    (profile([], flags=["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]),
     "config.json: linux.seccomp.flags[0]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported"),
    (profile([], default="SCMP_ACT_NOTIFY"),
     "config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"),
    (profile([{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]),
     "config.json: linux.seccomp.listenerPath: required by the SCMP_ACT_NOTIFY rules"),
], ids=["action", "op", "arch", "flag", "notify-default", "notify-no-listener"])
def test_bad_profile_refused_with_key_path(vessel, bundle, cid, prof, message):
    with_profile(bundle, prof, True, "echo should-not-run")
    p = run(vessel, bundle, cid)
    assert p.returncode != 0
    assert message in p.stderr
    assert "should-not-run" not in p.stdout
    assert leftovers(vessel, cid) == []


def test_unknown_syscall_is_skipped_with_a_warning(vessel, bundle, cid):
    prof = profile([{"names": ["no_such_syscall", "mkdir"], "action": "SCMP_ACT_ERRNO"}])
    with_profile(bundle, prof, True, "mkdir /tmp/d; echo rc=$?")
    p = run(vessel, bundle, cid)
    assert p.returncode == 0, p.stderr
    assert ('warning: config.json: linux.seccomp.syscalls[0].names[0]: unknown syscall '
            '"no_such_syscall", skipped') in p.stderr
    assert p.stdout.split() == ["rc=1"]


def test_flags_are_applied(vessel, bundle, cid):
    flags = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
             "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]
    with_profile(bundle, profile([{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}], flags=flags),
                 True, "mkdir /tmp/d; grep Seccomp: /proc/self/status")
    p = run(vessel, bundle, cid)
    assert p.stdout.split() == ["Seccomp:", "2"], p.stderr
    assert "Operation not permitted" in p.stderr


def test_features_report_seccomp(vessel):
    f = json.loads(vessel.run("features", check=True).stdout)["linux"]["seccomp"]
    assert f["enabled"] is True
    assert "SCMP_ACT_NOTIFY" in f["actions"] and "SCMP_ACT_KILL_PROCESS" in f["actions"]
    assert "SCMP_CMP_MASKED_EQ" in f["operators"] and len(f["operators"]) == 7
    assert "SCMP_ARCH_X86_64" in f["archs"] and "SCMP_ARCH_AARCH64" in f["archs"]
    assert "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" not in f["knownFlags"]
    assert set(f["supportedFlags"]) <= set(f["knownFlags"])
    assert "SECCOMP_FILTER_FLAG_TSYNC" in f["supportedFlags"]
