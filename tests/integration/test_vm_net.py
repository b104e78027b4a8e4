"""virtio-net on a tap, driven by the freestanding guest virtio_net: the MAC
and link status in config space, a frame out to the tap, a NEEDS_CSUM frame
that reaches the tap with a correct checksum, a frame in from the tap, a
hostile driver, and no tap left behind. Each run happens in a throwaway
network namespace (unshare --net) holding only the test's tap, so nothing is
routed anywhere and nothing outlives the test."""
import json
import os
import struct
import subprocess

import pytest

from vmutil import VESSEL, guest, lines_with, needs_kvm

pytestmark = needs_kvm

MAC = "02:11:22:33:44:55"
TX_PAYLOAD = b"vessel-net-tx-payload"
RX_PAYLOAD = b"vessel-net-rx-payload"
UDP_PAYLOAD = b"vessel-net-csum-payload"

# Runs inside the namespace: sets the tap up (mode persistent: `ip tuntap
# add`; created: vessel makes it; fd: opened here and passed in), watches it
# with a packet socket, runs the VM, answers RXREADY with a frame for the
# guest, and reports as JSON.
PEER = r'''
import fcntl, json, os, socket, struct, subprocess, sys, time
mode, vessel, kernel, out_path = sys.argv[1:5]
extra = sys.argv[5:]
for k in ("all", "default"):
    with open(f"/proc/sys/net/ipv6/conf/{k}/disable_ipv6", "w") as f:
        f.write("1")  # no router solicitations or MLD on the tap
name = "vstap0"
def up():
    subprocess.run(["ip", "link", "set", name, "up"], check=True)
pass_fds, net = (), f"tap={name},mac={MAC}"
sock = None
def listen():
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((name, 0))
    s.settimeout(0.2)
    return s
if mode == "persistent":
    subprocess.run(["ip", "tuntap", "add", "dev", name, "mode", "tap", "vnet_hdr"], check=True)
    up(); sock = listen()
elif mode == "fd":
    tfd = os.open("/dev/net/tun", os.O_RDWR)
    ifr = struct.pack("16sH", name.encode(), 0x0002 | 0x1000 | 0x4000)
    fcntl.ioctl(tfd, 0x400454ca, ifr)  # TUNSETIFF: IFF_TAP|IFF_NO_PI|IFF_VNET_HDR
    os.set_inheritable(tfd, True)
    pass_fds, net = (tfd,), f"fd={tfd},mac={MAC}"
    up(); sock = listen()
out = open(out_path, "w")
p = subprocess.Popen([vessel, "vm", "run", "--kernel", kernel, "--net", net] + extra,
                     stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                     pass_fds=pass_fds)
def exists():
    try:
        return socket.if_nametoindex(name) > 0  # this namespace; /sys is the host's
    except OSError:
        return False
frames, existed, deadline = [], False, time.time() + 120
while "RXREADY" not in open(out_path).read() and p.poll() is None and time.time() < deadline:
    existed = existed or exists()
    if sock:
        try:
            data, addr = sock.recvfrom(65536)
            if addr[2] != socket.PACKET_OUTGOING:
                frames.append(data.hex())
        except socket.timeout:
            pass
    else:
        time.sleep(0.05)
existed = existed or exists()
if p.poll() is None and "RXREADY" in open(out_path).read():
    if not sock:
        up(); sock = listen()
    mac = bytes.fromhex(MAC.replace(":", ""))
    for _ in range(50):  # a just-raised link can take a moment
        try:
            sock.send(mac + bytes.fromhex("020000000001") + b"\x88\xb5" + RX_PAYLOAD)
            break
        except OSError:
            time.sleep(0.1)
    while time.time() < deadline and p.poll() is None:
        try:
            data, addr = sock.recvfrom(65536)
            if addr[2] != socket.PACKET_OUTGOING:
                frames.append(data.hex())
        except socket.timeout:
            pass
        except OSError:
            break  # the tap went away with the VM
try:
    _, err = p.communicate(timeout=max(1, deadline - time.time()))
except subprocess.TimeoutExpired:
    p.kill(); _, err = p.communicate()
if sock:
    sock.close()
if mode == "fd":
    os.close(tfd)
time.sleep(0.1)
print(json.dumps({"rc": p.returncode, "stdout": open(out_path).read(), "stderr": err.decode(),
                  "frames": frames, "existed": existed,
                  "after": exists()}))
'''


def run_in_netns(tmp_path, mode, *extra):
    script = f"MAC = {MAC!r}\nRX_PAYLOAD = {RX_PAYLOAD!r}\n" + PEER
    cmd = ["unshare", "--net", "/usr/bin/python3", "-c", script, mode, VESSEL,
           guest("virtio_net.bzImage"), str(tmp_path / "out")] + list(extra)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def csum(data):
    if len(data) & 1:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def frames_of(res, ethertype):
    return [f for f in map(bytes.fromhex, res["frames"]) if f[12:14] == ethertype]


def check_traffic(res):
    assert res["rc"] == 0, res["stderr"]
    out = res["stdout"]
    assert lines_with(out, "MAC") == [MAC]
    assert lines_with(out, "LINK") == ["1"]
    assert lines_with(out, "TX") == ["used=0"]
    assert lines_with(out, "CSUMTX") == ["used=0"]
    # The plain frame, byte for byte, as the guest sent it.
    plain = frames_of(res, b"\x88\xb5")
    assert plain == [b"\xff" * 6 + bytes.fromhex(MAC.replace(":", "")) + b"\x88\xb5" + TX_PAYLOAD]
    # The NEEDS_CSUM frame arrives with its UDP checksum completed.
    (udp_frame,) = frames_of(res, b"\x08\x00")
    ip = udp_frame[14:34]
    udp = udp_frame[34:]
    assert udp[8:] == UDP_PAYLOAD
    ulen = struct.unpack("!H", udp[4:6])[0]
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, ulen)
    assert struct.unpack("!H", udp[6:8])[0] != 0
    assert csum(pseudo + udp[:ulen]) == 0xFFFF
    # The host's frame reached the guest intact, in one buffer.
    assert lines_with(out, "RX") == [f"len={12 + 14 + len(RX_PAYLOAD)} ok=1 num_buffers=1"]
    assert "DONE" in out


def test_net_persistent_tap(tmp_path):
    res = run_in_netns(tmp_path, "persistent")
    check_traffic(res)
    assert res["after"]  # a tap vessel did not make is not vessel's to remove


def test_net_passed_fd(tmp_path):
    res = run_in_netns(tmp_path, "fd")
    check_traffic(res)
    assert not res["after"]  # the last fd closed: the tap went


def test_net_created_tap_goes_with_the_vm(tmp_path):
    res = run_in_netns(tmp_path, "created")
    assert res["rc"] == 0, res["stderr"]
    assert res["existed"]
    assert lines_with(res["stdout"], "RX")[0].startswith("len=")
    assert not res["after"]


def test_net_hostile_driver(tmp_path):
    res = run_in_netns(tmp_path, "persistent", "--cmdline", "hostile")
    assert res["rc"] == 0, res["stderr"]
    cases = dict(l.split(" ", 1) for l in lines_with(res["stdout"], "CASE"))
    for name in ("short_tx", "readonly_rx", "tx_outside", "avail_ahead", "bad_head"):
        assert cases.get(name) == "needs_reset=1", (name, res["stdout"])
    assert "device needs reset" in res["stderr"]
    # After a reset the device sends again.
    assert lines_with(res["stdout"], "TX") == ["used=0"]
    assert len(frames_of(res, b"\x88\xb5")) == 1
    assert "DONE" in res["stdout"]


@pytest.mark.parametrize("spec,msg", [
    ("bogus", "want tap=NAME or fd=N"),
    ("tap=", "tap=: 1-15 bytes"),
    ("tap=x" * 10, "1-15 bytes"),
    ("mac=02:00:00:00:00:01", "tap=NAME or fd=N is required"),
    ("tap=vs0,mac=zz:00:00:00:00:01", "want xx:xx:xx:xx:xx:xx"),
    ("tap=vs0,mac=01:00:00:00:00:01", "multicast"),
    ("fd=1", "want a number >= 3"),
    ("fd=99", "not a tap"),
])
def test_net_bad_option(tmp_path, spec, msg):
    p = subprocess.run(["unshare", "--net", VESSEL, "vm", "run", "--kernel",
                        guest("virtio_net.bzImage"), "--net", spec],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 1, p.stdout
    assert msg in p.stderr
