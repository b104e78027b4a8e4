"""Nothing is left behind when a VM ends, however it ends: power-off, a guest
crash (triple fault), SIGTERM to vessel, SIGKILL of vessel. The VM has a tap
(made by vessel, persistent beforehand, or passed in as an fd) and a vsock
socket PATH with a host program connected through it and the user's own
PATH_5000 listener beside it. Afterwards: the host program sees the end of
its stream, no process holds an fd on the tap (/proc/*/fdinfo names the tap
of every /dev/net/tun fd), the tap exists only if it was persistent before,
PATH is gone (after SIGKILL it cannot be: the next run replaces the stale
socket, but never one somebody listens on), and PATH_5000 is untouched.

Each case runs inside its own `unshare --net`, so the taps are the test's."""
import json
import os
import signal
import socket
import subprocess

import pytest

from vmutil import VESSEL, guest, needs_kvm

pytestmark = needs_kvm

TAP = "vsleak0"

# Runs inside the namespace; argv: mode ending vessel kernel dir.
PEER = r'''
import fcntl, json, os, signal, socket, struct, subprocess, sys, time
mode, ending, vessel, kernel, d = sys.argv[1:6]
TAP = "vsleak0"
path = os.path.join(d, "v.sock")
def tap_exists():
    try:
        return socket.if_nametoindex(TAP) > 0
    except OSError:
        return False
def tun_holders():
    """(pid, fd) of every /dev/net/tun fd attached to TAP, in any process."""
    held = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") != "/dev/net/tun":
                    continue
                info = open(f"/proc/{pid}/fdinfo/{fd}").read()
                if f"iff:\t{TAP}\n" in info:
                    held.append((int(pid), int(fd)))
        except OSError:
            pass
    return held
pass_fds, net, tfd = (), f"tap={TAP}", None
if mode == "persistent":
    subprocess.run(["ip", "tuntap", "add", "dev", TAP, "mode", "tap", "vnet_hdr"], check=True)
elif mode == "fd":
    tfd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(tfd, 0x400454ca, struct.pack("16sH", TAP.encode(), 0x0002 | 0x1000 | 0x4000))
    os.set_inheritable(tfd, True)
    pass_fds, net = (tfd,), f"fd={tfd}"
user = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
user.bind(path + "_5000")
user.listen(4)
action = {"poweroff": "poweroff", "crash": "triple"}.get(ending, "hang")
p = subprocess.Popen([vessel, "vm", "run", "--kernel", kernel, "--cmdline", f"action={action} await",
                      "--net", net, "--vsock", path], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=pass_fds)
out = b""
while b"AWAIT" not in out and p.poll() is None:
    out += p.stdout.readline()
host = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
host.connect(path)
host.sendall(b"CONNECT 6000\n")  # the guest has no vsock driver: it stays pending
time.sleep(0.2)
live_tun = [fd for pid, fd in tun_holders() if pid == p.pid]
live_sockets = sum(os.readlink(f"/proc/{p.pid}/fd/{fd}").startswith("socket:")
                   for fd in os.listdir(f"/proc/{p.pid}/fd"))
if ending in ("poweroff", "crash"):
    p.stdin.write(b"x"); p.stdin.flush()
elif ending == "sigterm":
    p.send_signal(signal.SIGTERM)
else:
    p.send_signal(signal.SIGKILL)
rest, err = p.communicate(timeout=60)
host.settimeout(10)
try:
    eof = host.recv(100) == b""
except OSError:
    eof = True  # reset by the peer's close: also the end
host.close()
if tfd is not None:
    os.close(tfd)
time.sleep(0.1)
res = {"rc": p.returncode, "stderr": err.decode(), "live_tun": len(live_tun),
       "live_sockets": live_sockets, "eof": eof, "holders": tun_holders(),
       "tap_after": tap_exists(), "path_after": os.path.exists(path),
       "user_after": os.path.exists(path + "_5000")}
# The user's listener still works: it was never touched.
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(path + "_5000")
res["user_accepts"] = user.accept() is not None
c.close(); user.close()
if ending == "sigkill":
    # The stale PATH: the next run with the same PATH replaces it.
    q = subprocess.run([vessel, "vm", "run", "--kernel", kernel, "--cmdline", "action=poweroff",
                        "--vsock", path], capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
    res["rerun_rc"], res["rerun_err"] = q.returncode, q.stderr.decode()
    res["path_after_rerun"] = os.path.exists(path)
print(json.dumps(res))
'''


def run_case(tmp_path, mode, ending):
    cmd = ["unshare", "--net", "/usr/bin/python3", "-c", PEER, mode, ending, VESSEL,
           guest("power.bzImage"), str(tmp_path)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


EXIT = {"poweroff": 0, "crash": 81, "sigterm": 83, "sigkill": -signal.SIGKILL}


@pytest.mark.parametrize("ending", ["poweroff", "crash", "sigterm", "sigkill"])
@pytest.mark.parametrize("mode", ["created", "persistent", "fd"])
def test_nothing_left_behind(tmp_path, mode, ending):
    res = run_case(tmp_path, mode, ending)
    assert res["rc"] == EXIT[ending], res["stderr"]
    # While it ran, vessel held the tap once, the PATH listener and the host
    # program's connection.
    assert res["live_tun"] == 1
    assert res["live_sockets"] >= 2
    # After: the host program saw its stream end; nobody holds the tap.
    assert res["eof"]
    assert res["holders"] == []
    # A tap persists only if it was persistent before vessel came.
    assert res["tap_after"] == (mode == "persistent")
    # PATH is vessel's and goes with it, except after SIGKILL; PATH_5000 is
    # the user's and stays, still listening.
    assert res["path_after"] == (ending == "sigkill")
    assert res["user_after"] and res["user_accepts"]
    if ending == "sigkill":
        assert res["rerun_rc"] == 0, res["rerun_err"]
        assert "replaced a stale socket" in res["rerun_err"]
        assert not res["path_after_rerun"]


def test_live_path_is_not_replaced(tmp_path):
    """A socket somebody listens on at PATH is never taken over."""
    path = str(tmp_path / "busy.sock")
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(path)
    other.listen(4)
    try:
        p = subprocess.run([VESSEL, "vm", "run", "--kernel", guest("power.bzImage"),
                            "--cmdline", "action=poweroff", "--vsock", path],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert p.returncode == 1 and "--vsock: bind" in p.stderr, p.stderr
        assert os.path.exists(path)
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(path)  # still the other program's
        c.close()
    finally:
        other.close()
